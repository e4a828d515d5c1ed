"""Tests for numser.lld: pitch, voicing, ZCR, RMS, mel filterbank, MFCC, deltas, the 32 columns."""
import numpy as np
import pytest
import scipy.fft

from numser import ParameterError
from numser.audio import load_audio, normalise_gain, speaker_gain
from numser.lld import (DESCRIPTOR_NAMES, dct_matrix, deltas, hz_to_mel, log_mel_energies,
                        low_level_descriptors, mel_filterbank, mel_to_hz, mfcc,
                        normalised_autocorrelation, pitch, rms_energy, zero_crossing_rate)
from numser.stft import fix_length
from tests.conftest import corpus_dir

SR = 16000


def _harmonic_tone(f0, seconds=1.0, n_harmonics=6):
    """A vowel-like tone: harmonics k·f0 with amplitude 1/k and arbitrary phases."""
    t = np.arange(int(SR * seconds)) / SR
    return sum(np.sin(2 * np.pi * k * f0 * t + 0.7 * k) / k for k in range(1, n_harmonics + 1))


@pytest.mark.parametrize("f0", [150.0, 220.0])
def test_f0_of_a_harmonic_tone_within_two_percent(f0):
    estimate, voicing = pitch(_harmonic_tone(f0))
    assert estimate.shape == (1 + (SR - 400) // 160,)
    np.testing.assert_allclose(estimate, f0, rtol=0.02)
    assert voicing.min() > 0.95


def test_voicing_is_low_on_white_noise():
    noise = np.random.default_rng(0).standard_normal(SR)
    f0, voicing = pitch(noise)
    assert voicing.mean() < 0.4, voicing.mean()
    assert (voicing >= 0).all() and (voicing <= 1).all()
    assert (f0 == 0).mean() > 0.95          # almost every noise frame is called unvoiced


def test_silence_is_unvoiced_with_zero_f0():
    f0, voicing = pitch(np.zeros(4000))
    np.testing.assert_array_equal(f0, 0.0)
    np.testing.assert_array_equal(voicing, 0.0)


def test_normalised_autocorrelation_equals_its_formula():
    x = np.random.default_rng(1).standard_normal((3, 50))
    rho = normalised_autocorrelation(x, 20)
    for t in range(3):
        for tau in range(21):
            head, tail = x[t, : 50 - tau], x[t, tau:]
            expected = head @ tail / np.sqrt((head @ head) * (tail @ tail))
            assert abs(rho[t, tau] - expected) < 1e-12, (t, tau)


def test_zero_crossing_rate_and_rms_of_a_sine():
    f = 1000.0                                     # 2 crossings per period, 16 samples a period
    y = np.sin(2 * np.pi * f * np.arange(SR) / SR + 0.1)
    zcr = zero_crossing_rate(y)
    np.testing.assert_allclose(zcr, 2 * f / SR * 400 / 399, atol=1.5 / 399)
    np.testing.assert_allclose(rms_energy(y), 1 / np.sqrt(2), rtol=1e-3)
    np.testing.assert_array_equal(zero_crossing_rate(np.full(800, 0.3)), 0.0)


def test_mel_scale_round_trip_and_filterbank_shape():
    f = np.array([0.0, 100.0, 1000.0, 8000.0])
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(f)), f, atol=1e-9)
    np.testing.assert_allclose(hz_to_mel(1000.0), 1000.0, rtol=1e-3)   # mel is ~ Hz at 1 kHz
    H = mel_filterbank()
    assert H.shape == (26, 257)
    assert (H >= 0).all() and np.allclose(H.max(axis=1), 1.0, atol=0.2)
    centres = H.argmax(axis=1)
    assert (np.diff(centres) > 0).all()            # filters ordered by frequency
    with pytest.raises(ParameterError, match="cover no FFT bin"):
        mel_filterbank(n_mels=200)


def test_dct_matrix_equals_scipy_orthonormal_dct():
    E = np.random.default_rng(2).standard_normal((5, 26))
    np.testing.assert_allclose(E @ dct_matrix(26, 26).T,
                               scipy.fft.dct(E, type=2, norm="ortho", axis=1), atol=1e-12)


def test_mfcc_equals_dct_of_our_log_mel_energies():
    y = _harmonic_tone(180.0) + 0.05 * np.random.default_rng(3).standard_normal(SR)
    E = log_mel_energies(y)
    assert E.shape == (98, 26)
    expected = scipy.fft.dct(E, type=2, norm="ortho", axis=1)[:, 1:13]
    np.testing.assert_allclose(mfcc(y), expected, atol=1e-10)


def test_log_mel_energies_equal_a_plain_loop():
    y = np.random.default_rng(4).standard_normal(800)
    E = log_mel_energies(y, preemphasis=0.0)
    H = mel_filterbank()
    window = 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(400) / 400)
    for t in range(E.shape[0]):
        frame = y[160 * t: 160 * t + 400]
        frame = frame - frame.mean()
        power = np.abs(np.fft.rfft(frame * window, n=512)) ** 2
        np.testing.assert_allclose(E[t], np.log(H @ power + 1e-10), atol=1e-10)


def test_deltas_of_a_linear_ramp_equal_its_slope():
    slope = np.array([0.5, -2.0, 3.0])
    c = np.arange(20)[:, None] * slope                            # (20, 3)
    d = deltas(c)
    np.testing.assert_allclose(d[2:-2], np.broadcast_to(slope, (16, 3)), atol=1e-12)
    # Edges replicate the first and last frame (c[−1] = c[−2] = c[0]):
    # d[0] = (c1 − c0 + 2 (c2 − c0)) / 10 = 0.5 · slope,
    # d[1] = (c2 − c0 + 2 (c3 − c0)) / 10 = 0.8 · slope.
    np.testing.assert_allclose(d[0], 0.5 * slope, atol=1e-12)
    np.testing.assert_allclose(d[1], 0.8 * slope, atol=1e-12)
    np.testing.assert_allclose(d[-1], 0.5 * slope, atol=1e-12)


def test_lld_columns_are_the_16_descriptors_then_their_deltas():
    y = _harmonic_tone(200.0, seconds=0.5).astype(np.float32)
    L = low_level_descriptors(y)
    assert L.shape == (1 + (len(y) - 400) // 160, 32) and L.dtype == np.float32
    assert len(DESCRIPTOR_NAMES) == 32 and DESCRIPTOR_NAMES[15] == "rms"
    f0, voicing = pitch(y)
    np.testing.assert_allclose(L[:, 0], f0, rtol=1e-6)
    np.testing.assert_allclose(L[:, 1], voicing, rtol=1e-6)
    np.testing.assert_allclose(L[:, 2], zero_crossing_rate(y), rtol=1e-6)
    np.testing.assert_allclose(L[:, 3:15], mfcc(y), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(L[:, 15], rms_energy(y), rtol=1e-6)
    np.testing.assert_allclose(L[:, 16:], deltas(L[:, :16].astype(np.float64)),
                               rtol=1e-4, atol=1e-3)


def test_lld_bad_input():
    with pytest.raises(ParameterError, match="at least win_length=400"):
        low_level_descriptors(np.zeros(399))
    with pytest.raises(ParameterError, match="fmin"):
        pitch(np.zeros(1000), fmin=20.0)


def test_lld_of_real_emodb_audio():
    root = corpus_dir("emodb")
    paths = [root / "wav" / name for name in ("03a01Fa.flac", "03a01Nc.flac")]
    signals = [load_audio(p) for p in paths]
    lo, hi = speaker_gain(signals)
    segment = fix_length(normalise_gain(signals[0], lo, hi), 32000)   # the 2 s the 3D CNN sees
    L = low_level_descriptors(segment)
    assert L.shape == (198, 32) and L.dtype == np.float32
    assert np.isfinite(L).all()
    voiced = L[:, 0] > 0
    assert 0.2 < voiced.mean() < 0.9                   # speech: some voiced, some not
    assert 60 < np.median(L[voiced, 0]) < 400          # a plausible speaking F0 in Hz

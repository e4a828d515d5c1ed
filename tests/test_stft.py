"""Tests for numser.stft: window, framing, STFT against the DFT and SciPy, log-spectrogram."""
import numpy as np
import pytest
import scipy.signal

from numser import ParameterError
from numser.audio import load_audio
from numser.stft import fix_length, frame_signal, hamming, log_spectrogram, stft
from tests.conftest import corpus_dir


def _noise(n, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(n).astype(dtype)


def _scipy_power(y, *, n_fft=512, hop_length=320, win_length=512, n_frames):
    """|X|² from scipy.signal.stft with the same frames, (n_frames, 1 + n_fft//2)."""
    needed = (n_frames - 1) * hop_length + win_length
    y = fix_length(y, needed)                       # the same zero-padding past the end
    window = scipy.signal.get_window("hamming", win_length)
    _, _, Z = scipy.signal.stft(y, window=window, nperseg=win_length,
                                noverlap=win_length - hop_length, nfft=n_fft, detrend=False,
                                return_onesided=True, boundary=None, padded=False)
    Z = Z.T * window.sum()                          # frames first; undo SciPy's 1/Σw scaling
    assert Z.shape[0] == n_frames
    return np.abs(Z) ** 2


@pytest.mark.parametrize("n", [1, 2, 7, 400, 512])
def test_hamming_equals_scipy(n):
    np.testing.assert_allclose(hamming(n), scipy.signal.get_window("hamming", n), atol=1e-15)
    np.testing.assert_allclose(hamming(n, periodic=False),
                               scipy.signal.windows.hamming(n, sym=True), atol=1e-15)


def test_frame_n_starts_at_hop_times_n_and_is_zero_padded():
    y = np.arange(1, 11, dtype=np.float64)          # 1 … 10
    frames = frame_signal(y, frame_length=4, hop_length=3)
    assert frames.shape == (4, 4)                   # 1 + (10 − 1) // 3 frames
    np.testing.assert_array_equal(frames[:, 0], [1, 4, 7, 10])
    np.testing.assert_array_equal(frames[3], [10, 0, 0, 0])
    assert frame_signal(y, frame_length=4, hop_length=3, n_frames=2).shape == (2, 4)
    assert frame_signal(y, frame_length=4, hop_length=3, n_frames=6)[5].sum() == 0


def test_frames_of_a_batch_equal_frames_of_each_item():
    y = _noise(3 * 1000).reshape(3, 1000)
    frames = frame_signal(y, frame_length=64, hop_length=20)
    assert frames.shape == (3, 50, 64)
    for i in range(3):
        np.testing.assert_array_equal(frames[i], frame_signal(y[i], frame_length=64, hop_length=20))


@pytest.mark.parametrize("n_fft, win_length, hop_length", [(16, 16, 4), (32, 20, 7), (64, 64, 64)])
def test_stft_equals_the_dft_formula(n_fft, win_length, hop_length):
    y = _noise(150, seed=3)
    X = stft(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length)
    n_frames = 1 + (len(y) - 1) // hop_length
    assert X.shape == (n_frames, 1 + n_fft // 2) and X.dtype == np.complex128
    w = scipy.signal.get_window("hamming", win_length)
    padded = np.concatenate([y, np.zeros(n_fft + win_length)])
    k = np.arange(win_length)
    for n in range(n_frames):
        frame = w * padded[hop_length * n + k]
        for f in range(1 + n_fft // 2):
            expected = np.sum(frame * np.exp(-2j * np.pi * f * k / n_fft))
            assert abs(X[n, f] - expected) < 1e-10 * max(1.0, abs(expected)), (n, f)


def test_stft_power_equals_scipy_on_noise():
    y = _noise(32000, seed=1)
    ours = np.abs(stft(y, n_frames=100)) ** 2
    np.testing.assert_allclose(ours, _scipy_power(y, n_frames=100), rtol=1e-5)


def test_stft_power_equals_scipy_on_emodb():
    y = load_audio(corpus_dir("emodb") / "wav" / "03a01Fa.flac").astype(np.float64)
    n_frames = 1 + (len(y) - 1) // 320
    ours = np.abs(stft(y)) ** 2
    np.testing.assert_allclose(ours, _scipy_power(y, n_frames=n_frames), rtol=1e-5)


def test_float32_samples_are_transformed_in_float64():
    y = _noise(4000, dtype=np.float32)
    X = stft(y)
    assert X.dtype == np.complex128                 # documented: the FFT always runs in float64
    np.testing.assert_array_equal(X, stft(y.astype(np.float64)))
    assert log_spectrogram(y).dtype == np.float32   # what callers keep is float32


def test_log_spectrogram_of_a_short_signal():
    y = _noise(16000, seed=2, dtype=np.float32)     # 1 s: frames from 50 on are padding only
    S = log_spectrogram(y)
    assert S.shape == (100, 256) and S.dtype == np.float32
    power = _scipy_power(fix_length(y.astype(np.float64), 32000), n_frames=100)[:, :256]
    np.testing.assert_allclose(S, np.log(power + 1e-10), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(S[51:], np.log(1e-10), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("win_length", [512, 400])
def test_log_spectrogram_of_a_batch_equals_the_stft_formula(dtype, win_length):
    y = _noise(9 * 34000, seed=5).reshape(9, 34000).astype(dtype)
    for i in range(9):
        y[i, 20000 + 1500 * i:] = 0                 # utterances ending before and after 2 s
    S = log_spectrogram(y, win_length=win_length)   # 9 utterances: more than one chunk
    assert S.shape == (9, 100, 256) and S.dtype == np.float32
    for i in range(9):
        X = stft(fix_length(y[i], 32000), win_length=win_length, n_frames=100)
        expected = np.log(np.abs(X[:, :256]) ** 2 + 1e-10)
        np.testing.assert_allclose(S[i], expected, rtol=1e-6, atol=1e-6)


def test_log_spectrogram_uses_only_the_first_two_seconds():
    y = _noise(50000, seed=4, dtype=np.float32)
    tail_changed = y.copy()
    tail_changed[32000:] = 0
    np.testing.assert_array_equal(log_spectrogram(y), log_spectrogram(tail_changed))
    batch = np.stack([y, tail_changed])
    np.testing.assert_allclose(log_spectrogram(batch)[1], log_spectrogram(y), rtol=1e-6)


def test_bad_stft_arguments():
    y = _noise(1000)
    with pytest.raises(ParameterError, match="win_length=600 > n_fft=512"):
        stft(y, win_length=600)
    with pytest.raises(ParameterError, match="window='kaiser'"):
        stft(y, window="kaiser")
    with pytest.raises(ParameterError, match="hop_length=0"):
        stft(y, hop_length=0)
    with pytest.raises(ParameterError, match="dtype int64"):
        stft(np.arange(1000))
    with pytest.raises(ParameterError, match="NaN"):
        stft(np.full(1000, np.nan))
    with pytest.raises(ParameterError, match="at least one sample"):
        stft(np.zeros(0))


def test_log_spectrogram_in_threads_equals_serial():
    # log_spectrogram keeps scratch buffers between calls, one set per thread.
    from concurrent.futures import ThreadPoolExecutor
    signals = [_noise(40000, seed=10 + i, dtype=np.float32) * (i + 1) for i in range(6)]
    serial = [log_spectrogram(y) for y in signals]
    with ThreadPoolExecutor(max_workers=3) as pool:
        threaded = list(pool.map(log_spectrogram, signals))
    for a, b in zip(serial, threaded):
        np.testing.assert_array_equal(a, b)

"""Tests for numser.audio: reading, mono mix-down, resampling, per-speaker gain, bad files."""
import csv

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from numser import AudioError, ParameterError
from numser.audio import load_audio, normalise_gain, speaker_gain
from tests.conftest import corpus_dir


def _tone(sr, seconds=0.5, freq=440.0, amp=0.5):
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _noise_flac(path, n=16000, seed=0):
    """A real FLAC file of noise (PCM-16), written with soundfile."""
    x = (0.3 * np.random.default_rng(seed).standard_normal(n)).clip(-1, 1).astype(np.float32)
    sf.write(path, x, 16000, subtype="PCM_16")
    return sf.read(path, dtype="float32")[0]


# ---------------------------------------------------------------- good files

def test_mono_16k_is_read_unchanged(tmp_path):
    path = tmp_path / "mono.flac"
    expected = _noise_flac(path)
    y = load_audio(path)
    assert y.dtype == np.float32 and y.shape == (16000,)
    np.testing.assert_array_equal(y, expected)


def test_stereo_is_averaged(tmp_path):
    left, right = _tone(16000, freq=300), _tone(16000, freq=700, amp=0.2)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    y = load_audio(path)
    np.testing.assert_allclose(y, (left + right) / 2, atol=1e-7)


@pytest.mark.parametrize("orig_sr, up, down", [(8000, 2, 1), (44100, 160, 441), (48000, 1, 3)])
def test_other_rates_are_resampled_with_the_exact_factor(tmp_path, orig_sr, up, down):
    x = _tone(orig_sr)
    path = tmp_path / f"tone_{orig_sr}.wav"
    sf.write(path, x, orig_sr, subtype="FLOAT")
    y = load_audio(path)
    assert y.dtype == np.float32
    assert y.shape == (-(-len(x) * up // down),)            # ceil(n · up / down)
    np.testing.assert_allclose(y, resample_poly(x, up, down), atol=1e-6)
    # Away from the filter's edge effects the tone is the same 440 Hz tone sampled at 16 kHz.
    mid = slice(400, len(y) - 400)
    np.testing.assert_allclose(y[mid], _tone(16000)[: len(y)][mid], atol=2e-3)


def test_bad_sample_rate_argument():
    with pytest.raises(ParameterError, match="sr=0"):
        load_audio("whatever.flac", sr=0)


# ---------------------------------------------------------------- bad files (one test each)

def _expect(path, reason):
    with pytest.raises(AudioError) as info:
        load_audio(path)
    message = str(info.value)
    assert path.name in message, message
    assert reason in message, message


def test_missing_file(tmp_path):
    _expect(tmp_path / "nowhere.flac", "file not found")


def test_directory_is_not_a_file(tmp_path):
    (tmp_path / "folder.flac").mkdir()
    _expect(tmp_path / "folder.flac", "not a regular file")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.flac"
    path.write_bytes(b"")
    _expect(path, "empty file (0 bytes)")


def test_not_audio(tmp_path):
    path = tmp_path / "notes.flac"
    path.write_text("this is a text file, not audio\n" * 20)
    _expect(path, "not an audio file")


def test_truncated_flac(tmp_path):
    whole = tmp_path / "whole.flac"
    _noise_flac(whole)
    data = whole.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 2])
    _expect(cut, "corrupt or truncated audio")


def test_truncated_real_emodb_flac(tmp_path):
    source = corpus_dir("emodb") / "wav" / "03a01Fa.flac"
    data = source.read_bytes()
    cut = tmp_path / "03a01Fa_cut.flac"
    cut.write_bytes(data[: len(data) // 2])
    _expect(cut, "corrupt or truncated audio")


def test_nan_samples(tmp_path):
    x = _tone(16000)
    x[100] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    _expect(path, "1 NaN or infinite sample values")


def test_infinite_samples(tmp_path):
    x = _tone(16000)
    x[[5, 6]] = [np.inf, -np.inf]
    path = tmp_path / "inf.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    _expect(path, "2 NaN or infinite sample values")


def test_zero_samples(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros(0, np.float32), 16000)
    _expect(path, "0 samples")


# ---------------------------------------------------------------- per-speaker gain

def test_speaker_gain_maps_the_speaker_range_onto_minus_one_one():
    rng = np.random.default_rng(1)
    quiet = (0.1 * rng.standard_normal(800)).astype(np.float32)
    loud = (0.6 * rng.standard_normal(800) + 0.05).astype(np.float32)
    lo, hi = speaker_gain([quiet, loud])
    assert (lo, hi) == (float(min(quiet.min(), loud.min())), float(max(quiet.max(), loud.max())))
    zq, zl = normalise_gain(quiet, lo, hi), normalise_gain(loud, lo, hi)
    assert zq.dtype == np.float32
    both = np.concatenate([zq, zl])
    assert both.min() == -1.0 and both.max() == 1.0
    # One affine map for the whole speaker: the quiet utterance stays quieter.
    assert np.ptp(zq) < np.ptp(zl)
    np.testing.assert_allclose(zq, 2 * (quiet - lo) / (hi - lo) - 1, atol=1e-6)


def test_silent_speaker_warns_and_gives_zeros():
    silent = np.full(400, 0.25, np.float32)
    lo, hi = speaker_gain([silent, silent[:100]])
    with pytest.warns(RuntimeWarning, match="silent speaker"):
        z = normalise_gain(silent, lo, hi)
    np.testing.assert_array_equal(z, np.zeros(400, np.float32))


def test_gain_bad_arguments():
    with pytest.raises(ParameterError, match="no signal"):
        speaker_gain([])
    with pytest.raises(ParameterError, match="signal 1 is empty"):
        speaker_gain([np.ones(3), np.ones(0)])
    with pytest.raises(ParameterError, match="lo <= hi"):
        normalise_gain(np.ones(3), 1.0, -1.0)


# ---------------------------------------------------------------- real corpora

@pytest.mark.parametrize("corpus", ["emodb", "ravdess"])
def test_real_corpus_files_load(corpus):
    root = corpus_dir(corpus)
    with open(root / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))[:5]
    for row in rows:
        y = load_audio(root / row["path"])
        assert y.dtype == np.float32 and y.ndim == 1
        assert np.isfinite(y).all() and np.abs(y).max() <= 1.0
        assert abs(len(y) / 16000 - float(row["duration_s"])) < 1e-3, row["path"]


def test_a_header_declaring_billions_of_frames_is_an_audio_error_not_a_memory_error(tmp_path):
    """A damaged FLAC header (found by tests/test_fuzz.py) declaring 8 589 934 752 frames: the
    decoder must not allocate what the header declares (32 GiB) but report the file."""
    data = (b'fLaC\x00\x00\x00"\x10\x00\x10\x00\x00\x00\x84\x00\x00\x84\x03\xe8\x00r\x00\x00\x00'
            b'\xa0\xfe\xe1\x15\xbd\xa93\xaeM\x12\xd2.\xddb\xd9\xa13\x84\x00\x00( \x00\x00\x00'
            b'reference libFLAC 1.4.3 20230623\x00\x00\x00\x00\xff\xf8e\x08\x00\x9f!\x18\x00\x00'
            b'\x0b\x01\x15\xae\x1f\xb6\x011\xe6\x10q\x82\x0f,[\xc48\xb6!\xce\xc5\x1f\xae\x894\xc8'
            b'\xb2\xfa\xaa\xb3\x9e\xd6v\xb2\x1ca\xa5\x884A\x87\x1c\xf2\x9e\xa4\xac\x8d~\xaa\xec'
            b'\xb2\xd9\x16U\x7f\xe9\xdd\x1aB\x9e\xe3\t\x10P\xa2\xc5\x90 \xa2^\xd4\xa9\x9b\xed\x9e'
            b'\x91M\xf6\xdfL\x8fY\xdd\xf3Ik\xc9(A\x02\xcb\x14P\x82Ls\xd4\x85\x11\xba\x7f}VH\xb6'
            b'\xcb+\xab\xfa\xa3iS\xcay\xc7\x18 \xd1\x05\x80^?')
    path = tmp_path / "x.wav"
    path.write_bytes(data)
    with pytest.raises(AudioError, match=str(path)):
        load_audio(str(path))

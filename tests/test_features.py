"""Tests for numser.features: volumes, waveform segments, standardiser, corpus scan, cache."""
import csv
import os
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

import numser.audio
from numser import ParameterError
from numser.audio import load_audio, normalise_gain, speaker_gain
from numser.features import (Standardiser, extract_features, lld_sequence, spectro_volume,
                             waveform_segments)
from numser.lld import low_level_descriptors
from numser.stft import fix_length, log_spectrogram
from tests.conftest import corpus_dir

SR = 16000


def _utterance(path, speaker):
    return SimpleNamespace(path=str(path), speaker=speaker)


def _write(path, seconds, seed, amp=0.3):
    rng = np.random.default_rng(seed)
    x = (amp * rng.standard_normal(int(SR * seconds))).clip(-1, 1).astype(np.float32)
    sf.write(path, x, SR, subtype="PCM_16")
    return path


@pytest.fixture
def small_corpus(tmp_path):
    """Two speakers, five FLAC files of 0.6 … 2.5 s."""
    audio = tmp_path / "audio"
    audio.mkdir()
    spec = [("a1", "x:a", 1.2, 0.3), ("a2", "x:a", 2.5, 0.1), ("b1", "x:b", 0.6, 0.5),
            ("b2", "x:b", 2.1, 0.2), ("a3", "x:a", 0.9, 0.05)]
    return [_utterance(_write(audio / f"{name}.flac", s, seed, amp), speaker)
            for seed, (name, speaker, s, amp) in enumerate(spec)]


class _CountingDecoder:
    """Wraps numser.audio._decode to count how many files are decoded."""

    def __init__(self, monkeypatch):
        self.calls, self._decode = 0, numser.audio._decode
        monkeypatch.setattr(numser.audio, "_decode", self)

    def __call__(self, path):
        self.calls += 1
        return self._decode(path)


def _reference(utterances, feature):
    """The docs/spec.md §2 pipeline written out plainly: per-speaker gain, first 2 s, features."""
    signals = [load_audio(u.path) for u in utterances]
    out = []
    for u, y in zip(utterances, signals):
        lo, hi = speaker_gain([s for v, s in zip(utterances, signals) if v.speaker == u.speaker])
        out.append(feature(fix_length(normalise_gain(y, lo, hi), 32000)))
    return np.stack(out)


# ----------------------------------------------------------------------------- one utterance

def test_volume_is_the_log_spectrogram_in_200ms_blocks():
    y = np.random.default_rng(0).standard_normal(40000).astype(np.float32)
    V = spectro_volume(y)
    assert V.shape == (10, 10, 256) and V.dtype == np.float32
    P = log_spectrogram(y)                                      # (100, 256)
    np.testing.assert_array_equal(V[3, 7], P[37])               # block l, frame t = row 10 l + t
    np.testing.assert_array_equal(V.reshape(100, 256), P)


def test_waveform_segments_are_the_zero_padded_two_seconds():
    y = np.arange(1, 20001, dtype=np.float32)
    W = waveform_segments(y)
    assert W.shape == (20, 1600) and W.dtype == np.float32
    np.testing.assert_array_equal(W[0, :3], [1, 2, 3])
    np.testing.assert_array_equal(W[12, 799:801], [20000, 0])   # sample 20 000 ends at 12·1600+799
    np.testing.assert_array_equal(W[13:], 0)


def test_lld_sequence_shape():
    y = np.random.default_rng(1).standard_normal(12000).astype(np.float32)
    L = lld_sequence(y)
    assert L.shape == (198, 32) and L.dtype == np.float32
    np.testing.assert_array_equal(L, low_level_descriptors(fix_length(y, 32000)))


def test_features_refuse_other_rates():
    with pytest.raises(ParameterError, match="16 kHz"):
        spectro_volume(np.zeros(100, np.float32), sr=8000)


# ----------------------------------------------------------------------------- standardiser

def test_standardiser_uses_the_last_axis_and_training_statistics_only():
    rng = np.random.default_rng(2)
    train = rng.standard_normal((30, 10, 10, 8)) * np.arange(1, 9) + np.arange(8)
    train = train.astype(np.float32)
    test = rng.standard_normal((5, 10, 10, 8)).astype(np.float32)
    s = Standardiser().fit(train)
    rows = train.reshape(-1, 8).astype(np.float64)
    np.testing.assert_allclose(s.mean, rows.mean(axis=0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(s.std, rows.std(axis=0), rtol=1e-6)
    z = s.transform(train)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.reshape(-1, 8).mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z.reshape(-1, 8).std(axis=0), 1, atol=1e-5)
    np.testing.assert_allclose(s.transform(test), (test - s.mean) / s.std, rtol=1e-6)


def test_standardiser_guards_zero_std_and_round_trips(tmp_path):
    X = np.random.default_rng(3).standard_normal((50, 4)).astype(np.float32)
    X[:, 2] = 7.0
    with pytest.warns(RuntimeWarning, match=r"zero standard deviation.*\[2\]"):
        s = Standardiser().fit(X)
    z = s.transform(X)
    assert np.isfinite(z).all() and (z[:, 2] == 0).all()
    s.save(tmp_path / "std.npz")
    loaded = Standardiser.load(tmp_path / "std.npz")
    np.testing.assert_array_equal(loaded.transform(X), z)


def test_standardiser_bad_use():
    with pytest.raises(ParameterError, match="not fitted"):
        Standardiser().transform(np.zeros((2, 3)))
    s = Standardiser().fit(np.random.default_rng(0).standard_normal((10, 3)))
    with pytest.raises(ParameterError, match="3 features"):
        s.transform(np.zeros((2, 4)))
    with pytest.raises(ParameterError, match="NaN"):
        Standardiser().fit(np.array([[np.nan, 1.0]]))


# ----------------------------------------------------------------------------- corpus scan

@pytest.mark.parametrize("kind, feature", [("volume", spectro_volume),
                                           ("waveform", waveform_segments),
                                           ("lld", lld_sequence)])
def test_extract_features_equals_the_plain_pipeline(small_corpus, kind, feature):
    F, kept = extract_features(small_corpus, kind, progress=False)
    np.testing.assert_array_equal(kept, np.arange(5))
    np.testing.assert_allclose(F, _reference(small_corpus, feature), rtol=1e-5, atol=1e-5)
    if kind == "waveform":       # per-speaker gain: each speaker spans exactly [-1, 1]
        for speaker in ("x:a", "x:b"):
            rows = [i for i, u in enumerate(small_corpus) if u.speaker == speaker]
            full = np.concatenate([normalise_gain(load_audio(small_corpus[i].path),
                                                  *speaker_gain([load_audio(small_corpus[j].path)
                                                                 for j in rows])) for i in rows])
            assert full.min() == -1.0 and full.max() == 1.0


def test_extract_features_skips_and_reports_a_bad_file(small_corpus, tmp_path, capsys):
    broken = tmp_path / "audio" / "broken.flac"
    data = open(small_corpus[1].path, "rb").read()
    broken.write_bytes(data[: len(data) // 2])
    utterances = small_corpus[:2] + [_utterance(broken, "x:a"),
                                     _utterance(tmp_path / "gone.flac", "x:b")] + small_corpus[2:]
    with pytest.warns(RuntimeWarning) as record:
        F, kept = extract_features(utterances, "volume", progress=True)
    messages = [str(w.message) for w in record]
    assert sum("broken.flac: corrupt or truncated audio" in m for m in messages) == 1
    assert sum("gone.flac: file not found" in m for m in messages) == 1
    np.testing.assert_array_equal(kept, [0, 1, 4, 5, 6])
    good, _ = extract_features(small_corpus, "volume", progress=False)
    np.testing.assert_array_equal(F, good)           # the bad file does not change the gain
    err = capsys.readouterr().err
    assert "skipped" in err and "broken.flac" in err and "5/7 utterances" in err


def test_extract_features_with_nothing_readable(tmp_path):
    with pytest.warns(RuntimeWarning, match="file not found"):
        with pytest.raises(ParameterError, match="none of the 1 utterances"):
            extract_features([_utterance(tmp_path / "x.flac", "s")], "volume", progress=False)


def test_extract_features_bad_arguments(small_corpus):
    with pytest.raises(ParameterError, match="kind='mfcc'"):
        extract_features(small_corpus, "mfcc")
    with pytest.raises(ParameterError, match="no utterances"):
        extract_features([], "volume")
    with pytest.raises(ParameterError, match="no 'path' and 'speaker'"):
        extract_features(["a.flac"], "volume")


def test_silent_speaker_warns_and_gives_silence(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.full(8000, 0.25, np.float32), SR, subtype="FLOAT")
    with pytest.warns(RuntimeWarning, match="silent speaker"):
        F, _ = extract_features([_utterance(path, "q")], "waveform", progress=False)
    np.testing.assert_array_equal(F, 0.0)


# ----------------------------------------------------------------------------- cache

def test_second_run_reads_the_cache_without_decoding(small_corpus, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first, kept = extract_features(small_corpus, "volume", cache_dir=cache, progress=False)

    def no_decoding(path):
        raise AssertionError(f"decoded {path} although it is cached")
    monkeypatch.setattr(numser.audio, "_decode", no_decoding)
    second, kept2 = extract_features(small_corpus, "volume", cache_dir=cache, progress=False)
    np.testing.assert_array_equal(second, first)
    np.testing.assert_array_equal(kept2, kept)
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]


def test_cached_results_equal_uncached_for_every_kind(small_corpus, tmp_path):
    for kind in ("volume", "waveform", "lld"):
        plain, _ = extract_features(small_corpus, kind, progress=False)
        extract_features(small_corpus, kind, cache_dir=tmp_path / "c", progress=False)
        cached, _ = extract_features(small_corpus, kind, cache_dir=tmp_path / "c", progress=False)
        np.testing.assert_array_equal(cached, plain)


def test_touched_file_is_recomputed(small_corpus, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first, _ = extract_features(small_corpus, "volume", cache_dir=cache, progress=False)
    st = os.stat(small_corpus[2].path)
    os.utime(small_corpus[2].path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    counter = _CountingDecoder(monkeypatch)
    again, _ = extract_features(small_corpus, "volume", cache_dir=cache, progress=False)
    assert counter.calls == 1                        # only the touched file is decoded
    np.testing.assert_array_equal(again, first)      # same samples, same features


def test_rewritten_file_changes_its_speakers_features(small_corpus, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first, _ = extract_features(small_corpus, "volume", cache_dir=cache, progress=False)
    # b1 held speaker x:b's extremes (clipped at ±1); quieter now, so b2 sets a new gain.
    _write(small_corpus[2].path, 1.5, seed=99, amp=0.05)
    counter = _CountingDecoder(monkeypatch)
    again, _ = extract_features(small_corpus, "volume", cache_dir=cache, progress=False)
    assert counter.calls == 2                        # b1 (changed) and b2 (its gain changed)
    np.testing.assert_array_equal(again, _reference(small_corpus, spectro_volume))
    np.testing.assert_array_equal(again[[0, 1, 4]], first[[0, 1, 4]])   # speaker x:a untouched
    assert not np.array_equal(again[3], first[3])


def test_corrupt_cache_file_is_ignored_and_recomputed(small_corpus, tmp_path):
    cache = tmp_path / "cache"
    first, _ = extract_features(small_corpus, "volume", cache_dir=cache, progress=False)
    npy = sorted((cache / "volume").glob("*.npy"))
    npy[0].write_bytes(npy[0].read_bytes()[:100])    # a half-written file
    npy[1].write_bytes(b"garbage")
    json_file = sorted((cache / "range").glob("*.json"))[0]
    json_file.write_text("{not json")
    again, _ = extract_features(small_corpus, "volume", cache_dir=cache, progress=False)
    np.testing.assert_array_equal(again, first)
    np.load(npy[0]), np.load(npy[1])                 # rewritten whole


def test_failed_cache_write_leaves_no_file(small_corpus, tmp_path, monkeypatch):
    def dying_save(f, x, allow_pickle=False):
        f.write(b"\x93NUMPY half")
        raise KeyboardInterrupt("killed mid-write")
    monkeypatch.setattr(np, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        extract_features(small_corpus, "volume", cache_dir=tmp_path / "cache", progress=False)
    assert not list((tmp_path / "cache" / "volume").glob("*"))


# ----------------------------------------------------------------------------- real corpora

@pytest.mark.parametrize("corpus", ["emodb", "ravdess"])
def test_real_volumes_are_finite(corpus):
    root = corpus_dir(corpus)
    with open(root / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    first = rows[0]["speaker"]
    utterances = [_utterance(root / r["path"], f"{corpus}:{r['speaker']}")
                  for r in rows if r["speaker"] == first][:12]
    V, kept = extract_features(utterances, "volume", progress=False)
    assert V.shape == (len(utterances), 10, 10, 256) and V.dtype == np.float32
    assert np.isfinite(V).all() and len(kept) == len(utterances)
    assert V.max() > 0 > V.min() >= np.log(1e-10) - 1e-3

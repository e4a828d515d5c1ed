"""The built-in synthetic corpus: layout, determinism, durations, balance, the formant filter, and
an honest learnability check with a simple speaker-independent classifier.

Run as a script to measure a default-size corpus (generation time and the classifier's UA):
``python tests/corpora/test_synthetic.py --speakers 40 --per-emotion 6``.
"""
import argparse
import csv
import json
import os
import sys
import time
from collections import Counter

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import lfilter, stft

from numser import CLASSES, ParameterError
from numser.audio import load_audio
from numser.corpora import read_manifest
from numser.corpora.synthetic import (
    STAMP_NAME, generate_synthetic, resonator_cascade, resonator_cascade_reference,
    resonator_coefficients, speaker_voice, synthesize_utterance, utterance_cues)

SR = 16000


# --- a simple classifier, independent of the rest of numser ----------------------------------

def utterance_features(y, sr=SR):
    """21 plain utterance features: 16 band log-powers, log RMS, energy spread, activity, F0.

    Mean log-power of 16 log-spaced bands (100 Hz–8 kHz) over the active frames (within 40 dB of
    the loudest), the log RMS of those frames, the s.d. of their frame log-energy, the fraction of
    active frames, and the median and s.d. of log F0 from the autocorrelation peak (60–550 Hz) of
    the voiced frames.
    """
    _, _, z = stft(y.astype(np.float64), sr, nperseg=512, noverlap=512 - 160, boundary=None)
    power = np.abs(z.T) ** 2 + 1e-12                                   # (frames, 257)
    frame_db = 10 * np.log10(power.sum(axis=1))
    active = frame_db > frame_db.max() - 40
    edges = np.geomspace(100, sr / 2, 17) / (sr / 2) * 256
    bands = np.stack([power[active, int(a):max(int(b), int(a) + 1)].mean(axis=1)
                      for a, b in zip(edges[:-1], edges[1:])], axis=1)  # (active, 16)
    logband = np.log(bands).mean(axis=0)
    acf = np.fft.irfft(power[active], axis=1)                          # (active, 512)
    lo, hi = int(sr / 550), int(sr / 60)
    lag = lo + np.argmax(acf[:, lo:hi], axis=1)
    strength = acf[np.arange(len(lag)), lag] / acf[:, 0]
    voiced = strength > 0.4
    logf0 = np.log(sr / lag[voiced]) if voiced.any() else np.array([0.0])
    return np.concatenate([logband, [np.log(power[active].sum(axis=1).mean()),
                                     frame_db[active].std(), active.mean(),
                                     np.median(logf0), logf0.std()]])


def fit_logistic(x, y, *, n_classes=4, l2=1e-2, steps=500, lr=0.5):
    """Multinomial logistic regression by full-batch gradient descent; returns (W, b)."""
    w = np.zeros((x.shape[1], n_classes))
    b = np.zeros(n_classes)
    onehot = np.eye(n_classes)[y]
    for _ in range(steps):
        logits = x @ w + b
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / len(x)
        w -= lr * (x.T @ g + l2 * w)
        b -= lr * g.sum(axis=0)
    return w, b


def ua(y_true, y_pred, n_classes=4):
    """Unweighted accuracy: mean per-class recall over the classes present."""
    return float(np.mean([np.mean(y_pred[y_true == k] == k) for k in range(n_classes)
                          if np.any(y_true == k)]))


def speaker_cv(features, labels, speakers, *, n_folds, seed=0, predictions=False):
    """Pooled speaker-independent predictions of logistic regression and nearest class mean.

    Speakers are shuffled and cut into ``n_folds`` groups; each group is predicted by models
    fitted on the others (features standardised with the training statistics).
    Returns ``{"logistic": UA, "nearest_mean": UA}`` (and the predictions if asked).
    """
    names = np.array(sorted(set(speakers)))
    groups = np.array_split(np.random.default_rng(seed).permutation(names), n_folds)
    pred = {"logistic": np.empty_like(labels), "nearest_mean": np.empty_like(labels)}
    for group in groups:
        test = np.isin(speakers, group)
        mu, sd = features[~test].mean(axis=0), features[~test].std(axis=0) + 1e-9
        xtr, xte = (features[~test] - mu) / sd, (features[test] - mu) / sd
        w, b = fit_logistic(xtr, labels[~test])
        pred["logistic"][test] = np.argmax(xte @ w + b, axis=1)
        means = np.stack([xtr[labels[~test] == k].mean(axis=0) for k in range(4)])
        pred["nearest_mean"][test] = np.argmin(((xte[:, None] - means) ** 2).sum(axis=2), axis=1)
    result = {name: ua(labels, p) for name, p in pred.items()}
    return (result, pred) if predictions else result


def corpus_arrays(utterances):
    """Features, labels and speakers of a list of utterances (audio read with load_audio)."""
    features = np.stack([utterance_features(load_audio(u.path)) for u in utterances])
    return (features, np.array([u.label for u in utterances]),
            np.array([u.speaker for u in utterances]))


# --- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    """12 speakers × 4 emotions × 4 takes = 192 utterances (a few seconds to make)."""
    out = tmp_path_factory.mktemp("synthetic") / "corpus"
    return out, generate_synthetic(out, seed=0, n_speakers=12, per_emotion=4)


@pytest.fixture(scope="module")
def small_features(small_corpus):
    """(features, labels, speakers) of the small corpus, read back from its FLAC files."""
    return corpus_arrays(small_corpus[1])


# --- the corpus on disk --------------------------------------------------------------------

def test_layout_and_manifest(small_corpus):
    out, utterances = small_corpus
    assert len(utterances) == 12 * 4 * 4
    assert utterances == read_manifest(out / "manifest.csv")
    assert {u.corpus for u in utterances} == {"synthetic"}
    assert sorted({u.speaker for u in utterances}) == [f"synthetic:s{i:02d}" for i in range(12)]
    for u in utterances:
        rel = os.path.relpath(u.path, out)
        speaker = u.speaker.split(":")[1]
        assert rel.startswith(f"{speaker}{os.sep}{speaker}_{CLASSES[u.label]}_"), rel
        assert rel.endswith(".flac")
    genders = {u.speaker: u.gender for u in utterances}
    assert Counter(genders.values()) == {"M": 6, "F": 6}
    leftovers = [f for _, _, files in os.walk(out) for f in files if ".tmp" in f]
    assert leftovers == [], "temporary files left behind"


def test_files_are_16k_mono_pcm16_flac(small_corpus):
    _, utterances = small_corpus
    for u in utterances[::17]:
        info = sf.info(u.path)
        assert (info.samplerate, info.channels, info.format, info.subtype) == \
            (SR, 1, "FLAC", "PCM_16"), u.path


def test_durations_between_1_and_3_s(small_corpus):
    _, utterances = small_corpus
    durations = np.array([sf.info(u.path).frames / SR for u in utterances])
    assert durations.min() >= 1.0 and durations.max() <= 3.0, (durations.min(), durations.max())
    assert durations.std() > 0.2, "durations should vary between utterances"


def test_classes_balanced_per_speaker(small_corpus):
    _, utterances = small_corpus
    counts = Counter((u.speaker, u.label) for u in utterances)
    assert set(counts.values()) == {4} and len(counts) == 12 * 4


def test_audio_is_in_range_and_not_clipped(small_corpus):
    _, utterances = small_corpus
    for u in utterances[::7]:
        y = load_audio(u.path)
        assert 0.01 < np.abs(y).max() < 0.99, u.path


def test_reuses_a_complete_corpus(small_corpus):
    out, utterances = small_corpus
    stamp = out / STAMP_NAME
    before = {u.path: os.stat(u.path).st_mtime_ns for u in utterances}
    again = generate_synthetic(out, seed=0, n_speakers=12, per_emotion=4)
    assert again == utterances
    assert {u.path: os.stat(u.path).st_mtime_ns for u in utterances} == before
    assert json.loads(stamp.read_text())["n_speakers"] == 12


def test_regenerates_when_interrupted_or_parameters_change(tmp_path):
    out = tmp_path / "c"
    first = generate_synthetic(out, seed=3, n_speakers=2, per_emotion=1)
    samples = load_audio(first[0].path)
    os.remove(first[0].path)                       # a file lost: the corpus is incomplete
    again = generate_synthetic(out, seed=3, n_speakers=2, per_emotion=1)
    assert os.path.isfile(first[0].path) and again == first
    (out / STAMP_NAME).unlink()                    # interrupted before the stamp was written
    mtime = os.stat(first[1].path).st_mtime_ns
    generate_synthetic(out, seed=3, n_speakers=2, per_emotion=1)
    assert os.stat(first[1].path).st_mtime_ns != mtime
    changed = generate_synthetic(out, seed=4, n_speakers=2, per_emotion=1)
    assert json.loads((out / STAMP_NAME).read_text())["seed"] == 4
    y = load_audio(changed[0].path)
    assert len(y) != len(samples) or not np.array_equal(y, samples)


# --- determinism ---------------------------------------------------------------------------

def test_same_seed_same_samples_different_seed_different(tmp_path):
    a = generate_synthetic(tmp_path / "a", seed=7, n_speakers=2, per_emotion=1)
    b = generate_synthetic(tmp_path / "b", seed=7, n_speakers=2, per_emotion=1)
    c = generate_synthetic(tmp_path / "c", seed=8, n_speakers=2, per_emotion=1)
    for ua_, ub, uc in zip(a, b, c):
        ya, yb, yc = load_audio(ua_.path), load_audio(ub.path), load_audio(uc.path)
        np.testing.assert_array_equal(ya, yb)
        assert len(ya) != len(yc) or not np.array_equal(ya, yc)


def test_smaller_corpus_is_a_prefix_of_a_larger_one(small_corpus, tmp_path):
    _, utterances = small_corpus
    small = generate_synthetic(tmp_path / "s", seed=0, n_speakers=2, per_emotion=1)
    big = {(u.speaker, u.label, os.path.basename(u.path)): u.path for u in utterances}
    for u in small:
        np.testing.assert_array_equal(
            load_audio(u.path), load_audio(big[(u.speaker, u.label, os.path.basename(u.path))]))


def test_voices_differ_between_speakers():
    voices = [speaker_voice(0, i) for i in range(8)]
    assert len({round(v.f0_hz, 3) for v in voices}) == 8
    male = np.mean([v.f0_hz for v in voices if v.gender == "M"])
    female = np.mean([v.f0_hz for v in voices if v.gender == "F"])
    assert female > 1.4 * male


@pytest.mark.parametrize("bad", [dict(n_speakers=0), dict(per_emotion=0), dict(seed=-1),
                                 dict(sr=8000), dict(n_speakers=2.5), dict(seed=True)])
def test_bad_parameters(tmp_path, bad):
    with pytest.raises(ParameterError, match=next(iter(bad))):
        generate_synthetic(tmp_path, **bad)


# --- the emotion cues ----------------------------------------------------------------------

def test_emotions_move_f0_and_level_as_designed():
    """Averaged over takes and speakers, F0 and level order as in acted speech."""
    f0 = {e: [] for e in CLASSES}
    level = {e: [] for e in CLASSES}
    for index in range(10):
        voice = speaker_voice(0, index)
        for e in CLASSES:
            for take in range(10):
                cues = utterance_cues(voice, e, np.random.default_rng([index, take]))
                f0[e].append(np.log2(cues.f0_hz / voice.f0_hz))
                level[e].append(cues.level_dbfs - voice.level_db)
    f0 = {e: np.mean(v) for e, v in f0.items()}
    level = {e: np.mean(v) for e, v in level.items()}
    assert f0["sad"] < f0["neutral"] < f0["angry"] and f0["neutral"] < f0["happy"]
    assert level["sad"] < level["neutral"] < level["happy"] < level["angry"]


def voiced_tilt_db(y, sr=SR):
    """Spectral tilt of the voiced frames: power in 2–5 kHz over power in 0.1–1 kHz (dB).

    Voiced frames: autocorrelation peak (60–550 Hz) above 0.3 of the frame energy, within 25 dB
    of the loudest frame. Fricatives and pauses are left out, so this sees the voice source.
    """
    _, _, z = stft(y.astype(np.float64), sr, nperseg=512, noverlap=512 - 160, boundary=None)
    power = np.abs(z.T) ** 2 + 1e-12                                   # (frames, 257)
    acf = np.fft.irfft(power, axis=1)
    lo, hi = int(sr / 550), int(sr / 60)
    strength = acf[:, lo:hi].max(axis=1) / acf[:, 0]
    energy = 10 * np.log10(power.sum(axis=1))
    voiced = (strength > 0.3) & (energy > energy.max() - 25)
    f = np.arange(power.shape[1]) * sr / 512
    high = power[voiced][:, (f >= 2000) & (f < 5000)].sum()
    low = power[voiced][:, (f >= 100) & (f < 1000)].sum()
    return 10 * np.log10(high / low)


def test_emotions_show_in_the_audio(small_corpus, small_features):
    """Measured on the files: angry has the flattest spectral tilt and sad the steepest; sad is
    the quietest and slowest (longest), angry the loudest."""
    _, labels, _ = small_features
    signals = [load_audio(u.path) for u in small_corpus[1]]
    tilt = np.array([voiced_tilt_db(y) for y in signals])
    loudness = np.array([10 * np.log10(np.mean(y.astype(np.float64) ** 2)) for y in signals])
    duration = np.array([len(y) / SR for y in signals])
    mean = {name: {e: v[labels == k].mean() for k, e in enumerate(CLASSES)}
            for name, v in (("tilt", tilt), ("loudness", loudness), ("duration", duration))}
    print(mean)
    assert mean["tilt"]["sad"] < mean["tilt"]["neutral"] < mean["tilt"]["angry"], mean["tilt"]
    assert min(mean["loudness"], key=mean["loudness"].get) == "sad", mean["loudness"]
    assert max(mean["loudness"], key=mean["loudness"].get) == "angry", mean["loudness"]
    assert max(mean["duration"], key=mean["duration"].get) == "sad", mean["duration"]
    assert mean["duration"]["angry"] < mean["duration"]["neutral"], mean["duration"]


def test_synthesize_utterance_directly():
    y, cues = synthesize_utterance(speaker_voice(0, 1), "happy", np.random.default_rng(0))
    assert y.dtype == np.float32 and y.ndim == 1
    assert 1.0 * SR <= len(y) <= 3.0 * SR
    assert np.isfinite(y).all() and np.abs(y).max() < 1.0
    rms_db = 10 * np.log10(np.mean(y.astype(np.float64) ** 2))
    assert rms_db < cues.level_dbfs + 1.0     # active-speech level ≥ whole-utterance level


# --- the formant filter --------------------------------------------------------------------

def test_resonator_kernel_equals_reference():
    rng = np.random.default_rng(0)
    n = 3000
    x = rng.standard_normal(n)
    freqs = np.stack([np.linspace(300, 800, n), np.linspace(2200, 900, n),
                      2500 + 200 * np.sin(np.arange(n) / 100)])
    bandwidths = np.stack([np.full(n, 60.0), np.full(n, 90.0), rng.uniform(100, 200, n)])
    b0, a1, a2 = resonator_coefficients(freqs, bandwidths, sr=SR)
    np.testing.assert_allclose(resonator_cascade(x, freqs, bandwidths, sr=SR),
                               resonator_cascade_reference(x, b0, a1, a2), rtol=1e-12, atol=1e-12)


def test_resonator_with_constant_formants_equals_lfilter():
    x = np.random.default_rng(1).standard_normal(2000)
    formants, bandwidths = [500.0, 1500.0, 2500.0], [80.0, 100.0, 150.0]
    expected = x
    for f, bw in zip(formants, bandwidths):
        b0, a1, a2 = resonator_coefficients(np.array(f), np.array(bw), sr=SR)
        expected = lfilter([b0], [1.0, -a1, -a2], expected)
    got = resonator_cascade(x, np.repeat(np.array(formants)[:, None], 2000, axis=1),
                            np.repeat(np.array(bandwidths)[:, None], 2000, axis=1), sr=SR)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_resonator_peaks_at_its_formant_with_unit_dc_gain():
    b0, a1, a2 = resonator_coefficients(np.array(1000.0), np.array(50.0), sr=SR)
    w = 2 * np.pi * np.array([0.0, 1000.0, 3000.0]) / SR
    z = np.exp(-1j * w)
    gain = np.abs(b0 / (1 - a1 * z - a2 * z ** 2))
    assert gain[0] == pytest.approx(1.0)
    assert gain[1] > 10 * gain[2]


# --- learnability --------------------------------------------------------------------------

def test_learnable_but_not_trivial(small_features):
    """A plain speaker-independent classifier lands clearly above chance and below 100 %."""
    features, labels, speakers = small_features
    result = speaker_cv(features, labels, speakers, n_folds=3)
    print("speaker-independent UA on 12 speakers x 4 x 4:", result)
    assert 0.45 < result["logistic"] < 0.95, result


# --- measurement (not a test) ---------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description="Measure a synthetic corpus: generation time and the "
                                            "UA of simple speaker-independent classifiers.")
    p.add_argument("--speakers", type=int, default=40)
    p.add_argument("--per-emotion", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--out", default="/tmp/numser_synthetic_probe",
                   help="parent folder of the corpus (an existing complete corpus is reused; "
                        "remove it to time the generation)")
    args = p.parse_args(argv)
    out = os.path.join(args.out, f"seed{args.seed}-n{args.speakers}-p{args.per_emotion}")
    started, cpu = time.perf_counter(), time.process_time()
    utterances = generate_synthetic(out, seed=args.seed, n_speakers=args.speakers,
                                    per_emotion=args.per_emotion)
    generated, generated_cpu = time.perf_counter() - started, time.process_time() - cpu
    features, labels, speakers = corpus_arrays(utterances)
    result, pred = speaker_cv(features, labels, speakers, n_folds=args.folds, seed=args.seed,
                              predictions=True)
    confusion = np.zeros((4, 4), dtype=int)
    np.add.at(confusion, (labels, pred["logistic"]), 1)
    signals = [load_audio(u.path).astype(np.float64) for u in utterances]
    with open(os.path.join(out, "manifest.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))                   # the cue values drawn for each file
    measured = dict(rms_dbfs=[10 * np.log10(np.mean(y ** 2)) for y in signals],
                    voiced_tilt_db=[voiced_tilt_db(y) for y in signals],
                    duration_s=[len(y) / SR for y in signals],
                    drawn_f0_hz=[float(row["f0_hz"]) for row in rows],
                    drawn_rate=[float(row["rate"]) for row in rows])
    per_emotion = {name: {e: round(float(np.nanmean(np.array(v)[labels == k])), 2)
                          for k, e in enumerate(CLASSES)} for name, v in measured.items()}
    print(json.dumps(dict(utterances=len(utterances), speakers=args.speakers, seed=args.seed,
                          generation_s=round(generated, 1),
                          generation_cpu_s=round(generated_cpu, 1), folds=args.folds,
                          ua={k: round(v, 3) for k, v in result.items()},
                          logistic_confusion=confusion.tolist(),
                          per_emotion_mean=per_emotion)))


if __name__ == "__main__":
    sys.exit(main())

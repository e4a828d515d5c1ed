"""Time numser's front end against the same pipeline built on scipy.signal.stft, side by side.

Run:  python benchmarks/bench_features.py [--repeats 3] [--lld] [--cache]

Both pipelines read every staged EmoDB + RAVDESS utterance (their manifest.csv), compute each
speaker's min–max gain over all of the speaker's samples, take the gain-normalised first 2 s
(zero-padded) and turn it into the 10×10×256 log-spectrogram volume of docs/spec.md §2; no cache.
  numser  numser.features.extract_features(utterances, "volume", cache_dir=None)
  scipy   soundfile.read + NumPy gain + scipy.signal.stft(boundary=None, padded=False) per file
The three (numser, scipy, decoding alone) run alternately; each time is the median over repeats,
as wall-clock and as CPU (user + system) time of this process. The volumes of both are
compared, so the timing is of the same result. With --lld, also time
extract_features(utterances, "lld") (the 32 LLDs of docs/spec.md §4) on the same files, once; with
--cache, a first run that writes the feature cache and a second one that reads it.
"""
import argparse
import csv
import os
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import scipy.signal
import soundfile as sf

from numser.features import extract_features

CORPORA = Path(os.environ.get("NUMSER_CORPORA",
                              Path(__file__).resolve().parents[1].parent / "shared" / "corpora"))


def staged_utterances(names=("emodb", "ravdess")):
    """Utterance-like records (path, speaker) from the staged corpora's manifest.csv."""
    utterances = []
    for name in names:
        manifest = CORPORA / name / "manifest.csv"
        if not manifest.exists():
            raise SystemExit(f"{manifest} not found: stage the corpora or set NUMSER_CORPORA")
        with open(manifest, newline="") as f:
            for row in csv.DictReader(f):
                utterances.append(SimpleNamespace(path=str(CORPORA / name / row["path"]),
                                                  speaker=f"{name}:{row['speaker']}"))
    return utterances


def scipy_volumes(utterances):
    """The docs/spec.md §2 volumes with soundfile + scipy.signal.stft, written the plain way."""
    window = scipy.signal.get_window("hamming", 512)
    speakers = {}
    for i, u in enumerate(utterances):
        speakers.setdefault(u.speaker, []).append(i)
    out = np.empty((len(utterances), 10, 10, 256), np.float32)
    for members in speakers.values():
        signals = {i: sf.read(utterances[i].path, dtype="float32")[0] for i in members}
        lo = min(float(y.min()) for y in signals.values())
        hi = max(float(y.max()) for y in signals.values())
        for i, y in signals.items():
            z = ((y.astype(np.float64) - lo) * (2.0 / (hi - lo)) - 1.0).astype(np.float32)
            segment = np.zeros(99 * 320 + 512, np.float32)      # 2 s + the last frame's overhang
            n = min(len(z), 32000)
            segment[:n] = z[:n]
            _, _, Z = scipy.signal.stft(segment, window=window, nperseg=512, noverlap=512 - 320,
                                        nfft=512, detrend=False, boundary=None, padded=False)
            Z = Z[:256].T * window.sum()                        # (100, 256), undo 1/Σw
            out[i] = np.log(np.abs(Z) ** 2 + 1e-10).reshape(10, 10, 256)
    return out


def decode_only(utterances):
    """Just reading every file: the floor both pipelines share."""
    for u in utterances:
        sf.read(u.path, dtype="float32")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lld", action="store_true", help="also time the 32 LLDs once")
    parser.add_argument("--cache", action="store_true",
                        help="also time a first and a second cached run (temporary folder)")
    args = parser.parse_args()
    utterances = staged_utterances()
    n = len(utterances)
    print(f"{n} utterances, {len({u.speaker for u in utterances})} speakers, "
          f"repeats={args.repeats}, cpus={os.cpu_count()}")

    pipelines = {"numser": lambda: extract_features(utterances, "volume", progress=False)[0],
                 "scipy": lambda: scipy_volumes(utterances),
                 "decode": lambda: decode_only(utterances)}
    wall = {k: [] for k in pipelines}
    cpu = {k: [] for k in pipelines}
    results = {}
    decode_only(utterances)                                     # warm the page cache
    for r in range(args.repeats):           # interleaved, order flipped each repeat, so that
        order = list(pipelines) if r % 2 == 0 else list(pipelines)[::-1]   # load hits all alike
        for key in order:
            t, c = time.perf_counter(), os.times()
            results[key] = pipelines[key]()
            c2 = os.times()
            wall[key].append(time.perf_counter() - t)
            cpu[key].append((c2.user - c.user) + (c2.system - c.system))
    diff = np.abs(results["numser"] - results["scipy"])
    print(f"max |numser - scipy| over all volumes: {diff.max():.2e} "
          f"(log-power; median {np.median(diff):.1e}; scipy.signal.stft keeps float32 samples "
          "in float32, numser's FFT runs in float64)")

    med = {k: float(np.median(v)) for k, v in wall.items()}
    med_cpu = {k: float(np.median(v)) for k, v in cpu.items()}
    print(f"\n| pipeline (read + gain + volume, {n} files) | wall s (median) | CPU s (median) "
          "| files/s (wall) |")
    print("|---|---|---|---|")
    for key, label in [("numser", "numser `extract_features(kind='volume')`"),
                       ("scipy", "soundfile + `scipy.signal.stft`"),
                       ("decode", "decoding alone (soundfile.read)")]:
        print(f"| {label} | {med[key]:.2f} | {med_cpu[key]:.2f} | {n / med[key]:.0f} |")
    print(f"\nratio scipy / numser (> 1: numser faster): wall {med['scipy'] / med['numser']:.2f}, "
          f"CPU {med_cpu['scipy'] / med_cpu['numser']:.2f}; beyond decoding (wall): "
          f"{(med['scipy'] - med['decode']) / max(med['numser'] - med['decode'], 1e-9):.2f}")
    paired = np.array(wall["scipy"]) / np.array(wall["numser"])
    print(f"paired per-repeat ratio scipy / numser (wall): median {np.median(paired):.2f}, "
          f"numser faster in {int((paired > 1).sum())} of {len(paired)} repeats")
    print("per-repeat wall s: " + "; ".join(f"{k} " + " ".join(f"{t:.2f}" for t in v)
                                            for k, v in wall.items()))

    # Why numser's STFT runs in float64: numpy's own FFT of the same frames in both precisions.
    frames = np.random.default_rng(0).standard_normal((8, 100, 512))
    fft_times = {}
    for dtype in (np.float32, np.float64):
        x = frames.astype(dtype)
        np.fft.rfft(x, axis=-1)
        reps = []
        for _ in range(50):
            t = time.perf_counter()
            np.fft.rfft(x, axis=-1)
            reps.append(time.perf_counter() - t)
        fft_times[np.dtype(dtype).name] = float(np.median(reps))
    print(f"\nnp.fft.rfft of (8, 100, 512) frames, median of 50: float32 "
          f"{fft_times['float32'] * 1e3:.2f} ms, float64 {fft_times['float64'] * 1e3:.2f} ms "
          f"(numpy {np.__version__})")

    if args.cache:
        with tempfile.TemporaryDirectory() as cache:
            for label in ("first run, writing the cache", "second run, reading it"):
                t = time.perf_counter()
                extract_features(utterances, "volume", cache_dir=cache, progress=False)
                print(f"cache ({label}): {time.perf_counter() - t:.2f} s")

    if args.lld:
        t = time.perf_counter()
        L, _ = extract_features(utterances, "lld", progress=False)
        seconds = time.perf_counter() - t
        print(f"\nLLD: extract_features(kind='lld') -> {L.shape}: {seconds:.1f} s, "
              f"{n / seconds:.0f} files/s")


if __name__ == "__main__":
    main()

"""Time the synthetic corpus: the Numba formant cascade against its plain reference, one utterance,
and the generation of a whole corpus.

Usage: python benchmarks/bench_synthetic.py [--speakers 40] [--per-emotion 6] [--repeats 5]
Timings on a shared machine are noisy: compare the ratio of the two cascades, measured side by
side (interleaved) in one run; CPU time is reported beside wall time for the corpus.
"""
import argparse
import tempfile
import time

import numpy as np

from numser import CLASSES
from numser.corpora.synthetic import (
    _resonator_cascade_kernel, _utterance_rng, generate_synthetic, resonator_cascade,
    resonator_cascade_reference,
    resonator_coefficients, speaker_voice, synthesize_utterance)

SR = 16000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speakers", type=int, default=40)
    ap.add_argument("--per-emotion", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)

    n = 2 * SR                                          # a 2 s utterance, five formants
    x = rng.standard_normal(n)
    freqs = np.vstack([np.linspace(300, 800, n), np.linspace(2200, 900, n),
                       np.full(n, 2500.0), np.full(n, 3500.0), np.full(n, 4500.0)])
    bandwidths = np.array([70.0, 90.0, 130.0, 180.0, 250.0])[:, None]
    b0, a1, a2 = (np.ascontiguousarray(c) for c in resonator_coefficients(freqs, bandwidths, sr=SR))
    resonator_cascade(x[:100], freqs[:, :100], bandwidths, sr=SR)   # compile (or load the cache)
    t_ref, t_nb = [], []
    for _ in range(max(1, args.repeats // 2)):          # interleaved; the reference is slow
        t = time.perf_counter()
        ref = resonator_cascade_reference(x, b0, a1, a2)
        t_ref.append(time.perf_counter() - t)
        t = time.perf_counter()
        fast = _resonator_cascade_kernel(x, b0, a1, a2)
        t_nb.append(time.perf_counter() - t)
    err = np.abs(fast - ref).max() / np.abs(ref).max()
    print(f"formant recursion, 5 x {n} samples  Python {min(t_ref) * 1e3:8.1f} ms   "
          f"Numba {min(t_nb) * 1e3:6.2f} ms   speedup {min(t_ref) / min(t_nb):6.0f}x   "
          f"max rel. error {err:.1e}")
    t_all = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        resonator_cascade(x, freqs, bandwidths, sr=SR)
        t_all.append(time.perf_counter() - t)
    print(f"resonator_cascade incl. coefficients (cos, exp)  {min(t_all) * 1e3:6.2f} ms")

    times = []
    for k in range(args.repeats * 4):
        label = k % 4
        t = time.perf_counter()
        synthesize_utterance(speaker_voice(0, k), CLASSES[label], _utterance_rng(0, k, label, 0))
        times.append(time.perf_counter() - t)
    print(f"synthesize_utterance  median {np.median(times) * 1e3:6.1f} ms   "
          f"min {min(times) * 1e3:6.1f} ms  ({len(times)} utterances)")

    with tempfile.TemporaryDirectory() as out:
        t, cpu = time.perf_counter(), time.process_time()
        utterances = generate_synthetic(out, seed=0, n_speakers=args.speakers,
                                        per_emotion=args.per_emotion)
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(f"generate_synthetic({args.speakers} speakers x 4 x {args.per_emotion} = "
          f"{len(utterances)} files)  wall {wall:6.1f} s   CPU {cpu:6.1f} s   "
          f"{cpu / len(utterances) * 1e3:5.1f} ms CPU per file")


if __name__ == "__main__":
    main()

"""Time t-SNE: the Numba KL gradient against its NumPy reference, and a full run at N points.

Usage: python benchmarks/bench_tsne.py [--n 2000] [--iters 1000] [--repeats 5]
Timings on a shared machine are noisy: compare the ratio of the two gradients, measured
side by side (interleaved) in one run.
"""
import argparse
import time

import numpy as np

from numser.tsne import _kl_gradient_numba, joint_probabilities, kl_gradient, tsne


def clusters(n, rng):
    """Four Gaussian clusters in 50-D, n points in all."""
    centres = 6.0 * rng.normal(size=(4, 50))
    labels = np.arange(n) % 4
    return centres[labels] + rng.normal(size=(n, 50)), labels


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--iters", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    X, _ = clusters(args.n, rng)

    t = time.perf_counter()
    P = joint_probabilities(X, 30.0)
    print(f"N={args.n}: perplexity calibration + joint P  {time.perf_counter() - t:7.3f} s")

    Y = rng.normal(size=(args.n, 2))
    _kl_gradient_numba(P, Y, 1.0)                      # compile (or load the cache)
    t_np, t_nb = [], []
    for _ in range(args.repeats):                      # interleaved, so load hits both alike
        t = time.perf_counter()
        _, ref = kl_gradient(P, Y)
        t_np.append(time.perf_counter() - t)
        t = time.perf_counter()
        fast = _kl_gradient_numba(P, Y, 1.0)
        t_nb.append(time.perf_counter() - t)
    err = np.abs(fast - ref).max() / np.abs(ref).max()
    print(f"KL gradient  NumPy {min(t_np) * 1e3:7.2f} ms   Numba {min(t_nb) * 1e3:7.2f} ms   "
          f"speedup {min(t_np) / min(t_nb):5.1f}x   max rel. error {err:.1e}")

    t = time.perf_counter()
    tsne(X, n_iter=args.iters)
    print(f"tsne(N={args.n}, n_iter={args.iters})  {time.perf_counter() - t:7.2f} s")


if __name__ == "__main__":
    main()

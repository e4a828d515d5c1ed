"""Time numser's LSTM (forward + BPTT) against torch.nn.LSTM, side by side in one run.

Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_lstm.py [--repeats 7] [--threads 2]

Two cases at batch 128, float32, two stacked layers of 128 cells:
  lstm_elm   T=198, D=32   (the LSTM-ELM baseline on 32 LLDs per 10 ms frame; docs/spec.md §4)
  cnn_lstm   T=10,  D=128  (the 2D-CNN-LSTM: 10 L-steps of 128 conv features; last state out)
Each timing is the median over repeats of one forward + backward with a random upstream gradient;
the implementations run interleaved, so a change in machine load hits all of them alike.
torch runs with torch.set_num_threads(--threads) and input requires_grad (numser always computes
dx); NumPy's BLAS gets the same number of threads through threadpoolctl when it is installed.
The Numba step kernels are serial: the threads only matter inside the matmuls.
"""
import argparse
import time

import numpy as np

from numser.nn.layer import backward, forward
from numser.nn.lstm import LSTM

CASES = {"lstm_elm": dict(T=198, D=32, H=128, last=False),
         "cnn_lstm": dict(T=10, D=128, H=128, last=True)}


def median_times(fns, repeats):
    """Median seconds per call of each function, calls interleaved so load changes hit all alike."""
    for fn in fns:
        fn()                                               # warm-up (Numba compile, allocations)
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [float(np.median(ts)) for ts in times]


def numser_step(x, g, kernel):
    N, T, D = x.shape
    H = g.shape[-1]
    model = [LSTM(D, H, kernel=kernel), LSTM(H, H, return_sequences=g.ndim == 3, kernel=kernel)]

    def run():
        forward(model, x, train=True)
        backward(model, g)
    return run


def torch_step(x, g):
    import torch
    N, T, D = x.shape
    H = g.shape[-1]
    lstm = torch.nn.LSTM(D, H, num_layers=2, batch_first=True)
    xt = torch.from_numpy(x).requires_grad_(True)
    gt = torch.from_numpy(g)

    def run():
        lstm.zero_grad()
        xt.grad = None
        out, (h, _) = lstm(xt)
        y = out if g.ndim == 3 else h[-1]
        y.backward(gt)
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2, help="BLAS and torch threads")
    args = parser.parse_args()
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
        print("torch is not installed: numser timings only")
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads, user_api="blas")
        blas = f"{args.threads} BLAS threads"
    except ImportError:
        blas = "BLAS threads not limited (threadpoolctl missing)"
    rng = np.random.default_rng(0)
    print(f"batch {args.batch}, float32, median of {args.repeats} forward+backward passes, "
          f"torch threads {args.threads}, {blas}")
    print(f"{'case':10s} {'T':>4s} {'D':>4s} {'H':>4s} {'numpy ms':>9s} {'numba ms':>9s} "
          f"{'torch ms':>9s} {'numba/torch':>11s}")
    for name, c in CASES.items():
        x = rng.standard_normal((args.batch, c["T"], c["D"])).astype(np.float32)
        gshape = (args.batch, c["H"]) if c["last"] else (args.batch, c["T"], c["H"])
        g = rng.standard_normal(gshape).astype(np.float32)
        fns = [numser_step(x, g, "numpy"), numser_step(x, g, "numba")]
        if torch:
            fns.append(torch_step(x, g))
        t_np, t_nb, t_th = median_times(fns, args.repeats) + [float("nan")] * (not torch)
        print(f"{name:10s} {c['T']:4d} {c['D']:4d} {c['H']:4d} {1e3 * t_np:9.1f} {1e3 * t_nb:9.1f} "
              f"{1e3 * t_th:9.1f} {t_nb / t_th:11.2f}")


if __name__ == "__main__":
    main()

"""Each fast kernel beside its naive twin: how much faster, and how far apart.

Run:  python examples/12_naive_vs_fast.py [--out examples/out]

numser keeps a loop-level version of each layer in the package, next to the fast one, as CS231n
does with its ``*_naive`` functions: the naive twin is the code to read, the fast one the code
that trains. This script runs both on the same small float64 inputs and prints, per pair,
  - the speed-up: naive time / fast time (the fast kernels already compiled; best of 20 runs, on
    one Numba thread: on shapes this small a second thread only adds a barrier per kernel call,
    which on a busy machine waits for a descheduled thread; results do not depend on it);
  - the largest absolute difference in float64 (rounding only: the sums run in another order);
  - the largest difference relative to the output's scale with the fast path in float32, as
    training runs it.
The pairs (docs/conv3d.md, docs/lstm.md):
  conv3d direct   numser.nn.conv_naive      vs conv3d_forward/backward(method='direct') (Numba loops)
  conv3d FFT      numser.nn.conv_naive      vs conv3d_forward/backward(method='fft')    (kS >= 16)
  conv1d FFT-GEMM numser.nn.conv_naive      vs conv3d_forward/backward(method='fft-gemm') (1, 1, kS)
  max-pool        numser.nn.pool_naive      vs maxpool3d_forward/backward               (Numba)
  LSTM, T steps   numser.nn.lstm_naive      vs lstm_forward/backward                    (BLAS + Numba)
It saves 12_naive_vs_fast.png: the speed-ups on a log scale. The shapes are tiny, so the naive
loops finish in about a second; on the model's real shapes the gap is far larger.
"""
import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402

from numser.nn.conv import conv3d_backward, conv3d_forward, output_shape, same_padding  # noqa: E402
from numser.nn.conv_naive import conv3d_naive_backward, conv3d_naive_forward  # noqa: E402
from numser.nn.lstm import lstm_backward, lstm_forward  # noqa: E402
from numser.nn.lstm_naive import lstm_naive_backward, lstm_naive_forward  # noqa: E402
from numser.nn.pool import maxpool3d_backward, maxpool3d_forward  # noqa: E402
from numser.nn.pool_naive import maxpool_naive_backward, maxpool_naive_forward  # noqa: E402


def best_time(fn, repeats):
    """Fastest of ``repeats`` calls of fn(), in seconds, and its last result."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def conv_pair(method, x_shape, F, kernel, rng):
    """(naive(), fast(dtype)) for one convolution: each returns y, dx, dw, db."""
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((F, x_shape[1]) + kernel)
    b = rng.standard_normal(F)
    pad = same_padding(kernel)
    g = rng.standard_normal(output_shape(x.shape, w.shape, pad))

    def naive():
        return (conv3d_naive_forward(x, w, b, pad),) + conv3d_naive_backward(g, x, w, pad)

    def fast(dtype=np.float64):
        y, cache = conv3d_forward(x.astype(dtype), w.astype(dtype), b.astype(dtype), pad,
                                  method=method)
        return (y,) + conv3d_backward(g.astype(dtype), cache)
    return naive, fast


def pool_pair(x_shape, size, rng):
    x = rng.standard_normal(x_shape)
    dout = rng.standard_normal(tuple(n // p for n, p in zip(x_shape, (1, 1) + size)))

    def naive():
        y, arg = maxpool_naive_forward(x, size)
        return y, maxpool_naive_backward(dout, arg, x.shape, size)

    def fast(dtype=np.float64):
        y, cache = maxpool3d_forward(x.astype(dtype), size)
        return y, maxpool3d_backward(dout.astype(dtype), cache)
    return naive, fast


def lstm_pair(N, T, D, H, rng):
    x = rng.standard_normal((N, T, D))
    W, U, b = (0.5 * rng.standard_normal(s) for s in ((D, 4 * H), (H, 4 * H), (4 * H,)))
    dh = rng.standard_normal((N, T, H))

    def naive():
        h, caches = lstm_naive_forward(x, W, U, b)
        return (h,) + lstm_naive_backward(dh, caches)

    def fast(dtype=np.float64):
        h, cache = lstm_forward(*(a.astype(dtype) for a in (x, W, U, b)))
        return (h,) + lstm_backward(dh.astype(dtype), cache)
    return naive, fast


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples/out")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    numba.set_num_threads(1)            # tiny shapes: see the docstring
    rng = np.random.default_rng(0)
    pairs = [
        ("conv3d direct, x (2,2,4,4,16), 2x2x4", conv_pair("direct", (2, 2, 4, 4, 16), 2, (2, 2, 4), rng)),
        ("conv3d FFT, x (1,2,2,2,64), 1x2x16", conv_pair("fft", (1, 2, 2, 2, 64), 2, (1, 2, 16), rng)),
        ("conv1d FFT-GEMM, x (4,2,1,1,128), 1x1x16",
         conv_pair("fft-gemm", (4, 2, 1, 1, 128), 2, (1, 1, 16), rng)),
        ("max-pool, x (4,4,10,10,32), 2x2x2", pool_pair((4, 4, 10, 10, 32), (2, 2, 2), rng)),
        ("LSTM, N 8, T 10, D 16, H 16", lstm_pair(8, 10, 16, 16, rng)),
    ]
    print("forward + backward, naive loops against the fast path (float64, one Numba thread; "
          "times depend on the load of this machine):")
    print(f"  {'pair':40s} {'naive':>9s} {'fast':>9s} {'speed-up':>9s} {'max |diff| f64':>15s} "
          f"{'rel. diff f32':>14s}")
    speedups = []
    for name, (naive, fast) in pairs:
        fast(), fast(np.float32)                                     # compile / load the kernels
        t_naive, ref = best_time(naive, 1)
        t_fast, got = best_time(fast, 20)
        err64 = max(float(np.abs(a - r).max()) for a, r in zip(got, ref))
        got32 = fast(np.float32)
        rel32 = max(float(np.abs(a - r).max() / np.abs(r).max()) for a, r in zip(got32, ref))
        speedups.append(t_naive / t_fast)
        print(f"  {name:40s} {t_naive * 1e3:7.1f}ms {t_fast * 1e3:7.2f}ms {speedups[-1]:8.0f}x "
              f"{err64:15.1e} {rel32:14.1e}")
    print("The float64 differences are rounding (sums in another order); the float32 column is "
          "the precision training runs at.")

    fig, ax = plt.subplots(figsize=(8, 3))
    ax.barh([name for name, _ in pairs][::-1], speedups[::-1], color="tab:green")
    ax.set_xscale("log")
    ax.set_xlim(1, 5 * max(speedups))                               # bars start at 1x: no gain
    for row, value in enumerate(speedups[::-1]):
        ax.text(value * 1.1, row, f"{value:.0f}x", va="center")
    ax.set_xlabel("speed-up of the fast path over its naive twin (forward + backward)")
    fig.tight_layout()
    fig.savefig(out / "12_naive_vs_fast.png", dpi=100)
    print(f"saved {out / '12_naive_vs_fast.png'}")


if __name__ == "__main__":
    main()

"""Per-layer conv3d forward/backward time on the 3D-CNN-DNN's layer shapes: direct, FFT, PyTorch.

For every kernel and layer of docs/spec.md §3 at batch 128 it times the forward pass and the backward
pass (dx, dW, db) of each numser path and of ``torch.nn.functional.conv3d`` side by side, and
prints which path ``choose_method`` picks, so the FFT_MIN_KS threshold can be read off the table.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_conv.py
    python benchmarks/bench_conv.py --kernels 2x2x8,2x2x16 --layers conv2 --no-torch

The direct path on kS >= 128 and PyTorch on long kernels take seconds per call; they run once
after one warm-up call (``--slow-reps``), the rest ``--reps`` times (median reported).
"""
import argparse
import statistics
import time

import numpy as np

from numser.nn import conv

BATCH = 128
#: layer name -> (C, L, T, S) of its input in the 3D-CNN-DNN (docs/spec.md §3); F = 4 everywhere.
LAYERS = {"conv1": (1, 10, 10, 256), "conv2": (4, 10, 10, 256), "conv3": (4, 5, 5, 128)}
KERNELS = ["2x2x2", "2x2x4", "2x2x8", "2x2x16", "2x2x32", "2x2x128", "8x2x128"]


def median_ms(fn, reps):
    fn()                                                   # warm-up (and Numba compile)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def numser_times(x, w, b, pad, method, reps):
    _, cache = conv.conv3d_forward(x, w, b, pad, method=method)
    g = np.ones(conv.output_shape(x.shape, w.shape, pad), dtype=x.dtype)
    fwd = median_ms(lambda: conv.conv3d_forward(x, w, b, pad, method=method), reps)
    bwd = median_ms(lambda: conv.conv3d_backward(g, cache), reps)
    return fwd, bwd


def torch_times(x, w, b, reps):
    import torch
    tx = torch.from_numpy(x).requires_grad_(True)
    tw = torch.from_numpy(w).requires_grad_(True)
    tb = torch.from_numpy(b).requires_grad_(True)
    y = torch.nn.functional.conv3d(tx, tw, tb, padding="same")
    g = torch.ones_like(y)

    def backward():
        out = torch.nn.functional.conv3d(tx, tw, tb, padding="same")
        torch.autograd.grad(out, (tx, tw, tb), g)

    fwd = median_ms(lambda: torch.nn.functional.conv3d(tx, tw, tb, padding="same"), reps)
    both = median_ms(backward, reps)                       # forward + backward
    return fwd, max(both - fwd, 0.0)


def reference_speedup(reps):
    """CS231n style: each path vs the NumPy einsum reference on a small batch, time and error."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 4, 10, 10, 256)).astype(np.float32)
    print("\nNumPy reference vs numser paths, x (8, 4, 10, 10, 256), forward + backward:")
    for kernel in ((2, 2, 2), (2, 2, 32)):
        w = (0.05 * rng.standard_normal((4, 4) + kernel)).astype(np.float32)
        b = np.zeros(4, np.float32)
        pad = conv.same_padding(kernel)
        y_ref = conv.conv3d_reference(x, w, b, pad)
        g = np.ones_like(y_ref)
        ref_ms = median_ms(lambda: (conv.conv3d_reference(x, w, b, pad),
                                    conv.conv3d_backward_reference(g, x, w, pad)), 1)
        for method in ("direct", "fft"):
            y, cache = conv.conv3d_forward(x, w, b, pad, method=method)
            ms = median_ms(lambda: conv.conv3d_backward(g, conv.conv3d_forward(
                x, w, b, pad, method=method)[1]), reps)
            err = np.abs(y - y_ref).max() / np.abs(y_ref).max()
            print(f"  kernel {kernel} {method:6s}: reference {ref_ms:.0f} ms, numser {ms:.1f} ms, "
                  f"speed-up {ref_ms / ms:.0f}x, forward relative error {err:.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", default=",".join(KERNELS))
    parser.add_argument("--layers", default=",".join(LAYERS))
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--slow-reps", type=int, default=1)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--reference", action="store_true",
                        help="also time the NumPy einsum reference against both paths")
    parser.add_argument("--direct-max-ks", type=int, default=32,
                        help="skip the direct path above this kS (it takes seconds per call)")
    args = parser.parse_args()
    if not args.no_torch:
        import warnings

        import torch
        torch.set_num_threads(2)
        warnings.filterwarnings("ignore", message="Using padding='same'")

    rng = np.random.default_rng(0)
    print("| kernel | layer | auto | direct fwd / bwd ms | FFT fwd / bwd ms | "
          "PyTorch fwd / bwd ms | torch / best (fwd+bwd) |")
    print("|---|---|---|---:|---:|---:|---:|")
    for spec in args.kernels.split(","):
        kernel = tuple(int(v) for v in spec.split("x"))
        for layer in args.layers.split(","):
            C, L, T, S = LAYERS[layer]
            x = rng.standard_normal((BATCH, C, L, T, S)).astype(np.float32)
            w = (0.05 * rng.standard_normal((4, C) + kernel)).astype(np.float32)
            b = np.zeros(4, np.float32)
            pad = conv.same_padding(kernel)
            slow = kernel[2] >= 128
            cells, totals = {}, []
            for method in ("direct", "fft"):
                if method == "direct" and kernel[2] > args.direct_max_ks:
                    cells[method] = "-"
                    continue
                reps = args.slow_reps if (slow and method == "direct") else args.reps
                fwd, bwd = numser_times(x, w, b, pad, method, reps)
                cells[method] = f"{fwd:.0f} / {bwd:.0f}"
                totals.append(fwd + bwd)
            if args.no_torch:
                cells["torch"], ratio = "-", "-"
            else:
                fwd, bwd = torch_times(x, w, b, args.slow_reps if kernel[2] >= 32 else args.reps)
                cells["torch"] = f"{fwd:.0f} / {bwd:.0f}"
                ratio = f"{(fwd + bwd) / min(totals):.1f}x"
            print(f"| {spec} | {layer} | {conv.choose_method(w.shape)} | {cells['direct']} | "
                  f"{cells['fft']} | {cells['torch']} | {ratio} |", flush=True)
    if args.reference:
        reference_speedup(args.reps)


if __name__ == "__main__":
    main()

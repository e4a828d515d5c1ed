"""One batch-128 training step of the 3D-CNN-DNN(-ELM) (docs/spec.md §3), numser vs PyTorch, side by side.

A step is forward, softmax cross-entropy, backward and one Adam update. Both libraries build the
same architecture; timings are medians of several steps after warm-up, taken in one process so
that other load on the machine hits both alike. Run with NumPy's BLAS left at its defaults:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_train_step.py

The two libraries alternate step by step after their warm-up, so load from other processes
slows both alike. Peak memory is the max RSS of a fresh process running only numser steps (and
tracemalloc's peak of NumPy allocations during one step).

Options: ``--kernels 2x2x128,...``, ``--steps``/``--torch-steps`` (timed steps), ``--no-torch``,
``--compile`` (Numba compile time with a cold and a warm cache, in fresh processes).
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np

from numser.nn import parameters
from numser.nn.activations import ReLU
from numser.nn.adam import Adam
from numser.nn.conv import Conv3D
from numser.nn.dense import Dense
from numser.nn.dropout import Dropout
from numser.nn.layer import backward, forward
from numser.nn.loss import softmax_cross_entropy
from numser.nn.pool import MaxPool3D
from numser.nn.shape import Flatten, Reshape, Transpose

INPUT = (1, 10, 10, 256)                # (C, L, T, S) of one volume (docs/spec.md §2)
CONFIGS = [("3D-CNN-DNN", (2, 2, 2)), ("3D-CNN-DNN", (2, 2, 32)), ("3D-CNN-DNN", (2, 2, 128)),
           ("3D-CNN-DNN", (8, 2, 128)), ("3D-CNN-DNN-ELM", (2, 2, 128))]


def numser_model(name, kernel, rng):
    """The docs/spec.md §3 architecture as a list of numser layers."""
    pool = (2, 2, 2) if name == "3D-CNN-DNN" else (1, 2, 2)
    layers = [Conv3D(1, 4, kernel, rng=rng), ReLU(),
              Conv3D(4, 4, kernel, rng=rng), ReLU(), MaxPool3D(pool),
              Conv3D(4, 4, kernel, rng=rng), ReLU(), MaxPool3D(pool)]
    if name == "3D-CNN-DNN":                                     # (N, 4, 2, 2, 64)
        layers += [Flatten(), Dense(1024, 512, rng=rng)]         # (N, 1024) -> (N, 512)
    else:                                                        # (N, 4, 10, 2, 64)
        layers += [Transpose((1, 0, 2, 3)), Reshape((10, 512)),  # (N, 10, 512): 10 L-steps
                   Dense(512, 512, rng=rng)]                     # shared over the steps
    layers += [ReLU(), Dropout(0.5, rng=rng), Dense(512, 512, rng=rng), ReLU(),
               Dropout(0.5, rng=rng), Dense(512, 4, rng=rng)]
    return layers


def numser_step(model, opt, x, y):
    logits = forward(model, x, train=True)
    loss, dlogits = softmax_cross_entropy(logits, y)
    backward(model, dlogits)
    opt.step(parameters(model))
    return loss


def torch_model(name, kernel):
    import torch
    from torch import nn

    class PerStep(nn.Module):                                    # (N, 4, 10, 2, 64) -> (N, 10, 512)
        def forward(self, v):
            return v.permute(0, 2, 1, 3, 4).reshape(v.shape[0], 10, 512)

    pool = (2, 2, 2) if name == "3D-CNN-DNN" else (1, 2, 2)
    layers = [nn.Conv3d(1, 4, kernel, padding="same"), nn.ReLU(),
              nn.Conv3d(4, 4, kernel, padding="same"), nn.ReLU(), nn.MaxPool3d(pool),
              nn.Conv3d(4, 4, kernel, padding="same"), nn.ReLU(), nn.MaxPool3d(pool)]
    layers += [nn.Flatten(), nn.Linear(1024, 512)] if name == "3D-CNN-DNN" else \
              [PerStep(), nn.Linear(512, 512)]
    layers += [nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.5),
               nn.Linear(512, 4)]
    return torch.nn.Sequential(*layers)


def torch_step(model, opt, x, y):
    import torch
    opt.zero_grad()
    logits = model(x)
    if logits.ndim == 3:                                         # ELM: the label at every step
        logits, y = logits.reshape(-1, 4), y.repeat_interleave(logits.shape[1])
    loss = torch.nn.functional.cross_entropy(logits, y)
    loss.backward()
    opt.step()
    return loss.item()


def timed(step, n_warmup, n_steps):
    """Run ``step`` n_warmup times untimed, then n_steps times; returns the list of seconds."""
    for _ in range(n_warmup):
        step()
    times = []
    for _ in range(n_steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def blas_info():
    from threadpoolctl import threadpool_info
    return "; ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')} "
                     f"({i['num_threads']} threads)" for i in threadpool_info())


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines()
                    if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor()


def peak_rss(name, kernel, batch):
    """Peak resident memory (MiB) of a fresh process that only runs two numser steps."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = ("import sys, numpy as np; "
            f"sys.path[:0] = [{here!r}, {os.path.dirname(here)!r}]; import bench_train_step as b; "
            "rng = np.random.default_rng(0); "
            f"m = b.numser_model({name!r}, {kernel!r}, rng); opt = b.Adam(); "
            f"x = rng.standard_normal(({batch},) + b.INPUT).astype(np.float32); "
            f"y = rng.integers(0, 4, {batch}); b.numser_step(m, opt, x, y); "
            "b.numser_step(m, opt, x, y); "
            # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent.
            "print(next(int(line.split()[1]) for line in open('/proc/self/status') "
            "if line.startswith('VmHWM')) / 1024)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(res.stdout.split()[-1])


def compile_times(kernel):
    """Seconds to import numser and run the first step, cold cache then warm, in fresh processes."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = ("import time; t0 = time.perf_counter(); import numpy as np, sys; "
            f"sys.path[:0] = [{here!r}, {os.path.dirname(here)!r}]; import bench_train_step as b; "
            "rng = np.random.default_rng(0); m = b.numser_model('3D-CNN-DNN', %r, rng); "
            "x = rng.standard_normal((8,) + b.INPUT).astype(np.float32); "
            "b.numser_step(m, b.Adam(), x, rng.integers(0, 4, 8)); "
            "t1 = time.perf_counter(); b.numser_step(m, b.Adam(), x, rng.integers(0, 4, 8)); "
            "print(t1 - t0, time.perf_counter() - t1)" % (kernel,))
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = []
        for _ in ("cold", "warm"):
            res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                 text=True, check=True)
            out.append([float(v) for v in res.stdout.split()])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10, help="timed numser steps")
    parser.add_argument("--torch-steps", type=int, default=10,
                        help="timed PyTorch steps (fewer for long kernels, see --torch-slow-steps)")
    parser.add_argument("--torch-slow-steps", type=int, default=3,
                        help="timed PyTorch steps for kernels with kS >= 32 (10 s or more each)")
    parser.add_argument("--kernels", default=None, help="e.g. 2x2x2,2x2x128 (default: all)")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--compile", action="store_true", help="also measure Numba compile time")
    args = parser.parse_args()

    configs = CONFIGS
    if args.kernels:
        wanted = {tuple(int(v) for v in k.split("x")) for k in args.kernels.split(",")}
        configs = [c for c in configs if c[1] in wanted]
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs")
    print(f"NumPy BLAS: {blas_info()}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch,) + INPUT).astype(np.float32)
    y = rng.integers(0, 4, args.batch)

    torch = None
    if not args.no_torch:
        import warnings

        import torch
        torch.set_num_threads(2)
        # PyTorch notes that 'same' with an even kernel pads a copy of the input; expected here.
        warnings.filterwarnings("ignore", message="Using padding='same'")
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    rows = []
    for name, kernel in configs:
        model = numser_model(name, kernel, np.random.default_rng(1))
        opt = Adam(lr=3e-3)
        step = {"numser": lambda: numser_step(model, opt, x, y)}
        n = {"numser": args.steps, "torch": 0}
        if torch is not None:
            torch.manual_seed(0)
            t_model = torch_model(name, kernel)
            t_opt = torch.optim.Adam(t_model.parameters(), lr=3e-3)
            step["torch"] = lambda: torch_step(t_model, t_opt, tx, ty)
            n["torch"] = args.torch_slow_steps if kernel[2] >= 32 else args.torch_steps
        # Warm up, then alternate the two libraries step by step, so that whatever else runs on
        # the machine slows both alike; report medians.
        times = {lib: timed(fn, 2 if lib == "numser" else 1, 0) for lib, fn in step.items()}
        for i in range(max(n.values())):
            for lib, fn in step.items():
                if i < n[lib]:
                    t0 = time.perf_counter()
                    fn()
                    times[lib].append(time.perf_counter() - t0)
        tracemalloc.start()                                    # NumPy allocations of one step
        numser_step(model, opt, x, y)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        row = {"name": name, "kernel": kernel, "peak": peak, "rss": peak_rss(name, kernel, args.batch)}
        for lib, ts in times.items():
            row[lib], row[lib + "_n"] = 1e3 * statistics.median(ts), len(ts)
            print(f"{lib:6s} {name} {'x'.join(map(str, kernel))}: {row[lib]:.0f} ms/step "
                  f"(median of {len(ts)})", flush=True)
        rows.append(row)

    print("\n| model | kernel | numser ms/step | PyTorch ms/step | speed-up | "
          "numser peak RSS MiB | NumPy peak MiB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for row in rows:
        t = row.get("torch")
        print(f"| {row['name']} | {'x'.join(map(str, row['kernel']))} | {row['numser']:.0f} "
              f"(n={row['numser_n']}) | "
              + (f"{t:.0f} (n={row['torch_n']}) | {t / row['numser']:.1f}x" if t else "- | -")
              + f" | {row['rss']:.0f} | {row['peak']:.0f} |")

    if args.compile:
        for kernel in ((2, 2, 2), (2, 2, 128)):
            (cold, cold_step), (warm, warm_step) = compile_times(kernel)
            print(f"first step incl. import, batch 8, {'x'.join(map(str, kernel))}: cold cache "
                  f"{cold:.1f} s, warm cache {warm:.1f} s (second step {cold_step:.2f} / "
                  f"{warm_step:.2f} s)")


if __name__ == "__main__":
    main()

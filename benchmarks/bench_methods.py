"""One batch-128 training step of every Table 4 method (docs/spec.md §3–4), numser vs PyTorch, side by side.

A step is forward, softmax cross-entropy, backward and one Adam update (lr 3e-3), dropout on. The
numser model is ``numser.models.build(method, ...)`` itself; the PyTorch model is the same
architecture written here with the layers a PyTorch user would pick (Conv1d/Conv2d/Conv3d with
``padding='same'``, MaxPool, ``nn.LSTM(batch_first=True, num_layers=2)``, Linear on (N, T, D) for
the per-step FC stacks). Before timing, the script checks that the two are the same function:

- parameter counts are equal, once each PyTorch LSTM layer's second bias (``bias_hh``) is left
  out (numser has one bias per gate unit; PyTorch adds two, which only ever enter as their sum);
- with numser's weights copied into the PyTorch model, both give the same logits (dropout off).

The ``-elm`` methods are trained with the utterance label at every step (the loss averages over
all N·T steps), as numser's ``softmax_cross_entropy`` does for (N, T, 4) logits.

Run with NumPy's BLAS at its defaults (this machine's environment sets two OpenBLAS variables
that slow it; unset them in this command only):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_methods.py

numser is imported before NumPy, so ``OPENBLAS_NUM_THREADS`` is 1 unless the caller set it
(numser parallelises in Numba; ``numser/__init__.py``). PyTorch runs with 2 threads
(``--torch-threads``). After the
warm-up the two libraries alternate step by step, so load from other processes hits both alike;
each time is the median of the timed steps. A library whose warm-up step took more than
``--slow-seconds`` gets one warm-up step and ``--slow-steps`` timed steps instead of two and
``--steps``.

A library whose warm-up step took more than ``--once-seconds`` (PyTorch's 1D-CNN-LSTM, ≈ 4 min)
is not stepped again: its warm-up step is its time (marked † in the table).

Besides the times, each row gives the step's useful FLOPs (2 per multiply-add of the
convolutions, dense layers and LSTMs, counted as the direct convolution would do them, so an
FFT path can exceed them; backward = 2 x forward; pooling, activations, loss and Adam not
counted), numser's GFLOP/s, that as a percentage of a single-precision GEMM measured in the same
run on the same cores (the faster of NumPy's 2048² ``matmul`` with numser's BLAS threads and
``torch.mm`` with ``--torch-threads``), and numser's peak RSS: the high-water RSS (VmHWM) of a
fresh process that builds the model and runs two steps (``--no-rss`` skips it).

Options: ``--methods dnn-elm,3d-cnn-dnn,...`` (default: all), ``--steps``, ``--slow-steps``,
``--ks 2,32`` (kS of the 2D/3D methods), ``--batch``, ``--torch-threads`` (default 2),
``--quick`` (batch 16, 2 timed steps: a smoke run, not a measurement).
"""
import numser  # noqa: F401  (first: sets OPENBLAS_NUM_THREADS=1 before NumPy loads OpenBLAS)

import argparse  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402

from numser.methods import names as method_names  # noqa: E402
from numser.models import build  # noqa: E402
from numser.nn.adam import Adam  # noqa: E402
from numser.nn.conv import Conv3D  # noqa: E402
from numser.nn.dense import Dense  # noqa: E402
from numser.nn.loss import softmax_cross_entropy  # noqa: E402
from numser.nn.lstm import LSTM  # noqa: E402

#: Every Table 4 row at its paper configuration: (method, build() keywords).
CONFIGS = ([("dnn-elm", {}), ("lstm-elm", {}),
            ("1d-cnn-lstm", {"cells": 128}), ("1d-cnn-lstm", {"cells": 256})]
           + [(m, {"kernel": (1, 2, ks)}) for m in ("2d-cnn-lstm", "2d-cnn-lstm-dnn")
              for ks in (2, 32, 128)]
           + [(m, {"kernel": (2, 2, ks), "depth": 3}) for m in ("3d-cnn-dnn", "3d-cnn-dnn-elm")
              for ks in (2, 32, 128)])


# ---------------------------------------------------------------------------------------------
# The same architectures in PyTorch.
# ---------------------------------------------------------------------------------------------

def torch_model(method, kernel=(2, 2, 128), depth=3, cells=128, **_):
    """The PyTorch twin of ``numser.models.build(method, ...)`` (logits (N, 4) or (N, T, 4))."""
    from torch import nn

    class PerStep(nn.Module):
        """(N, T, ...) → (N, T, ...'): one module on every step, the steps folded into the batch."""

        def __init__(self, *layers):
            super().__init__()
            self.inner = nn.Sequential(*layers)

        def forward(self, x):
            n, t = x.shape[:2]
            y = self.inner(x.reshape((n * t,) + tuple(x.shape[2:])))   # (N·T, ...)
            return y.reshape((n, t) + tuple(y.shape[1:]))

    class LSTM2(nn.Module):
        """Two stacked LSTM layers; all states (N, T, H) or the last one (N, H)."""

        def __init__(self, d, h, last):
            super().__init__()
            self.lstm, self.last = nn.LSTM(d, h, num_layers=2, batch_first=True), last

        def forward(self, x):
            y, _ = self.lstm(x)
            return y[:, -1] if self.last else y

    def fc_stack(n_in, widths):                     # as numser.models._fc_stack
        layers = []
        for width in widths:
            layers += [nn.Linear(n_in, width), nn.ReLU(), nn.Dropout(0.5)]
            n_in = width
        return layers + [nn.Linear(n_in, 4)]

    if method == "dnn-elm":                         # (N, 198, 32) → (N, 198, 4)
        return nn.Sequential(*fc_stack(32, (256, 256, 256)))
    if method == "lstm-elm":                        # (N, 198, 32) → (N, 198, 4)
        return nn.Sequential(LSTM2(32, 128, last=False), nn.Linear(128, 4))
    if method == "1d-cnn-lstm":                     # (N, 20, 1600) → (N, 4)
        return nn.Sequential(
            PerStep(nn.Unflatten(1, (1, 1600)),                       # (N·20, 1, 1600)
                    nn.Conv1d(1, 40, 80, padding="same"), nn.ReLU(), nn.MaxPool1d(2),
                    nn.Conv1d(40, 40, 800, padding="same"), nn.ReLU(), nn.MaxPool1d(40),
                    nn.Flatten()),                                    # (N·20, 800)
            LSTM2(800, cells, last=True), nn.Linear(cells, 4))
    if method in ("2d-cnn-lstm", "2d-cnn-lstm-dnn"):  # (N, 10, 10, 256) → (N, 4)
        ks = kernel[2]
        widths = (512, 512) if method == "2d-cnn-lstm-dnn" else ()
        return nn.Sequential(
            PerStep(nn.Unflatten(1, (1, 10)),                         # (N·10, 1, 10, 256)
                    nn.Conv2d(1, 4, (2, ks), padding="same"), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(4, 4, (2, ks), padding="same"), nn.ReLU(), nn.MaxPool2d(4),
                    nn.Flatten()),                                    # (N·10, 128)
            LSTM2(128, 128, last=True), *fc_stack(128, widths))
    # 3D-CNN-DNN and -ELM: no pooling after the first convolution (docs/spec.md §3)
    elm = method == "3d-cnn-dnn-elm"
    pool = (1, 2, 2) if elm else (2, 2, 2)
    layers, shape, channels = [nn.Unflatten(1, (1, 10))], (10, 10, 256), 1
    for i in range(depth):
        layers += [nn.Conv3d(channels, 4, kernel, padding="same"), nn.ReLU()]
        channels = 4
        if i > 0:
            layers.append(nn.MaxPool3d(pool))
            shape = tuple(n // p for n, p in zip(shape, pool))
    if not elm:
        return nn.Sequential(*layers, nn.Flatten(), *fc_stack(4 * int(np.prod(shape)), (512, 512)))
    features = 4 * shape[1] * shape[2]

    class Steps(nn.Module):                         # (N, 4, L, T', S') → (N, L, 4·T'·S')
        def forward(self, v):
            return v.permute(0, 2, 1, 3, 4).reshape(v.shape[0], v.shape[2], features)

    return nn.Sequential(*layers, Steps(), *fc_stack(features, (512, 512)))


def torch_param_counts(model):
    """(all parameters, parameters without each LSTM layer's bias_hh) of a PyTorch model."""
    total = sum(p.numel() for p in model.parameters())
    extra = sum(p.numel() for name, p in model.named_parameters() if "bias_hh" in name)
    return total, total - extra


def copy_weights(numser_model, model):
    """Load numser's weights into the PyTorch twin, layer by layer in order of appearance."""
    import torch
    from torch import nn

    def walk(layers):
        for layer in layers:
            if isinstance(layer, (Conv3D, Dense, LSTM)):
                yield layer
            yield from walk(getattr(layer, "layers", []))

    ours = list(walk(numser_model.layers))
    theirs = [m for m in model.modules()
              if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear, nn.LSTM))]
    with torch.no_grad():
        for m in theirs:
            if isinstance(m, nn.LSTM):
                for k in range(m.num_layers):
                    layer = ours.pop(0)
                    p = {n: torch.from_numpy(v) for n, v in layer.params.items()}
                    getattr(m, f"weight_ih_l{k}").copy_(p["W"].T)   # (4H, D) ← W (D, 4H)
                    getattr(m, f"weight_hh_l{k}").copy_(p["U"].T)
                    getattr(m, f"bias_ih_l{k}").copy_(p["b"])
                    getattr(m, f"bias_hh_l{k}").zero_()          # b = bias_ih + bias_hh
                continue
            layer = ours.pop(0)
            w, b = torch.from_numpy(layer.params["W"]), torch.from_numpy(layer.params["b"])
            if isinstance(m, nn.Linear):
                w = w.T                                          # (out, in) ← W (in, out)
            else:                                                # (F, C, kL, kT, kS) → 1-D/2-D
                w = w.reshape(m.weight.shape)
            m.weight.copy_(w)
            m.bias.copy_(b)
    if ours:
        raise RuntimeError(f"{len(ours)} numser layers have no PyTorch counterpart")


def check_same(method, kw, x):
    """Max |logit difference| between numser and PyTorch with the same weights, dropout off."""
    import torch
    ours = build(method, **kw)
    theirs = torch_model(method, **kw)
    copy_weights(ours, theirs)
    theirs.eval()
    with torch.no_grad():
        t = theirs(torch.from_numpy(x)).numpy()
    n = ours.forward(x, train=False)
    if t.shape != n.shape:
        raise RuntimeError(f"{method}: logits {n.shape} (numser) vs {t.shape} (PyTorch)")
    return float(np.abs(t - n).max()), float(np.abs(n).max())


# ---------------------------------------------------------------------------------------------
# One training step of each.
# ---------------------------------------------------------------------------------------------

def numser_step(model, opt, x, y):
    logits = model.forward(x, train=True)           # (N, 4) or (N, T, 4)
    loss, dlogits = softmax_cross_entropy(logits, y)
    model.backward(dlogits)
    opt.step(model.parameters())
    return loss


def torch_step(model, opt, x, y):
    import torch
    opt.zero_grad()
    logits = model(x)
    if logits.ndim == 3:                            # per-step methods: the label at every step
        logits, y = logits.reshape(-1, 4), y.repeat_interleave(logits.shape[1])
    loss = torch.nn.functional.cross_entropy(logits, y)
    loss.backward()
    opt.step()
    return loss.item()


def once(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def blas_info():
    from threadpoolctl import threadpool_info
    # the package whose wheel ships the library: numpy.libs (NumPy's), scipy.libs, torch/lib ...
    return "; ".join(f"{os.path.basename(os.path.dirname(i['filepath']))}: {i['internal_api']} "
                     f"{i.get('version')} kernel {i.get('architecture')} "
                     f"({i['num_threads']} threads)" for i in threadpool_info()
                     if i["user_api"] == "blas")


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines()
                    if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor()


def layer_flops(layer, x_shape, y_shape):
    """Forward FLOPs (2 per multiply-add) of one Conv3D, Dense or LSTM call; 0 for other layers."""
    if isinstance(layer, Conv3D):                   # direct-convolution count
        C, kL, kT, kS = layer.params["W"].shape[1:]
        return 2 * int(np.prod(y_shape)) * C * kL * kT * kS
    if isinstance(layer, Dense):
        D, F = layer.params["W"].shape
        return 2 * int(np.prod(x_shape[:-1])) * D * F
    if isinstance(layer, LSTM):                     # x_t W and h_(t-1) U for every step
        (D, H4), H = layer.params["W"].shape, layer.params["U"].shape[0]
        return 2 * x_shape[0] * x_shape[1] * (D + H) * H4
    return 0


def step_flops(model, batch):
    """Useful FLOPs of one training step at ``batch``: 3 x the forward FLOPs (backward = 2 x)."""
    counts = []

    def walk(layers):
        for layer in layers:
            yield layer
            yield from walk(getattr(layer, "layers", []))

    for layer in walk(model.layers):
        if isinstance(layer, (Conv3D, Dense, LSTM)):
            def counted(x, train=False, _layer=layer, _forward=layer.forward):
                y = _forward(x, train)
                counts.append(layer_flops(_layer, x.shape, y.shape))
                return y
            layer.forward = counted
    model.forward(np.zeros((2,) + model.input_shape, dtype=np.float32), train=False)
    return 3 * sum(counts) * batch / 2


def gemm_gflops(torch_threads):
    """GFLOP/s of a 2048² float32 GEMM: NumPy (numser's BLAS threads) and torch, best of 3 each."""
    import torch
    n = 2048
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    ta = torch.from_numpy(a)
    best = {}
    for name, fn in (("numpy", lambda: a @ a), ("torch", lambda: torch.mm(ta, ta))):
        fn()
        best[name] = 2 * n ** 3 / min(once(fn) for _ in range(3)) / 1e9
    return best


# Runs in a fresh process: builds one model, runs two steps, prints the max RSS in MiB.
RSS_WORKER = r"""
import json, resource, sys
import numser  # noqa: F401
import numpy as np
sys.path.insert(0, sys.argv[1])
from bench_methods import numser_step
from numser.models import build
from numser.nn.adam import Adam
method, kw, batch = sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
kw = {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}
model = build(method, **kw)
rng = np.random.default_rng(0)
x = rng.standard_normal((batch,) + model.input_shape).astype(np.float32)
y = rng.integers(0, 4, batch)
opt = Adam(lr=3e-3)
for _ in range(2):
    numser_step(model, opt, x, y)
# VmHWM restarts at exec; ru_maxrss would keep the RSS this process had as a fork of the benchmark
try:
    with open("/proc/self/status") as f:
        print(next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024)
except (OSError, StopIteration):
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_rss_mib(method, kw, batch):
    """Max RSS (MiB) of a fresh process building ``method`` and running two numser steps."""
    import json
    import sys
    out = subprocess.run([sys.executable, "-c", RSS_WORKER, os.path.dirname(os.path.abspath(__file__)),
                          method, json.dumps(kw), str(batch)], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"peak RSS of {method} {kw}: {out.stderr[-2000:]}")
    return float(out.stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=None,
                        help=f"comma-separated subset of {','.join(method_names())} (default: all)")
    parser.add_argument("--ks", default=None,
                        help="comma-separated kS values of the 2D/3D methods to keep (default: all)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5, help="timed steps after 2 warm-ups")
    parser.add_argument("--slow-steps", type=int, default=3,
                        help="timed steps (after 1 warm-up) for a library whose warm-up step "
                             "took more than --slow-seconds")
    parser.add_argument("--slow-seconds", type=float, default=20.0)
    parser.add_argument("--once-seconds", type=float, default=120.0,
                        help="a library whose warm-up step took longer is timed by that step alone")
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS processes")
    parser.add_argument("--torch-threads", type=int, default=2,
                        help="torch.set_num_threads (numser's Numba threads: NUMBA_NUM_THREADS)")
    parser.add_argument("--quick", action="store_true",
                        help="batch 16, 2 timed steps: checks the script, measures nothing")
    args = parser.parse_args()
    if args.quick:
        args.batch, args.steps, args.slow_steps = 16, 2, 1

    configs = CONFIGS
    if args.methods:
        wanted = args.methods.split(",")
        unknown = set(wanted) - set(method_names())
        if unknown:
            parser.error(f"unknown methods {sorted(unknown)}; choose from {', '.join(method_names())}")
        configs = [c for c in configs if c[0] in wanted]
    if args.ks:
        keep = {int(v) for v in args.ks.split(",")}
        configs = [c for c in configs if "kernel" not in c[1] or c[1]["kernel"][2] in keep]

    import torch
    torch.set_num_threads(args.torch_threads)
    # PyTorch notes that 'same' with an even kernel pads a copy of the input; expected here.
    warnings.filterwarnings("ignore", message="Using padding='same'")
    blas = blas_info()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs; load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"numser: NumPy {np.__version__}, BLAS {blas}; OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS')}, Numba {numba.__version__} with "
          f"{numba.get_num_threads()} threads")
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}")
    gemm = gemm_gflops(args.torch_threads)
    peak = max(gemm.values())
    print(f"float32 GEMM 2048²: NumPy {gemm['numpy']:.0f} GFLOP/s, torch {gemm['torch']:.0f} "
          f"GFLOP/s; the yardstick is {peak:.0f} GFLOP/s")
    print(f"batch {args.batch}; median of {args.steps} steps after 2 warm-ups "
          f"({args.slow_steps} after 1 for a library slower than {args.slow_seconds:g} s a step)\n",
          flush=True)

    rows = []
    for method, kw in configs:
        model = build(method, **kw)
        label = model.config.label()
        rng = np.random.default_rng(0)
        x = rng.standard_normal((args.batch,) + model.input_shape).astype(np.float32)
        y = rng.integers(0, 4, args.batch)

        torch.manual_seed(0)
        t_model = torch_model(method, **kw)
        total, matched = torch_param_counts(t_model)
        if matched != model.n_params():
            raise RuntimeError(f"{method} {label}: {model.n_params():,} numser parameters but "
                               f"{matched:,} in PyTorch (without bias_hh); the twins differ")
        diff, scale = check_same(method, kw, x[:2])
        print(f"{method} ({label}): numser {model.n_params():,} parameters, PyTorch {total:,} "
              f"(= {matched:,} + {total - matched:,} of LSTM bias_hh); same weights → max "
              f"|Δlogit| {diff:.1e} (max |logit| {scale:.2f})", flush=True)

        opt = Adam(lr=3e-3)
        t_opt = torch.optim.Adam(t_model.parameters(), lr=3e-3)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        step = {"numser": lambda: numser_step(model, opt, x, y),
                "torch": lambda: torch_step(t_model, t_opt, tx, ty)}
        # Warm-up: one step each; a second one unless that library is slow.
        n = {}
        once_only = {}
        for lib, fn in step.items():
            first = once(fn)
            if first > args.once_seconds:
                n[lib], once_only[lib] = 0, first
            elif first > args.slow_seconds:
                n[lib] = args.slow_steps
            else:
                once(fn)
                n[lib] = args.steps
            print(f"  {lib} warm-up step {first:.2f} s → {n[lib]} timed steps", flush=True)
        # Alternate the two libraries step by step, so that the machine's load hits both alike.
        times = {lib: [] for lib in step}
        for i in range(max(n.values())):
            for lib, fn in step.items():
                if i < n[lib]:
                    times[lib].append(once(fn))
        row = {"method": method, "label": label, "flops": step_flops(build(method, **kw), args.batch),
               "rss": None if args.no_rss else peak_rss_mib(method, kw, args.batch)}
        for lib, ts in times.items():
            row[lib + "_once"] = lib in once_only
            ts = ts or [once_only[lib]]
            row[lib], row[lib + "_n"] = 1e3 * statistics.median(ts), len(ts)
            row[lib + "_min"] = 1e3 * min(ts)
            print(f"  {lib:6s} {row[lib]:9.0f} ms/step (median of {len(ts)}: "
                  f"{', '.join(f'{1e3 * t:.0f}' for t in ts)})", flush=True)
        rows.append(row)
        del model, t_model, opt, t_opt, step

    print(f"\nload average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    # The fastest step of each is less sensitive to load spikes than the median; both shown.
    print(f"\n| method | configuration | numser ms/step | PyTorch ms/step | PyTorch / numser | "
          f"fastest step: numser / PyTorch ms | ratio of fastest | useful GFLOP/step | "
          f"numser GFLOP/s | % of GEMM ({peak:.0f} GFLOP/s) | numser peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def ms(r, lib):
        return f"{r[lib]:.0f} " + ("(†)" if r[lib + "_once"] else f"(n={r[lib + '_n']})")

    for r in rows:
        rate = r["flops"] / (r["numser"] / 1e3) / 1e9
        rss = "–" if r["rss"] is None else f"{r['rss']:.0f}"
        print(f"| {r['method']} | {r['label']} | {ms(r, 'numser')} | {ms(r, 'torch')} | "
              f"{r['torch'] / r['numser']:.2f} | {r['numser_min']:.0f} / {r['torch_min']:.0f} | "
              f"{r['torch_min'] / r['numser_min']:.2f} | {r['flops'] / 1e9:.1f} | {rate:.1f} | "
              f"{100 * rate / peak:.0f} | {rss} |")
    print("† warm-up step only (it took longer than --once-seconds)")
    print(f"\nnumser BLAS: {blas}")


if __name__ == "__main__":
    main()

"""One batch-128 training step of the 1D-CNN-LSTM (128 cells), two numser trees side by side, per layer.

A step is what ``numser.train`` does per batch: forward (dropout on), softmax cross-entropy,
backward and one Adam update, on random waveforms (N, 20, 1600). Each ``--tree`` gets its own
worker process (``PYTHONPATH=<tree>``: one process cannot import two trees), which builds the
model, keeps freed memory for reuse as training does (``numser.allocator.keep_freed_memory``), takes
``--warmup`` untimed steps (the heap grows to its final size over the first 2-3 steps, whose
page faults a long training does not pay again) and then answers "step" requests. The workers alternate step by step, so load
from other processes hits every tree alike; each figure is the median over ``--rounds`` steps.

Per step it reports wall seconds, CPU seconds of the process (all threads; on a machine busy
with other work this is the steadier figure, since a descheduled thread costs wall time but no
CPU time), the minor page faults of the step (pages the kernel maps in on first touch: memory
freed and allocated anew), each worker's peak RSS (VmHWM), and per layer of the per-step CNN the
forward and backward wall seconds and page faults.

Example: the commit before the per-frequency GEMM (issue 12) against this tree

    git worktree add /work/numser-2c86562 2c86562 --detach            # once
    python benchmarks/bench_1d_cnn_lstm.py --tree /work/numser-2c86562 --tree . --rounds 5

Options: ``--tree`` (repeatable; default: this tree), ``--rounds``, ``--warmup`` (3),
``--batch`` (128), ``--cells`` (128), ``--threads`` (NUMBA_NUM_THREADS of the workers;
default: all cores).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs inside a worker with PYTHONPATH=<tree>: one JSON line of timings per "step" line on stdin.
WORKER = r"""
import json, resource, sys, time
import numser  # noqa: F401  (sets the BLAS thread count before NumPy loads)
import numpy as np
try:
    from numser.allocator import keep_freed_memory
except ImportError:                        # trees before the move (e.g. 2c86562)
    from numser.memory import keep_freed_memory
from numser.models import build
from numser.nn.adam import Adam
from numser.nn.loss import softmax_cross_entropy

batch, cells, warmup = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
keep_freed_memory()
model = build("1d-cnn-lstm", cells=cells)
rng = np.random.default_rng(0)
x = rng.standard_normal((batch,) + model.input_shape).astype(np.float32)
y = rng.integers(0, 4, batch)
opt = Adam(lr=3e-3)
params = model.parameters()
layer_times, layer_faults = {}, {}

def faults():                  # minor page faults so far: pages the kernel had to map in
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def timed(name, fn):
    def run(arg, *a, **k):
        t0, f0 = time.perf_counter(), faults()
        out = fn(arg, *a, **k)
        layer_times[name] = layer_times.get(name, 0.0) + time.perf_counter() - t0
        layer_faults[name] = layer_faults.get(name, 0) + faults() - f0
        return out
    return run

for i, layer in enumerate(model.layers[0].layers):          # the per-step CNN
    name = f"{i} {layer!r}"
    layer.forward = timed(name + " fwd", layer.forward)
    layer.backward = timed(name + " bwd", layer.backward)

def step():
    layer_times.clear()
    layer_faults.clear()
    w0, c0, f0 = time.perf_counter(), time.process_time(), faults()
    logits = model.forward(x, train=True)
    loss, dlogits = softmax_cross_entropy(logits, y)
    model.backward(dlogits)
    opt.step(params)
    return {"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0,
            "faults": faults() - f0, "loss": float(loss), "layers": dict(layer_times),
            "layer_faults": dict(layer_faults)}

for _ in range(warmup):    # compiles on a cold cache; the heap grows to its size in 2-3 steps
    step()
for line in sys.stdin:
    out = step()
    with open("/proc/self/status") as f:
        out["rss_mib"] = next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
    print(json.dumps(out), flush=True)
"""


class Worker:
    """One process stepping the 1D-CNN-LSTM with the numser of ``tree``."""

    def __init__(self, tree, batch, cells, threads, warmup):
        self.tree = os.path.abspath(tree)
        env = dict(os.environ, PYTHONPATH=self.tree)
        if threads:
            env["NUMBA_NUM_THREADS"] = str(threads)
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER, str(batch), str(cells),
                                      str(warmup)],
                                     cwd=self.tree, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.steps = []

    def step(self):
        self.proc.stdin.write("step\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker for {self.tree} died (see its stderr above)")
        self.steps.append(json.loads(line))

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()

    def median(self, key):
        return statistics.median(s[key] for s in self.steps)

    def layer_median(self, name, key="layers"):
        return statistics.median(s[key][name] for s in self.steps)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[1:]))
    p.add_argument("--tree", action="append", default=None,
                   help="a numser checkout to time (repeatable; default: this tree)")
    p.add_argument("--rounds", type=int, default=3, help="timed steps per tree (default 3)")
    p.add_argument("--warmup", type=int, default=3,
                   help="untimed steps first (default 3: until the heap has grown to its size, "
                        "the first steps fault fresh pages in)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--cells", type=int, default=128)
    p.add_argument("--threads", type=int, default=0,
                   help="NUMBA_NUM_THREADS of the workers (default: numba's default, all cores)")
    args = p.parse_args()
    trees = args.tree or [HERE]
    print(f"starting {len(trees)} worker(s) ({args.warmup} warm-up steps each) ...",
          file=sys.stderr)
    workers = [Worker(t, args.batch, args.cells, args.threads, args.warmup) for t in trees]
    try:
        for r in range(args.rounds):
            for w in workers:                                 # alternate trees step by step
                w.step()
            print(f"round {r + 1}/{args.rounds}: " + ", ".join(
                f"{os.path.basename(w.tree)} {w.steps[-1]['wall']:.2f} s" for w in workers),
                file=sys.stderr)
    finally:
        for w in workers:
            w.close()
    width = max(len(os.path.basename(w.tree)) for w in workers)
    print(f"1d-cnn-lstm {args.cells} cells, batch {args.batch}, median of {args.rounds} steps")
    print(f"{'tree':{width}}  wall s  cpu s  minor faults  peak RSS MiB  loss")
    for w in workers:
        print(f"{os.path.basename(w.tree):{width}}  {w.median('wall'):6.2f}  {w.median('cpu'):5.2f}"
              f"  {w.median('faults'):12.0f}  {max(s['rss_mib'] for s in w.steps):12.0f}"
              f"  {w.steps[-1]['loss']:.6f}")
    if len(workers) > 1:
        base = workers[0]
        for w in workers[1:]:
            print(f"{os.path.basename(w.tree)} / {os.path.basename(base.tree)}: wall "
                  f"{w.median('wall') / base.median('wall'):.2f}, cpu "
                  f"{w.median('cpu') / base.median('cpu'):.2f}")
    names = list(workers[0].steps[0]["layers"])
    for key, what, fmt in (("layers", "wall s", "12.3f"), ("layer_faults", "minor page faults",
                                                           "12.0f")):
        print(f"\nper layer of the per-step CNN, {what} (median):")
        print(f"{'layer':60}" + "".join(f"  {os.path.basename(w.tree)[:12]:>12}" for w in workers))
        for name in names:
            print(f"{name[:60]:60}" + "".join(f"  {w.layer_median(name, key):{fmt}}"
                                              for w in workers))


if __name__ == "__main__":
    main()

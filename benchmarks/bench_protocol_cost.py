"""What the full Table 3 + Table 4 protocol costs on the 8 staged corpora, projected from timed steps.

For every configuration that ``python -m numser.cv --table3 --table4`` trains (the list is taken
from this tree's ``numser.cv.plan_tasks``), a worker process times, at batch 128 on random inputs
of the model's input shape (a fixed-size subset, not the corpora: a step's time does not depend
on the values):

- one training step (forward, softmax cross-entropy, backward, Adam): median of ``--steps``
  after three warm-up steps (the first compiles on a cold cache; over the first steps the heap
  grows to its size, and a long training pays those page faults once);
- one inference forward pass (validation after each epoch): median of ``--steps``.

It then scales them to the protocol: each fold trains on 3/5 of the utterances and validates on
1/5 (numser.folds), so one epoch is ceil(n_train / 128) steps plus n_val / 128 forward passes,
with n = the number of utterances in the staged manifests (4 537 for the 8 corpora of
``/work/shared/corpora``; ``--utterances`` overrides). The projection is

    task-hours = sum over configurations of  folds (5) x epochs (12) x epoch seconds / 3600

Not counted: feature extraction (cached once per run), the ELM grid of the -elm methods, the
final test pass and t-SNE; each is small next to the training epochs. Task-hours are the time
one process needs; `--jobs 2` on 2 cores runs two tasks at once, each with one Numba thread.

``--tree DIR`` (repeatable) times another checkout in its own worker process, e.g. the code
issue 12 was measured against (``git worktree add /work/numser-2c86562 2c86562 --detach``).
With several trees, the workers alternate configuration by configuration, so load from other
processes hits all alike. Each worker gets ``--threads`` Numba threads (default 2; pass 1 to
model ``--jobs 2``).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_protocol_cost.py \\
        --tree /work/numser-2c86562 --tree . --threads 1 --steps 3

``--quick`` times dnn-elm and one 3D configuration with one step each (checks the script only).
"""
import argparse
import csv
import glob
import json
import math
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs inside a worker with PYTHONPATH=<tree>: reads one JSON request per line, answers one line.
WORKER = r"""
import json, statistics, sys, time
import numser  # noqa: F401  (sets the BLAS thread count before NumPy loads)
import numpy as np
try:
    from numser.allocator import keep_freed_memory
except ImportError:                        # trees before the move (e.g. 2c86562)
    from numser.memory import keep_freed_memory
from numser.models import build
from numser.nn.adam import Adam
from numser.nn.loss import softmax_cross_entropy

keep_freed_memory()                        # as numser.train does: freed pages are reused
for line in sys.stdin:
    req = json.loads(line)
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in req["kw"].items()}
    model = build(req["method"], **kw)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((req["batch"],) + model.input_shape).astype(np.float32)
    y = rng.integers(0, 4, req["batch"])
    opt = Adam(lr=3e-3)
    params = model.parameters()

    def step():
        logits = model.forward(x, train=True)
        loss, dlogits = softmax_cross_entropy(logits, y)
        model.backward(dlogits)
        opt.step(params)

    def timed(fn, n):
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return statistics.median(out)

    t0 = time.perf_counter()
    step()                                              # warm-up (compiles on a cold cache)
    warm = time.perf_counter() - t0
    step()                                              # ... and the heap grows to its size
    step()
    train = timed(step, req["steps"])
    infer = timed(lambda: model.forward(x, train=False), req["steps"])
    print(json.dumps({"step": train, "forward": infer, "warmup": warm}), flush=True)
    del model, opt, params
"""


def staged_utterances(root="/work/shared/corpora"):
    """Rows of every staged manifest.csv under ``root`` (0 if none)."""
    total = 0
    for path in sorted(glob.glob(os.path.join(root, "*", "manifest.csv"))):
        with open(path, newline="") as f:
            total += sum(1 for _ in csv.DictReader(f))
    return total


def protocol_configs():
    """(method, build keywords) of every configuration ``numser.cv --table3 --table4`` trains."""
    sys.path.insert(0, HERE)
    from numser.cv import parse_args, plan_tasks
    args = parse_args(["--table3", "--table4"])
    seen = []
    for task in plan_tasks(args):
        key = (task.method, dict(task.config))
        if key not in seen:
            seen.append(key)
    return seen


class Worker:
    """One process timing configurations with the numser of ``tree``."""

    def __init__(self, tree, threads):
        self.tree = os.path.abspath(tree)
        env = dict(os.environ, PYTHONPATH=self.tree, NUMBA_NUM_THREADS=str(threads))
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER], cwd=self.tree, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def time(self, method, kw, batch, steps):
        self.proc.stdin.write(json.dumps({"method": method, "kw": kw, "batch": batch,
                                          "steps": steps}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker for {self.tree} died timing {method} {kw}")
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def label(method, kw):
    return method + "".join(f" {k}={'x'.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
                            for k, v in sorted(kw.items()))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[1:]))
    p.add_argument("--tree", action="append", default=None,
                   help="a numser checkout to time (repeatable; default: this one)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=2,
                   help="timed steps after three warm-ups (default 2)")
    p.add_argument("--threads", type=int, default=2, help="NUMBA_NUM_THREADS of each worker")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=12,
                   help="epochs per task (12: the mean of the 4-corpus run with early stopping)")
    p.add_argument("--utterances", type=int, default=None,
                   help="utterances in the pooled data (default: rows of the staged manifests)")
    p.add_argument("--quick", action="store_true", help="two configurations, one step: a smoke run")
    args = p.parse_args()
    trees = args.tree or [HERE]
    n = args.utterances or staged_utterances()
    if not n:
        p.error("no staged manifests found under /work/shared/corpora: pass --utterances N")
    n_train, n_val = round(n * 3 / 5), round(n / 5)
    configs = protocol_configs()
    if args.quick:
        configs = [c for c in configs if c[0] == "dnn-elm"][:1] + [c for c in configs
                                                                   if c[0] == "3d-cnn-dnn"][:1]
        args.steps = 1
    print(f"{len(configs)} configurations; {n} utterances → per fold {n_train} train, {n_val} val; "
          f"batch {args.batch}; {args.folds} folds × {args.epochs} epochs; {args.threads} Numba "
          f"threads per worker; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
          flush=True)
    workers = [Worker(t, args.threads) for t in trees]
    steps_per_epoch = math.ceil(n_train / args.batch)
    rows, start = [], time.time()
    try:
        for method, kw in configs:
            row = {"config": label(method, kw)}
            for w in workers:                          # alternate trees config by config
                r = w.time(method, kw, args.batch, args.steps)
                epoch = steps_per_epoch * r["step"] + n_val / args.batch * r["forward"]
                row[w.tree] = dict(r, epoch=epoch, hours=args.folds * args.epochs * epoch / 3600)
            rows.append(row)
            print(f"  {row['config']}: " + "; ".join(
                f"{os.path.basename(t)} step {row[t]['step'] * 1e3:.0f} ms, epoch {row[t]['epoch']:.0f} s"
                for t in (w.tree for w in workers)) + f"  [{time.time() - start:.0f} s]",
                file=sys.stderr, flush=True)
    finally:
        for w in workers:
            w.close()

    names = [w.tree for w in workers]
    print(f"\nload average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"benchmark wall time {time.time() - start:.0f} s\n")
    print("| configuration | " + " | ".join(f"{os.path.basename(t)}: ms/step, s/epoch, task-h"
                                          for t in names) + " |")
    print("|---|" + "---:|" * len(names))
    for row in rows:
        print(f"| {row['config']} | " + " | ".join(
            f"{row[t]['step'] * 1e3:.0f}, {row[t]['epoch']:.0f}, {row[t]['hours']:.2f}"
            for t in names) + " |")
    totals = {t: sum(r[t]["hours"] for r in rows) for t in names}
    print("| **Table 3 + Table 4, task-hours** | " + " | ".join(f"**{totals[t]:.1f}**"
                                                          for t in names) + " |")
    for t in names:
        print(f"{t}: {totals[t]:.1f} task-hours"
              + (f" ({totals[names[0]] / totals[t]:.2f}x less than {names[0]})"
                 if t != names[0] and totals[t] else ""))


if __name__ == "__main__":
    main()

"""Two ways to use the cores for training: one worker with every core, or one worker per core?

``numser.cv --jobs 1`` trains one task at a time with all cores' Numba threads; ``--jobs J``
trains J tasks at once, each with cores // J threads. Both compute the same numbers (results do
not depend on the thread count), so the choice is throughput alone: how many training steps per
second the machine completes. One worker per core wastes no time on handing work to threads, but
the workers share the memory bandwidth and caches; one worker with every thread pays for the
serial parts and the hand-overs of each step. This script measures both, per method:

- **one worker**: a process with ``NUMBA_NUM_THREADS`` = cores runs ``--steps`` training steps
  (batch 128: forward, softmax cross-entropy, backward, Adam) after two warm-ups;
- **a worker per core**: ``cores`` such processes with one thread each start together and run
  the same steps; their timed windows overlap (each waits for the others' warm-ups first).

Throughput is steps per second over the timed steps (several workers: the sum of theirs).
``--setups`` takes other WORKERSxTHREADS set-ups too, e.g. ``3x1`` for more workers than cores.
The set-ups alternate for ``--rounds`` rounds; the table gives medians. Run it on
a quiet machine, with BLAS at its defaults:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_jobs.py

It measures training steps only: evaluation, the ELM and t-SNE are a small share of a task
(``tables.md``'s cost table splits training from evaluation).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from numser.thread_policy import worker_environment

WORKER = r"""
import json, os, sys, time
import numser  # noqa: F401
import numpy as np
from numser.models import build
from numser.nn.adam import Adam
from numser.nn.loss import softmax_cross_entropy

method, kernel, steps, ready_dir, n_workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
model = build(method, kernel=tuple(int(k) for k in kernel.split("x")))
rng = np.random.default_rng(0)
x = rng.standard_normal((128,) + model.input_shape).astype(np.float32)
y = rng.integers(0, 4, 128)
opt = Adam(lr=3e-3)


def step():
    logits = model.forward(x, train=True)
    _, dlogits = softmax_cross_entropy(logits, y)
    model.backward(dlogits)
    opt.step(model.parameters())


for _ in range(2):
    step()
open(os.path.join(ready_dir, str(os.getpid())), "w").close()
while len(os.listdir(ready_dir)) < n_workers:      # start the timed steps together
    time.sleep(0.01)
t0 = time.perf_counter()
for _ in range(steps):
    step()
print(json.dumps(time.perf_counter() - t0))
"""


def throughput(method, kernel, steps, workers, threads):
    """Steps per second of ``workers`` processes with ``threads`` Numba threads each."""
    env = dict(os.environ, **worker_environment(threads))
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"                                   # numser's policy: BLAS one thread
    with tempfile.TemporaryDirectory() as ready:
        procs = [subprocess.Popen([sys.executable, "-c", WORKER, method, kernel, str(steps), ready,
                                   str(workers)], env=env, stdout=subprocess.PIPE, text=True)
                 for _ in range(workers)]
        seconds = []
        for proc in procs:
            out, _ = proc.communicate()
            if proc.returncode:
                sys.exit(f"bench_jobs.py: a worker for {method} {kernel} failed")
            seconds.append(json.loads(out))
    return sum(steps / s for s in seconds)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", default="3d-cnn-dnn:2x2x2,3d-cnn-dnn-elm:2x2x2,3d-cnn-dnn:2x2x32,"
                                        "3d-cnn-dnn:2x2x128,lstm-elm:2x2x2,dnn-elm:2x2x2,"
                                        "2d-cnn-lstm-dnn:1x2x2",
                   help="method:kernel pairs (the kernel is ignored by methods without one)")
    cores = os.cpu_count() or 1
    p.add_argument("--setups", default=f"1x{cores},{cores}x1",
                   help="WORKERSxTHREADS set-ups to compare, the first being the reference "
                        f"(default 1x{cores},{cores}x1; e.g. add {cores + 1}x1 to oversubscribe)")
    p.add_argument("--steps", type=int, default=8, help="timed steps per worker (default 8)")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    setups = [tuple(int(v) for v in s.split("x")) for s in args.setups.split(",")]
    names = [f"{w} worker{'s' * (w > 1)}, {t} thread{'s' * (t > 1)} each" for w, t in setups]
    print("| method | kernel | " + " | ".join(f"{n} (steps/s)" for n in names)
          + "".join(f" | {w}x{t} ÷ {setups[0][0]}x{setups[0][1]}" for w, t in setups[1:])
          + " |\n|---|---|" + "---:|" * (2 * len(setups) - 1), flush=True)
    for pair in args.methods.split(","):
        method, kernel = pair.split(":")
        rates = [[] for _ in setups]
        for r in range(args.rounds):                 # the set-ups in turn, reversed every round
            order = list(range(len(setups)))[::1 if r % 2 == 0 else -1]
            for i in order:
                rates[i].append(throughput(method, kernel, args.steps, *setups[i]))
        medians = [statistics.median(r) for r in rates]
        print(f"| {method} | {kernel} | " + " | ".join(f"{m:.2f}" for m in medians)
              + "".join(f" | {m / medians[0]:.2f}" for m in medians[1:]) + " |", flush=True)

if __name__ == "__main__":
    main()

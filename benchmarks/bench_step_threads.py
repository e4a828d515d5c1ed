"""One batch-128 training step per checkout: wall time, CPU time, and the step a quiet machine would take.

On a machine whose cores other jobs keep busy, a step's wall time says little about how fast
the code is: a process with two threads waits whenever the scheduler parks one of them. This
script therefore reports three numbers per step (forward, softmax cross-entropy, backward,
Adam; random inputs of the model's shape, batch ``--batch``), each the median over ``--steps``
steps after two warm-ups:

- **wall**: elapsed time;
- **CPU**: user + system time of the process (all threads);
- **model**: what the step would take with ``--threads`` free cores: the CPU time spent outside
  the parallel sections, plus, for every call of ``numser.nn.threads.run``, the makespan of its
  jobs' thread CPU times on ``--threads`` threads, handed out in list order to the first free
  thread as ``run`` does. It assumes a quiet machine gives each job the CPU time it took here
  and costs nothing to hand jobs over; it is an estimate, not a measurement. For a tree without
  ``numser.nn.threads`` (single-threaded layers) model = CPU.

Each ``--tree`` runs in its own worker process (``PYTHONPATH=<tree>``, ``NUMBA_NUM_THREADS`` =
``--threads``); the trees alternate method by method for ``--rounds`` rounds, so load from
other processes hits them alike.

    python benchmarks/bench_step_threads.py --tree /work/main --tree . --methods lstm-elm,dnn-elm
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

WORKER = r"""
import json, statistics, sys, time
import numser  # noqa: F401
import numpy as np
from numser.models import build
from numser.nn.adam import Adam
from numser.nn.loss import softmax_cross_entropy
try:
    from numser.nn import threads
except ImportError:
    threads = None
method, steps, n, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sections = []
if threads is not None:
    run = threads.run

    def timed_run(jobs):
        durations = []

        def timed(job):
            def call():
                t0 = time.thread_time()
                job()
                durations.append(time.thread_time() - t0)
            return call
        run([timed(j) for j in jobs])
        sections.append(durations)
    threads.run = timed_run


def makespan(durations):
    free = [0.0] * n
    for d in durations:
        free[free.index(min(free))] += d
    return max(free)


model = build(method)
rng = np.random.default_rng(0)
x = rng.standard_normal((batch,) + model.input_shape).astype(np.float32)
y = rng.integers(0, 4, batch)
opt = Adam(lr=3e-3)
rows = []
for s in range(steps + 2):
    sections.clear()
    w0, c0 = time.perf_counter(), time.process_time()
    logits = model.forward(x, train=True)
    loss, dlogits = softmax_cross_entropy(logits, y)
    model.backward(dlogits)
    opt.step(model.parameters())
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    inside = sum(sum(d) for d in sections)
    if s >= 2:
        rows.append((wall, cpu, cpu - inside + sum(makespan(d) for d in sections)))
print(json.dumps([statistics.median(r[k] for r in rows) for k in range(3)] + [numser.__file__]))
"""


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tree", action="append", required=True, help="a checkout (repeatable)")
    p.add_argument("--methods", default="lstm-elm,dnn-elm")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    args = p.parse_args()
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {args.threads} threads; "
          f"median of {args.steps} steps per round; ms per step", flush=True)
    results = {}
    for r in range(args.rounds):
        for method in args.methods.split(","):
            for tree in args.tree:
                env = dict(os.environ, PYTHONPATH=os.path.abspath(tree),
                           NUMBA_NUM_THREADS=str(args.threads))
                # cwd: ``python -c`` puts the working directory first on sys.path
                out = subprocess.run([sys.executable, "-c", WORKER, method, str(args.steps),
                                      str(args.threads), str(args.batch)],
                                     env=env, capture_output=True, text=True, cwd=env["PYTHONPATH"])
                if out.returncode:
                    sys.exit(f"worker for {tree} failed:\n{out.stderr[-2000:]}")
                wall, cpu, model, where = json.loads(out.stdout.splitlines()[-1])
                if not where.startswith(env["PYTHONPATH"] + os.sep):
                    sys.exit(f"worker for {tree} imported numser from {where}")
                results.setdefault((method, tree), []).append((wall, cpu, model))
                print(f"round {r + 1} {method:9s} {tree}: wall {1e3 * wall:.0f}, CPU {1e3 * cpu:.0f}, "
                      f"model {1e3 * model:.0f}", flush=True)
    print(f"\nload average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("| method | tree | wall ms | CPU ms | model ms (quiet estimate) |\n|---|---|---:|---:|---:|")
    for (method, tree), rows in results.items():
        med = [1e3 * statistics.median(row[k] for row in rows) for k in range(3)]
        print(f"| {method} | {tree} | {med[0]:.0f} | {med[1]:.0f} | {med[2]:.0f} |")


if __name__ == "__main__":
    main()

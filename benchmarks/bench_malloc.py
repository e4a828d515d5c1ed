"""Training-step CPU time with freed memory kept for reuse (numser/allocator.py) against glibc's default.

Run:  python benchmarks/bench_malloc.py [--steps 3] [--methods 3d-cnn-dnn,1d-cnn-lstm]
      python benchmarks/bench_malloc.py --methods 1d-cnn-lstm --warmup 0 --steps 8 --per-step

numser against itself, so no PyTorch here. Every (method, setting) runs in a fresh process
with one Numba thread: the malloc setting is process-wide and cannot be undone inside a process.
The two settings alternate (default, kept, default, kept), so load from other processes hits
both alike. Each process does ``--warmup`` untimed steps (default 1), then ``--steps`` timed
batch-128 steps (forward, cross-entropy, backward). It reports the medians of wall, user and
system time and of the minor page faults per step, and the peak RSS (ru_maxrss). ``--per-step``
also prints every step's faults and the resident set after it: with freed memory kept, the
heap grows to its size over the first steps and then stops faulting.
"""
import argparse
import os
import subprocess
import sys

CHILD = """
import resource, sys, time
import numpy as np
from numser.allocator import keep_freed_memory
from numser.models import build
from numser.nn.loss import softmax_cross_entropy
method, warmup, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
keep_freed_memory()                         # honours NUMSER_KEEP_FREED_MEMORY, as train() does
model = build(method, **({"kernel": (2, 2, 128)} if method.startswith("3d") else {}))
rng = np.random.default_rng(0)
x = rng.standard_normal((128,) + model.input_shape).astype(np.float32)
y = rng.integers(0, 4, 128)
def step():
    logits = model.forward(x, train=True)
    labels = np.repeat(y[:, None], logits.shape[1], 1) if logits.ndim == 3 else y
    model.backward(softmax_cross_entropy(logits, labels)[1])
def rss_mib():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024
for _ in range(warmup):
    step()
rows = []
for _ in range(steps):
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    step()
    r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    rows.append((t1 - t0, r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime,
                 r1.ru_minflt - r0.ru_minflt, rss_mib()))
wall, user, system, faults, _ = np.median(rows, axis=0)
print(wall, user, system, faults, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
for row in rows:
    print(int(row[3]), round(row[4]))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--methods", default="3d-cnn-dnn,1d-cnn-lstm")
    ap.add_argument("--rounds", type=int, default=2, help="default/kept pairs per method")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    ap.add_argument("--per-step", action="store_true",
                    help="also print each timed step's page faults and resident set")
    args = ap.parse_args(argv)
    print("| model | malloc | wall s | user s | system s | page faults | peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for method in args.methods.split(","):
        for _ in range(args.rounds):
            for name, flag in (("default", "0"), ("kept", "1")):
                env = dict(os.environ, NUMSER_KEEP_FREED_MEMORY=flag, NUMBA_NUM_THREADS="1")
                out = subprocess.run([sys.executable, "-c", CHILD, method, str(args.warmup),
                                      str(args.steps)],
                                     env=env, capture_output=True, text=True, check=True).stdout
                summary, *steps = out.splitlines()
                wall, user, system, faults, rss = map(float, summary.split())
                print(f"| {method} | {name} | {wall:.2f} | {user:.2f} | {system:.2f} | "
                      f"{faults:.0f} | {rss:.0f} |", flush=True)
                if args.per_step:
                    print("  per step (page faults, RSS MiB after it): "
                          + ", ".join(f"({s.replace(' ', ', ')})" for s in steps), flush=True)


if __name__ == "__main__":
    main()

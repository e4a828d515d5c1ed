"""Do two checkouts of numser compute the same bits? Forward, gradients and Adam steps, compared exactly.

A speed change must not alter any number a run computes (a reordered sum rounds differently).
This script runs one worker process per ``--tree`` (``PYTHONPATH=<tree>``, ``NUMBA_NUM_THREADS``
from ``--threads``) and compares what they compute with ``np.array_equal``, byte for byte:

- for each method and batch size: the logits of a training forward pass (dropout on), the loss,
  every parameter gradient and the input gradient of the backward pass, then the parameters and
  Adam moments after ``--steps`` Adam steps (each with a fresh forward/backward, so dropout
  masks and the generator state are covered), and the step posteriors of an inference pass;
- the same in float64 for a small batch (the dtype of the gradient checks).

Inputs are random (fixed seed) of each model's input shape. Default methods: the LSTM-ELM,
the DNN-ELM (context 1 and 5) and the 2D-CNN-LSTM (kS 2 and 32); batches 128 (a full batch),
37 and 3 (last batches of an epoch).

    python benchmarks/check_same_numbers.py --tree /work/main --tree . --threads 1,2

Prints one line per compared case and exits 1 if any array differs. Every (tree, threads)
combination is compared with the first one.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

WORKER = r"""
import json, sys
import numser  # noqa: F401
import numpy as np
from numser.models import build
from numser.nn.adam import Adam
from numser.nn.loss import softmax_cross_entropy
from numser.nn.layer import parameters

cases, out = json.loads(sys.argv[1]), sys.argv[2]
arrays = {}
for case in cases:
    method, kw, batch, dtype, steps = case["method"], case["kw"], case["batch"], case["dtype"], case["steps"]
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}
    tag = f"{method}|{json.dumps(kw, sort_keys=True)}|{batch}|{dtype}"
    model = build(method, seed=11, dtype=np.dtype(dtype), **kw)
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch,) + model.input_shape).astype(dtype)
    y = rng.integers(0, 4, batch)
    opt = Adam(lr=3e-3)
    for s in range(steps):
        logits = model.forward(x, train=True)
        loss, dlogits = softmax_cross_entropy(logits, y)
        dx = model.backward(dlogits)
        if s == 0:
            arrays[tag + "|logits"] = logits
            arrays[tag + "|loss"] = np.array(loss)
            arrays[tag + "|dx"] = dx
            for k, (_, g) in enumerate(model.parameters()):
                arrays[tag + f"|grad{k}"] = g.copy()
        opt.step(model.parameters())
    for k, (p, _) in enumerate(model.parameters()):
        arrays[tag + f"|param{k}"] = p
        arrays[tag + f"|adam_m{k}"] = opt.m[k]
        arrays[tag + f"|adam_v{k}"] = opt.v[k]
    xe = rng.standard_normal((300,) + model.input_shape).astype(dtype)
    arrays[tag + "|posteriors"] = model.step_posteriors(xe)
np.savez(out, **{k.replace("/", "_"): np.ascontiguousarray(v) for k, v in arrays.items()})
print(numser.__file__)
"""

METHODS = [("lstm-elm", {}), ("dnn-elm", {}), ("dnn-elm", {"context": 5}),
           ("2d-cnn-lstm", {"kernel": [1, 2, 2]}), ("2d-cnn-lstm", {"kernel": [1, 2, 32]})]


def run(tree, threads, cases, out):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree), NUMBA_NUM_THREADS=str(threads))
    proc = subprocess.run([sys.executable, "-c", WORKER, json.dumps(cases), out], env=env,
                          capture_output=True, text=True, cwd=os.path.abspath(tree))
    if proc.returncode:
        raise RuntimeError(f"worker for {tree} ({threads} threads) failed:\n{proc.stderr[-3000:]}")
    where = proc.stdout.strip().splitlines()[-1]
    if not where.startswith(env["PYTHONPATH"] + os.sep):       # python -c puts cwd first on sys.path
        raise RuntimeError(f"worker for {tree} imported numser from {where}")
    return np.load(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tree", action="append", required=True, help="a checkout (repeat; first = reference)")
    p.add_argument("--threads", default="1,2", help="comma-separated NUMBA_NUM_THREADS values")
    p.add_argument("--batches", default="128,37,3")
    p.add_argument("--steps", type=int, default=3, help="Adam steps per case")
    p.add_argument("--methods", default=None, help="comma-separated subset of method names")
    args = p.parse_args()
    methods = [m for m in METHODS if args.methods is None or m[0] in args.methods.split(",")]
    cases = [{"method": m, "kw": kw, "batch": b, "dtype": "float32", "steps": args.steps}
             for m, kw in methods for b in map(int, args.batches.split(","))]
    cases += [{"method": m, "kw": kw, "batch": 5, "dtype": "float64", "steps": 2} for m, kw in methods]
    runs = [(t, th) for t in args.tree for th in map(int, args.threads.split(","))]
    with tempfile.TemporaryDirectory() as tmp:
        results = []
        for k, (tree, threads) in enumerate(runs):
            results.append(run(tree, threads, cases, os.path.join(tmp, f"{k}.npz")))
            print(f"ran {tree} with {threads} Numba threads (numser from {os.path.abspath(tree)}): "
                  f"{len(results[-1].files)} arrays",
                  flush=True)
        ref, bad = results[0], 0
        for (tree, threads), res in zip(runs[1:], results[1:]):
            differ = [k for k in ref.files if k not in res.files or ref[k].dtype != res[k].dtype
                      or not np.array_equal(ref[k], res[k])]
            bad += len(differ)
            print(f"{tree} ({threads} threads) vs {runs[0][0]} ({runs[0][1]} threads): "
                  f"{len(ref.files) - len(differ)} of {len(ref.files)} arrays identical"
                  + "".join(f"\n  DIFFERS: {k}" for k in differ[:20]))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

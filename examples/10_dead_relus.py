"""Why the paper's learning rate kills long spectral kernels: ReLU units dying in the first Adam steps.

Run:  python examples/10_dead_relus.py [--out examples/out] [--quick] [--steps 24]
                                       [--corpus emodb=../shared/corpora/emodb ...]

In the real run (docs/results-4corpora.md) the 3D-CNN-DNN with 2×2×128 kernels predicts one class in every
fold at the paper's Adam lr 3e-3, while 2×2×2 learns. This script watches it happen. It trains the
3D-CNN-DNN (depth 3) on fold 0 for ``--steps`` mini-batches of 128, with two kernels (2×2×2 and
2×2×128) and three schedules: the paper's recipe (lr 3e-3 from the first step), lr 1e-3 from the
first step, and the stable recipe (``--recipe stable``: lr 1e-3 reached by a linear warm-up over
the first two epochs, numser.train.RECIPES). Before the first step and after selected steps
it forwards the validation set and records, for each ReLU layer, the share of its units (output
elements) that are positive for at least one validation utterance. A unit that is zero for every
input passes no gradient, so it never recovers: it is dead.

Why the kernel length matters: Adam moves every weight by about lr in its first steps, whatever
the gradient's size (m / sqrt(v) ≈ ±1). A conv unit sums fan_in = C·kL·kT·kS weighted inputs, so a
step that pushes the weights coherently shifts its pre-activation by up to lr · fan_in · |x|.
For 2×2×128 with 4 input channels fan_in is 2 048, against 32 for 2×2×2: the same lr moves the
pre-activations 64 times further, past zero for every input.

What it showed on the four real corpora (fold 0, 24 steps; docs/results-4corpora.md): at lr 3e-3 with
2×2×128, conv 3 went from 97 % of its units alive to 3 % after two steps and stayed at 2 %, and
every validation utterance got the same class; at lr 1e-3 it kept 73–94 % for 24 steps but fell
to 55 % by step 48, while the stable recipe kept 95–98 % for all 48 (docs/training.md). With 2×2×2 the conv
layers stayed alive at both rates (FC 1 lost most of its units, yet the model learns). On the
tiny --quick corpus (batches of 32) even lr 1e-3 killed conv 3 within six steps: the rate that
is safe depends on the data and the batch, which is the point of watching it.

Data: the built-in synthetic corpus (24 speakers × 4 emotions × 6 utterances; --quick 12 × 4 × 3),
or the corpora given with --corpus (the same specs as ``python -m numser.cv --corpus``).
Writes 10_dead_relus.png: units alive per ReLU layer against the step, one panel per (kernel, lr).
"""
import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from numser.corpora import load_corpora  # noqa: E402
from numser.features import Standardiser, extract_features  # noqa: E402
from numser.folds import speaker_folds  # noqa: E402
from numser.models import build  # noqa: E402
from numser.train import RECIPES, warmup_lr  # noqa: E402
from numser.nn.activations import ReLU  # noqa: E402
from numser.nn.adam import Adam  # noqa: E402
from numser.nn.loss import softmax_cross_entropy  # noqa: E402

KERNELS = ((2, 2, 2), (2, 2, 128))
#: (name, lr, warm-up epochs): the two recipes, and the stable recipe's lr without its warm-up
SCHEDULES = (("paper", RECIPES["paper"]["lr"], RECIPES["paper"]["warmup_epochs"]),
             ("lr 1e-3", RECIPES["stable"]["lr"], 0),
             ("stable", RECIPES["stable"]["lr"], RECIPES["stable"]["warmup_epochs"]))


def load_split(specs, cache):
    """Standardised training and validation volumes of fold 0 (speakers disjoint)."""
    utts = load_corpora(specs, cache_dir=os.path.join(cache, "corpora"), seed=0)
    x, kept = extract_features(utts, "volume", cache_dir=os.path.join(cache, "features"),
                               progress=False)                              # (N, 10, 10, 256)
    utts = [utts[i] for i in kept]
    y = np.array([int(u.label) for u in utts])
    speakers = np.array([u.speaker for u in utts])
    fold = speaker_folds([u.corpus for u in utts], speakers, n_folds=5, seed=0)[0]
    train, val, _ = fold.masks(speakers)
    scaler = Standardiser().fit(x[train])                 # training speakers only (docs/spec.md §2.6)
    print(f"data: {', '.join(specs)}: {train.sum()} training and {val.sum()} validation "
          f"utterances (fold 0)")
    return (scaler.transform(x[train]).astype(np.float32), y[train],
            scaler.transform(x[val]).astype(np.float32), y[val])


def units_alive(model, x):
    """Per ReLU layer: the share of output units positive for at least one row of ``x``."""
    alive, h = [], x
    for layer in model.layers:
        h = layer.forward(h, train=False)
        if isinstance(layer, ReLU):
            alive.append(float((h > 0).reshape(len(h), -1).any(axis=0).mean()))
    return alive, np.bincount(h.argmax(axis=1), minlength=4)


def watch(kernel, schedule, data, steps, batch):
    """Train for ``steps`` mini-batches under ``schedule``; return {step: alive per ReLU layer}."""
    name, lr, warmup_epochs = schedule
    x_train, y_train, x_val, _ = data
    model = build("3d-cnn-dnn", kernel=kernel, depth=3, seed=0)
    params, adam = model.parameters(), Adam(lr=lr)
    warmup_steps = warmup_epochs * -(-len(x_train) // batch)       # as numser.train does
    rng = np.random.default_rng(0)
    probes = sorted({0, 1, 2, 3, 4, 6, 8, *range(8, steps + 1, 8), steps})
    record, order, i = {}, rng.permutation(len(x_train)), 0
    for step in range(steps + 1):
        if step:
            if i + batch > len(order):
                order, i = rng.permutation(len(x_train)), 0
            b = order[i:i + batch]
            i += batch
            loss, dlogits = softmax_cross_entropy(model.forward(x_train[b], train=True), y_train[b])
            model.backward(dlogits)
            adam.step(params, lr=warmup_lr(lr, adam.t, warmup_steps))
        if step in probes:
            record[step], predicted = units_alive(model, x_val)
            print(f"  {'x'.join(map(str, kernel)):>8s} {name:>7s} step {step:3d}: units alive "
                  f"{' '.join(f'{a:4.2f}' for a in record[step])}   validation predictions per "
                  f"class {predicted.tolist()}")
    return record


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="examples/out")
    p.add_argument("--quick", action="store_true", help="a smaller corpus, 6 steps of 32")
    p.add_argument("--steps", type=int, default=24, help="Adam steps per run (default 24)")
    p.add_argument("--corpus", action="append", help="corpus specs as in numser.cv "
                   "(default: the synthetic corpus)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    specs = args.corpus or ["synthetic=12" if args.quick else "synthetic=24"]
    steps, batch = (6, 32) if args.quick else (args.steps, 128)
    data = load_split(specs, str(out / "cache"))
    print("units alive per ReLU layer: conv 1, conv 2, conv 3, FC 1, FC 2")
    runs = {(k, sch[0]): watch(k, sch, data, steps, batch) for k in KERNELS for sch in SCHEDULES}

    fig, axes = plt.subplots(len(KERNELS), len(SCHEDULES), figsize=(3.6 * len(SCHEDULES), 6.4),
                             sharey=True, squeeze=False)
    names = ("conv 1", "conv 2", "conv 3", "FC 1", "FC 2")
    for ax, ((kernel, name), record) in zip(axes.ravel(), runs.items()):
        steps_seen = sorted(record)
        for j, layer in enumerate(names):
            ax.plot(steps_seen, [record[s][j] for s in steps_seen], "o-", ms=3, label=layer)
        ax.set_title(f"kernel {'x'.join(map(str, kernel))}, {name}", fontsize=9)
        ax.set_xlabel("Adam step")
        ax.set_ylim(-0.02, 1.02)
    for ax in axes[:, 0]:
        ax.set_ylabel("units alive on validation data")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "10_dead_relus.png", dpi=110)
    print(f"wrote {out / '10_dead_relus.png'}: units alive per ReLU layer against the Adam step")


if __name__ == "__main__":
    main()

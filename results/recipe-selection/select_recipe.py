"""Choose the 'stable' training recipe for the 3D CNNs on the 4-corpus data, by validation UA.

Each candidate changes one thing of the paper's recipe (Adam lr 3e-3, batch 128, ≤ 20 epochs,
patience 5, Glorot init). For every candidate, kernel and fold (5 speaker-independent folds over
EmoDB + RAVDESS + URDU + EMOVO pooled, seed 0 — the split of results/paper-4corpora) it trains the
model and records the best validation UA, whether the validation predictions collapsed (≥ 95 % in
one class), and the test UA (recorded, never used for the choice).

Run: python select_recipe.py OUTDIR [--kernels 2x2x128] [--candidates paper,lr1e-3,...]
One JSON per (candidate, kernel, fold) in OUTDIR; rerun to resume.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from numser.atomic import write_json
from numser.corpora import load_corpora
from numser.features import Standardiser, extract_features
from numser.folds import speaker_folds
from numser.metrics import unweighted_accuracy
from numser.models import build
from numser.nn.conv import Conv3D
from numser.nn.dense import Dense
import numser.train as train_module
from numser.nn.adam import Adam

# The staged corpora beside the repository (as the tests find them), or $NUMSER_CORPORA.
CORPORA = os.environ.get("NUMSER_CORPORA", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "..", "..", "..", "shared", "corpora"))
SPECS = [f"emodb={CORPORA}/emodb", f"manifest={CORPORA}/emovo/manifest.csv",
         f"manifest={CORPORA}/urdu/manifest.csv", f"ravdess={CORPORA}/ravdess"]   # as results/paper-4corpora


class ScheduledAdam(Adam):
    """Adam with an optional linear warm-up of the lr and optional global gradient-norm clipping."""
    warmup_steps = 0
    clip_norm = None

    def step(self, pairs):
        pairs = list(pairs)
        if self.clip_norm is not None:
            norm = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for _, g in pairs))
            if norm > self.clip_norm:
                for _, g in pairs:
                    g *= self.clip_norm / norm
        if self.warmup_steps:
            if not hasattr(self, "base_lr"):
                self.base_lr = self.lr
            self.lr = self.base_lr * min(1.0, (self.t + 1) / self.warmup_steps)
        super().step(pairs)


def layers_of(layers):
    for layer in layers:
        yield layer
        yield from layers_of(getattr(layer, "layers", []))


def he_init(model, seed):
    """He-uniform weights for every conv and every hidden dense layer (all feed ReLUs)."""
    rng = np.random.default_rng(seed + 1000)
    weighted = [l for l in layers_of(model.layers) if isinstance(l, (Conv3D, Dense))]
    for layer in weighted[:-1]:                       # the last dense feeds the softmax
        W = layer.params["W"]
        fan_in = int(np.prod(W.shape[1:])) if isinstance(layer, Conv3D) else W.shape[0]
        limit = np.sqrt(6.0 / fan_in)
        W[...] = rng.uniform(-limit, limit, size=W.shape).astype(W.dtype)


CANDIDATES = {
    "paper": {},
    "lr1e-3": {"lr": 1e-3},
    "warmup": {"warmup_epochs": 2},
    "clip": {"clip_norm": 1.0},
    "he": {"he": True},
    "lr1e-3+warmup": {"lr": 1e-3, "warmup_epochs": 2},
}


def run_one(name, kernel, fold, data, out):
    path = os.path.join(out, f"{name}__k{'x'.join(map(str, kernel))}__fold{fold}.json")
    if os.path.exists(path):
        return
    cand = CANDIDATES[name]
    x_all, y_all, speakers, folds = data
    tr, va, te = folds[fold].masks(speakers)
    scaler = Standardiser().fit(x_all[tr])
    x = {k: scaler.transform(x_all[m]).astype(np.float32) for k, m in (("tr", tr), ("va", va), ("te", te))}
    y = {"tr": y_all[tr], "va": y_all[va], "te": y_all[te]}
    model = build("3d-cnn-dnn", seed=0, kernel=kernel, depth=3)
    if cand.get("he"):
        he_init(model, 0)
    steps_per_epoch = -(-len(y["tr"]) // 128)
    ScheduledAdam.warmup_steps = cand.get("warmup_epochs", 0) * steps_per_epoch
    ScheduledAdam.clip_norm = cand.get("clip_norm")
    train_module.Adam = ScheduledAdam
    config = train_module.TrainConfig(lr=cand.get("lr", 3e-3), seed=fold)
    t0 = time.time()
    fit = train_module.train(model, x["tr"], y["tr"], x["va"], y["va"], config,
                             log=lambda m: print(f"[{name} {kernel} f{fold}] {m}", flush=True))
    pv = model.predict(x["va"])
    pt = model.predict(x["te"])
    result = dict(candidate=name, kernel=list(kernel), fold=fold, best_val_ua=fit["best_val_ua"],
                  best_epoch=fit["best_epoch"], history=fit["history"],
                  val_collapsed=bool(np.bincount(pv, minlength=4).max() >= 0.95 * len(pv)),
                  test_ua=unweighted_accuracy(y["te"], pt),
                  test_collapsed=bool(np.bincount(pt, minlength=4).max() >= 0.95 * len(pt)),
                  seconds=time.time() - t0)
    write_json(path, result)
    print(json.dumps({k: v for k, v in result.items() if k != "history"}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--kernels", default="2x2x128")
    p.add_argument("--candidates", default=",".join(CANDIDATES))
    p.add_argument("--folds", default="0,1,2,3,4")
    p.add_argument("--cache", default=os.path.expanduser("~/.cache/numser-recipe"))
    a = p.parse_args()
    utts = load_corpora(SPECS, cache_dir=a.cache)
    x, kept = extract_features(utts, "volume", cache_dir=os.path.join(a.cache, "features"),
                               progress=True)
    utts = [utts[i] for i in kept]
    speakers = np.array([u.speaker for u in utts])
    labels = np.array([u.label for u in utts])
    folds = speaker_folds([u.corpus for u in utts], speakers, n_folds=5, seed=0)
    data = (np.asarray(x, dtype=np.float32), labels, speakers, folds)
    print(f"{len(utts)} utterances, {len(set(speakers))} speakers", flush=True)
    for kernel in [tuple(int(v) for v in k.split("x")) for k in a.kernels.split(",")]:
        for fold in [int(f) for f in a.folds.split(",")]:
            for name in a.candidates.split(","):
                run_one(name, kernel, fold, data, a.out)


if __name__ == "__main__":
    sys.exit(main())

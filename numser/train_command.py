"""``python -m numser.train``: train one model on all the given corpora and write its model file.

corpora → features (cached as in ``cv``) → 20 % of each corpus's speakers held out for
validation (early stopping, the ELM's hidden size and C) → train → the self-contained model file
of :mod:`numser.model_file`, written atomically, ready for ``python -m numser.predict``.
An interrupted run resumes from its last epoch when the same command is run again.
"""
import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

from numser import CLASSES, methods
from numser.atomic import check_writable
from numser.cli import (DEFAULT_KERNEL, add_corpus_arguments, add_training_arguments,
                        check_training_arguments, log, parse_kernel, run_command, train_config)
from numser.cv import feature_arrays, load_data
from numser.folds import validation_split
from numser.model_file import save_model_file
from numser.models import build
from numser.train import fit_model

EXAMPLES = """
examples:
  python -m numser.train --corpus emodb=../shared/corpora/emodb \\
      --corpus ravdess=../shared/corpora/ravdess --method {baseline} --out models/emotion.npz
  python -m numser.train --corpus manifest=my_corpus/manifest.csv --method {proposed} \\
      --kernel 2x2x2 --depth 3 --lr 1e-3 --out models/3d.npz
  python -m numser.predict models/emotion.npz my_recordings/      # then classify new audio
"""

#: Share of each corpus's speakers held out for validation.
VALIDATION_FRACTION = 0.2


def parse_args(argv=None):
    # the examples name the first baseline and the first proposed model of the registry
    examples = EXAMPLES.format(baseline=methods.names(proposed=False)[0],
                               proposed=methods.names(proposed=True)[0])
    p = argparse.ArgumentParser(
        prog="python -m numser.train", epilog=examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train one model on all the given corpora (20 % of each corpus's speakers "
                    "held out for early stopping) and write a self-contained model file for "
                    "python -m numser.predict.")
    add_corpus_arguments(p, required=True)
    p.add_argument("--method", required=True, choices=methods.names(), metavar="M",
                   help=f"the method to train: {', '.join(methods.names())}")
    p.add_argument("--kernel", default=DEFAULT_KERNEL, metavar="KxKxK",
                   help="3D kernel (kL x kT x kS) of the 3D models; the 2D models use (1, 2, kS) "
                        f"(default {DEFAULT_KERNEL}; the paper's headline is 2x2x128)")
    p.add_argument("--depth", type=int, default=3,
                   help="convolution layers of the 3D models (default 3)")
    p.add_argument("--cells", type=int, default=128,
                   help="LSTM cells of the 1D-CNN-LSTM (default 128)")
    p.add_argument("--context", type=int, default=1,
                   help="frames of context of the DNN-ELM input (default 1)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the validation speakers, weights, dropout and batches (default 0)")
    add_training_arguments(p)
    p.add_argument("--out", required=True, metavar="MODEL.npz", help="the model file to write")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return run_command("train", lambda: _main(args),
                       interrupted="interrupted; run the same command again to resume from the "
                                   "last finished epoch")


def _main(args):
    check_training_arguments(args)
    check_writable(os.path.dirname(os.path.abspath(args.out)))
    kwargs = {"kernel": parse_kernel(args.kernel), "depth": args.depth, "cells": args.cells,
              "context": args.context}
    model = build(args.method, seed=args.seed, **kwargs)
    t0 = time.time()
    args.quick = False                                   # load_data is cv's; no smoke subsetting
    utterances = load_data(args, log)
    arrays, kept = feature_arrays(utterances, {model.input_kind}, args.cache, log)
    path, kept_path = arrays[model.input_kind]
    x_all, rows = np.load(path, mmap_mode="r"), {int(u): i for i, u in enumerate(np.load(kept_path))}
    use = [int(i) for i in kept]
    speakers = np.array([utterances[i].speaker for i in use])
    labels = np.array([utterances[i].label for i in use], dtype=np.int64)
    corpora = sorted({utterances[i].corpus for i in use})
    train_spk, val_spk = validation_split([utterances[i].corpus for i in use], speakers,
                                          fraction=VALIDATION_FRACTION, seed=args.seed)
    masks = {"train": np.isin(speakers, sorted(train_spk)), "val": np.isin(speakers, sorted(val_spk))}
    x = {s: np.asarray(x_all[[rows[i] for i in np.array(use)[m]]]) for s, m in masks.items()}
    y = {s: labels[m] for s, m in masks.items()}
    log(f"{model!r}; train {len(y['train'])} utterances of {len(train_spk)} speakers, "
        f"validation {len(y['val'])} of {len(val_spk)} speakers")
    config = train_config(args, args.seed)
    settings = {"method": args.method, "kwargs": {k: list(v) if isinstance(v, tuple) else v
                                                  for k, v in kwargs.items()},
                "corpora": sorted(args.corpus), "max_per_speaker": args.max_per_speaker,
                "train_config": config.__dict__, "out": os.path.abspath(args.out)}
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    ckpt = os.path.join(args.cache, "checkpoints", f"train-{digest}.npz")
    os.makedirs(os.path.dirname(ckpt), exist_ok=True)
    result = fit_model(model, x, y, config, checkpoint=ckpt, elm_seed=args.seed,
                       log=lambda m: log(f"[train] {m}"))
    fit = result["fit"]
    training = {
        "corpora": corpora, "corpus_specs": list(args.corpus),
        "speakers": {"train": sorted(train_spk), "val": sorted(val_spk)},
        "n_utterances": {"train": int(len(y["train"])), "val": int(len(y["val"]))},
        "class_counts_train": {c: int((y["train"] == i).sum()) for i, c in enumerate(CLASSES)},
        "val_ua": float(fit["best_val_ua"]), "best_epoch": int(fit["best_epoch"]),
        "epochs_run": len(fit["history"]), "history": fit["history"],
        "train_config": config.__dict__, "max_per_speaker": args.max_per_speaker,
        "validation": f"{VALIDATION_FRACTION:.0%} of each corpus's speakers (seed {args.seed})",
        "elm_grid": result["elm_table"], "seconds": round(time.time() - t0, 1),
        "protocol": "all", "held_out": None,
    }
    save_model_file(args.out, model, result["standardiser"], training=training)
    if os.path.exists(ckpt):
        os.remove(ckpt)                                 # the model file now holds what matters
    log(f"wrote {args.out}: {args.method} ({model.config.label()}), validation UA "
        f"{fit['best_val_ua']:.3f} at epoch {fit['best_epoch']}, {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

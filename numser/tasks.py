"""One task of the protocol (docs/spec.md §6): what it is, what it gets, how it runs, where it goes.

A :class:`Task` is one (method, configuration, fold, seed[, held-out corpus]); a :class:`Job` is
what every task of one run shares (the data, the split, the training set-up, where results go).
:func:`run_task` trains, fits the ELM and tests one task wherever it runs (this process, a worker
process, a Dask worker) and returns its result; :func:`save_result` writes it, in the process
that started the run. :mod:`numser.cv` plans the tasks and runs them.
"""
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from numser import CLASSES
from numser.atomic import atomic_open, write_json
from numser.folds import Fold
from numser.metrics import prediction_scores
from numser.model_file import machine, model_file_bytes
from numser.models import build
from numser.train import RECIPES, TrainConfig, fit_model
from numser.tsne import tsne

@dataclass(frozen=True)
class Task:
    """One (method, configuration, fold, seed[, held-out corpus]): trained, tested, saved alone.

    ``protocol`` is ``"pooled"`` (5-fold speaker-independent; ``fold`` is the fold) or ``"loco"``
    (leave one corpus out; ``held_out`` is the test corpus and ``fold`` its position among the
    sorted corpora).
    """

    method: str
    config: tuple  # sorted (key, value) pairs of the builder's keyword arguments
    fold: int
    seed: int = 0
    protocol: str = "pooled"
    held_out: str | None = None

    @property
    def name(self):
        """``<method>__<cfg>__fold<f>`` or ``<method>__<cfg>__loco-<corpus>``, plus ``__seed<s>``
        for s > 0 (seed-0 pooled names as before)."""
        parts = [self.method] + [f"{k}{'x'.join(map(str, v)) if isinstance(v, tuple) else v}"
                                 for k, v in self.config]
        where = f"loco-{self.held_out}" if self.protocol == "loco" else f"fold{self.fold}"
        return "__".join(parts + [where]) + (f"__seed{self.seed}" if self.seed else "")

    def kwargs(self):
        return dict(self.config)


class Outcome(NamedTuple):
    """What running one task gave: its result dict, or the error that stopped it; and where."""

    task: Task
    result: dict | None
    error: str | None       # "ExceptionType: message" when the task failed
    worker: str             # where it ran: "this process", "pid N", a Dask worker's address


@dataclass(frozen=True)
class Job:
    """What every task of one run shares; sent once to each worker.

    Utterances are numbered as the run loaded them; ``use`` lists those every feature kind could
    read. Folds are kept as sorted lists (cheap to send) and become :class:`numser.folds.Fold`
    in the task.
    """

    speakers: list          # per utterance: "corpus:speaker"
    labels: list            # per utterance: class index into numser.CLASSES
    use: list               # utterances readable in every feature kind
    arrays: dict            # input kind → (features .npy, kept .npy) paths, or the arrays (Dask)
    folds: dict             # seed → [{"index", "test", "val", "train"}: sorted speaker lists]
    corpus_of: dict         # speaker → corpus
    epochs: int
    patience: int           # 0: no early stopping
    batch_size: int
    lr: float
    recipe: str             # a key of numser.train.RECIPES
    train_fraction: float
    checkpoints: str        # folder of this run's per-task checkpoints
    out: str                # the run folder (task results go to out/tasks)
    tsne_fold: int          # the (fold, seed) whose test set Figure 3 embeds
    tsne_seed: int
    tsne_iter: int
    git_commit: str
    keep_models: bool


def run_task(task, job):
    """Train, fit the ELM and test one task; returns its result dict (:func:`save_result`
    writes it: whoever started the run owns the results, wherever the task ran)."""

    def log(msg):
        print(f"[{task.name}] {msg}", file=sys.stderr, flush=True)

    t0 = time.time()
    fold = Fold(**{k: (frozenset(v) if k != "index" else v)
                   for k, v in job.folds[task.seed][task.fold].items()})
    if job.train_fraction < 1.0:                       # a learning curve: fewer training speakers
        fold = fold.with_train_fraction(job.train_fraction, seed=task.seed)
    model = build(task.method, seed=task.seed, **task.kwargs())
    x, y, test_speakers = _splits(job, fold, model.input_kind)
    log(f"{model!r}; train {len(y['train'])}, val {len(y['val'])}, test {len(y['test'])} "
        f"utterances")
    ckpt = os.path.join(job.checkpoints, task.name + ".npz")
    # standardiser of the training split, early stopping on validation UA, the ELM (docs/spec.md §5-6)
    fitted = fit_model(model, x, y, _train_config(task, job), checkpoint=ckpt, log=log,
                       elm_seed=task.seed)
    x, fit = fitted["x"], fitted["fit"]
    t_train = time.time() - t0
    t1 = time.time()
    pred = model.predict(x["test"])
    result = _result(task, job, model, fitted, y, pred, test_speakers)
    if task.fold == job.tsne_fold and task.seed == job.tsne_seed:
        emb = model.embed(x["test"])
        result["tsne"] = tsne(emb, perplexity=min(30.0, (len(emb) - 1) / 3.5),
                              n_iter=job.tsne_iter, seed=task.seed).round(4).tolist()
    # A resumed task's earlier epochs ran in a process that was stopped; their time is in the
    # history, so the cost counts them too. started/finished bound this process's part only.
    earlier = sum(h["seconds"] for h in fit["history"][:fit["resumed_epoch"]])
    result.update(seconds_train=t_train + earlier, seconds_eval=time.time() - t1,
                  seconds=time.time() - t0 + earlier, resumed_after_epoch=fit["resumed_epoch"],
                  started=time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t0)),
                  finished=time.strftime("%Y-%m-%dT%H:%M:%S"), git_commit=job.git_commit,
                  machine=machine())
    if job.keep_models:            # written by save_result, beside the JSON and before it
        result[MODEL_FILE_KEY] = _model_file(task, job, model, fitted, fold, result)
    log(f"test UA {result['test_ua']:.3f} (val {fit['best_val_ua']:.3f}), "
        f"{result['seconds']:.0f}s" + (f"; collapsed: {result['majority_share']:.0%} predicted "
                                       f"{CLASSES[result['majority_class']]}"
                                       if result["collapsed"] else ""))
    return result


def _splits(job, fold, input_kind):
    """The fold's train / val / test features and labels, and the test utterances' speakers."""
    path, kept_path = job.arrays[input_kind]
    # paths of the .npy files, or (on a Dask worker) the arrays themselves
    x_all, kept = (np.load(a, mmap_mode="r") if isinstance(a, str) else a for a in (path, kept_path))
    row = {int(u): i for i, u in enumerate(kept)}            # utterance index → array row
    use = np.array(job.use, dtype=np.int64)
    speakers = np.array([job.speakers[i] for i in use])
    labels = np.array([job.labels[i] for i in use], dtype=np.int64)
    train_m, val_m, test_m = fold.masks(speakers)
    rows = np.array([row[i] for i in use])
    x = {s: np.asarray(x_all[rows[m]]) for s, m in (("train", train_m), ("val", val_m),
                                                    ("test", test_m))}
    y = {"train": labels[train_m], "val": labels[val_m], "test": labels[test_m]}
    return x, y, speakers[test_m]


def _train_config(task, job):
    return TrainConfig(batch_size=job.batch_size, max_epochs=job.epochs, lr=job.lr,
                       patience=job.patience or None, seed=1000 * task.seed + task.fold,
                       warmup_epochs=RECIPES[job.recipe]["warmup_epochs"])


def _result(task, job, model, fitted, y, pred, test_speakers):
    """A task's result dict: what it ran, its scores, its predictions (no timing yet)."""
    fit = fitted["fit"]
    return {
        "task": task.name, "method": task.method, "config": model.config.label(),
        "kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in task.config},
        "fold": task.fold, "seed": task.seed, "protocol": task.protocol,
        "held_out": task.held_out, "recipe": job.recipe, "train_fraction": job.train_fraction,
        "n_params": model.n_params(), "paper_params_k": model.config.paper_params_k(),
        **prediction_scores(y["test"], pred, test_speakers),
        "val_ua": fit["best_val_ua"], "best_epoch": fit["best_epoch"], "history": fit["history"],
        "elm": _jsonable(fitted["elm_table"]),
        "y_true": y["test"].tolist(), "y_pred": pred.tolist(),
        "test_speakers": test_speakers.tolist(),
        "n_train": int(len(y["train"])), "n_val": int(len(y["val"])), "n_test": int(len(y["test"])),
    }


def save_result(task, result, job):
    """Write a task's result JSON (atomically), then drop its checkpoint: the JSON holds what
    matters. A kill between the two leaves a checkpoint of the last epoch: harmless.

    With ``--keep-models`` the task's model file (bytes in the result, so that a task run on a
    Dask worker keeps its model too) is written first, as ``tasks/<task>.npz``.
    """
    model_file = result.pop(MODEL_FILE_KEY, None)
    if model_file is not None:
        with atomic_open(os.path.join(job.out, "tasks", task.name + ".npz")) as f:
            f.write(model_file)
    write_json(os.path.join(job.out, "tasks", task.name + ".json"), result)
    ckpt = os.path.join(job.checkpoints, task.name + ".npz")
    if os.path.exists(ckpt):
        os.remove(ckpt)


#: The result key that carries a task's model file (bytes) from run_task to save_result.
MODEL_FILE_KEY = "_model_file"


def _model_file(task, job, model, fitted, fold, result):
    """The task's model as the bytes of a model file (:mod:`numser.model_file`)."""
    corpus_of = job.corpus_of
    training = {
        "corpora": sorted({corpus_of[s] for s in fold.train | fold.val}),
        "speakers": {"train": sorted(fold.train), "val": sorted(fold.val)},
        "test_speakers": sorted(fold.test),
        "n_utterances": {k: result[f"n_{k}"] for k in ("train", "val", "test")},
        "val_ua": float(result["val_ua"]), "test_ua": float(result["test_ua"]),
        "best_epoch": result["best_epoch"], "epochs_run": len(result["history"]),
        "history": result["history"], "elm_grid": result["elm"],
        "train_config": {"recipe": job.recipe, "lr": job.lr,
                         "warmup_epochs": RECIPES[job.recipe]["warmup_epochs"],
                         "train_fraction": job.train_fraction, "batch_size": job.batch_size,
                         "max_epochs": job.epochs, "patience": job.patience or None,
                         "seed": 1000 * task.seed + task.fold},
        "protocol": task.protocol, "held_out": task.held_out, "fold": task.fold,
        "seed": task.seed, "task": task.name, "run": os.path.abspath(job.out),
    }
    return model_file_bytes(model, fitted["standardiser"], training=training)


def _jsonable(value):
    if value is None:
        return None
    return json.loads(json.dumps(value, default=lambda o: o.tolist() if hasattr(o, "tolist")
                                 else str(o)))



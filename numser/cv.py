"""``python -m numser.cv``: the paper's speaker-independent protocol end to end (docs/spec.md §6).

corpora → features → 5 speaker-independent folds → for every (method, configuration, fold) an
independent task (train with early stopping, fit the ELM, test) whose result is written atomically
as its own JSON file → tables, significance tests and figures (:mod:`numser.report`).

A rerun with the same arguments skips finished tasks and resumes the one in flight from its last
epoch, so an interrupted run loses at most one epoch. Arguments that would make results
incomparable (corpora, folds, the split of a seed, training set-up) are refused for an existing
``--out``; adding seeds to it is allowed. ``--seeds 0,1,2`` runs every task once per seed (a seed
draws the speaker split and the initialisation); ``OUT/folds.csv`` holds the split of every seed
and ``--folds-from`` runs on such a file instead of drawing one.
"""
import argparse
import contextlib
import hashlib
import json
import os
import sys
import time
import warnings

import numpy as np

from numser import CLASSES, FileFormatError, ParameterError, methods
from numser.atomic import check_writable, save_npy, write_json
from numser.cli import (DEFAULT_KERNEL, add_corpus_arguments, add_training_arguments,
                        check_training_arguments, log, parse_kernel, run_command)
from numser.corpora import identical_audio, load_corpora
from numser.distributed import add_scheduler_argument, dask_outcomes, import_distributed
from numser.features import extract_features
from numser.folds import (folds_csv_text, loco_folds, read_folds_csv, speaker_folds,
                          write_folds_csv)
from numser.local_workers import local_outcomes
from numser.model_file import git_commit
from numser.models import check_config
from numser.progress import progress_markdown, task_progress
from numser.report import write_report
from numser.results import collapse_warnings, read_task
from numser.tasks import Job, Task, save_result  # noqa: F401 - Task: cv's API

#: The corpus when no --corpus is given: the built-in synthetic corpus with 20 speakers (480
#: utterances), small enough that the default command runs in a few minutes on 2 cores.
DEFAULT_CORPUS = "synthetic=20"
EXAMPLES = """
examples:
  python -m numser.cv                                   # built-in synthetic corpus, default methods
  python -m numser.cv --quick                           # a smoke run in about two minutes
  python -m numser.cv --corpus emodb=../shared/corpora/emodb --corpus ravdess=../shared/corpora/ravdess \\
      --methods {example_methods} --out runs/emodb-ravdess --jobs 2
  python -m numser.cv --corpus manifest=my_corpus/manifest.csv --table3 --out runs/table3
  python -m numser.cv --table4 --out runs/table4        # every Table 4 method at the paper's configurations
  python -m numser.cv --seeds 0,1,2 --out runs/seeds     # every task with 3 speaker splits and initialisations
  python -m numser.cv --folds-from runs/seeds/folds.csv --out runs/same-split   # reuse a split
  # interrupted? run the same command again: finished tasks are skipped, the one in flight resumes.
  python -m numser.cv --table4 --out runs/table4 --dry-run   # what is left, and how long it should take
  python -m numser.report runs/table4                   # rebuild tables and figures from the JSON
"""


#: The utterances (synthetic corpus, --max-per-speaker subsample) do not depend on --seed(s): a
#: seed changes the split and the initialisation, and every seed sees the same data.
DATA_SEED = 0


# --- the command line -------------------------------------------------------------------------

def parse_args(argv=None):
    # the example pairs the first proposed model with the last default baseline
    example = f"{methods.names(proposed=True)[0]},{methods.names(default=True, proposed=False)[-1]}"
    p = argparse.ArgumentParser(
        prog="python -m numser.cv", epilog=EXAMPLES.format(example_methods=example),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run Kim et al. 2017's speaker-independent 5-fold protocol on one or more "
                    "corpora and write Table 3/4/5, significance tests and figures.")
    add_corpus_arguments(p, default=DEFAULT_CORPUS)
    p.add_argument("--methods", metavar="M,M",
                   help=f"comma-separated methods (default: {','.join(methods.names(default=True))}); "
                        f"all: {','.join(methods.names())}")
    p.add_argument("--kernels", metavar="KxKxK,...", default=DEFAULT_KERNEL,
                   help="3D kernels (kL x kT x kS) for the 3D models; the 2D models use the kS "
                        f"values of these kernels (default {DEFAULT_KERNEL}; the paper's headline "
                        "is 2x2x128)")
    p.add_argument("--depths", metavar="D,D", default="3",
                   help="number of convolution layers of the 3D models (default 3)")
    p.add_argument("--cells", metavar="C,C", default="128",
                   help="LSTM cells of the 1D-CNN-LSTM (default 128; the paper also has 256)")
    p.add_argument("--context", type=int, default=1,
                   help="frames of context of the DNN-ELM input (1: the paper's 141K parameters; 5)")
    p.add_argument("--table3", action="store_true",
                   help="add Table 3: the 3D-CNN-DNN at depth 3 with all twelve kernels")
    p.add_argument("--table4", action="store_true",
                   help="add Table 4: every method at the paper's configurations (kS 2/32/128, "
                        "depth 2 and 3, 128 and 256 cells)")
    p.add_argument("--folds", type=int, default=None,
                   help="speaker-independent folds (default 5, or as many as --folds-from has)")
    p.add_argument("--only-folds", metavar="F,F",
                   help="run only these folds now (the others stay to do; for splitting a run)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the speaker shuffle, weights, dropout and batches (default 0); "
                        "the data do not depend on it")
    p.add_argument("--seeds", metavar="S,S",
                   help="run every task once per seed, e.g. 0,1,2; tables give mean ± std over all "
                        "folds of all seeds. Seeds can be added to an existing --out later")
    p.add_argument("--folds-from", metavar="CSV",
                   help="use the speaker split of this file (columns seed,fold,role,corpus,speaker, "
                        "as every run writes to OUT/folds.csv) instead of drawing one; its seeds "
                        "are run unless --seed(s) picks some of them")
    add_training_arguments(p)
    p.add_argument("--protocol", choices=("pooled", "loco"), default="pooled",
                   help="pooled (default): the paper's speaker-independent folds over the pooled "
                        "corpora; loco: leave one corpus out, one task per held-out corpus (the "
                        "test set), validation 20%% of each training corpus's speakers; needs two "
                        "or more corpora")
    p.add_argument("--train-fraction", type=float, default=1.0, metavar="F",
                   help="train on this fraction of each fold's training speakers, drawn per corpus "
                        "with the seed (smaller fractions are subsets of larger ones; validation "
                        "and test speakers unchanged): points of a learning curve (default 1)")
    p.add_argument("--keep-models", action="store_true",
                   help="keep each task's trained model as a model file beside its task JSON "
                        "(OUT/tasks/<task>.npz), ready for python -m numser.predict")
    p.add_argument("--tsne-fold", type=int, default=0,
                   help="the test fold whose top-layer activations Figure 3 embeds (default 0)")
    p.add_argument("--out", default="runs/default", help="output folder (default runs/default)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="tasks run in parallel processes, each with cores // jobs Numba threads "
                        "(default: one per core, the fastest on 2 cores); 1 runs in this process")
    add_scheduler_argument(p)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: a small synthetic corpus (or 6 utterances per speaker), "
                        "2 epochs, t-SNE shortened")
    p.add_argument("--dry-run", action="store_true",
                   help="plan only: check the arguments, the data and --out's settings, then print "
                        "each row's tasks, how many are finished in --out and how long the others "
                        "should take judged by the finished ones; trains and writes nothing in --out")
    return p.parse_args(argv)


def _split(text, convert=str):
    return [convert(t.strip()) for t in str(text).split(",") if t.strip()]


def plan_tasks(args, corpora=None):
    """The tasks the arguments ask for, in a fixed order.

    Pooled: one per (seed, method, configuration, fold). Leave-one-corpus-out: one per (seed,
    method, configuration, held-out corpus) of ``corpora`` (sorted names); before the data are
    read (``corpora`` None) the loco tasks have ``held_out`` None and serve to check the
    configurations only.
    """
    names = _split(args.methods) if args.methods else []
    for m in names:
        if methods.find(m) is None:
            raise ParameterError(f"--methods: unknown method {m!r}; "
                                 f"choose from {', '.join(methods.names())}")
    values = {"kernels": [parse_kernel(k, "--kernels") for k in _split(args.kernels)],
              "depths": _split(args.depths, int), "cells": _split(args.cells, int),
              "context": args.context}
    configs = []

    def add(method, sweep):
        for kwargs in methods.get(method).configurations(sweep):
            key = (method, tuple(sorted(kwargs.items())))
            if key not in configs:
                configs.append(key)

    if not names and not args.table3 and not args.table4:
        names = methods.names(default=True)
    for m in names:
        add(m, values)
    for table, wanted in (("table4", args.table4), ("table3", args.table3)):
        for m in methods.names() if wanted else ():
            sweep = getattr(methods.get(m), table)   # the table's axis values, over the command line's
            if sweep is not None:
                add(m, {**values, **sweep})
    n_folds = args.folds or 5
    folds = range(n_folds)
    if args.only_folds:
        folds = _split(args.only_folds, int)
        if any(f < 0 or f >= n_folds for f in folds):
            raise ParameterError(f"--only-folds: folds are numbered 0..{n_folds - 1}")
    # seeds outermost: a run cut short has every configuration of its first seed
    if args.protocol == "loco":
        held_out = list(corpora) if corpora is not None else [None]
        return [Task(m, cfg, i, s, "loco", c) for s in run_seeds(args) for m, cfg in configs
                for i, c in enumerate(held_out)]
    return [Task(m, cfg, f, s) for s in run_seeds(args) for m, cfg in configs for f in folds]


def run_seeds(args):
    """The seeds the arguments ask for: ``--seeds``, else ``--seed``, else [0]."""
    if args.seeds is not None:
        try:
            seeds = _split(args.seeds, int)
        except ValueError:
            seeds = []
        if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
            raise ParameterError(f"--seeds: {args.seeds!r} is not a list of distinct "
                                 "non-negative integers like 0,1,2")
        if args.seed is not None and args.seed not in seeds:
            raise ParameterError(f"--seed {args.seed} and --seeds {args.seeds} disagree; give one")
        return seeds
    if args.seed is not None and args.seed < 0:
        raise ParameterError(f"--seed must be >= 0, got {args.seed}")
    return [0 if args.seed is None else args.seed]


# --- data ------------------------------------------------------------------------------------

def corpus_specs(args):
    """The corpus specs a run loads, as run.json records them: --corpus, else DEFAULT_CORPUS;
    --quick shrinks the default synthetic corpus to 10 speakers (and load_data gives them 3
    utterances per speaker and emotion)."""
    specs = args.corpus or [DEFAULT_CORPUS]
    if args.quick:
        specs = ["synthetic=10" if s in ("synthetic", DEFAULT_CORPUS) else s for s in specs]
    return specs


def load_data(args, log):
    """Utterances of the requested corpora (subsampled for smoke runs), as one list."""
    specs = corpus_specs(args)
    with warnings.catch_warnings(record=True) as caught:    # one plain line each, not Python's
        warnings.simplefilter("always")
        utterances = load_corpora(specs, cache_dir=os.path.join(args.cache, "corpora"),
                                  seed=DATA_SEED, drop_unknown=args.drop_unknown_labels,
                                  **({"per_emotion": 3} if args.quick else {}))
    for w in caught:
        log(f"warning: {w.message}")
    limit = args.max_per_speaker or (6 if args.quick and specs != ["synthetic=10"] else 0)
    if limit:
        rng = np.random.default_rng(DATA_SEED)
        by_speaker = {}
        for i, u in enumerate(utterances):
            by_speaker.setdefault(u.speaker, []).append(i)
        keep = sorted(i for idx in by_speaker.values()
                      for i in (rng.permutation(idx)[:limit] if len(idx) > limit else idx))
        utterances = [utterances[i] for i in keep]
    corpora = sorted({u.corpus for u in utterances})
    log(f"data: {len(utterances)} utterances, {len({u.speaker for u in utterances})} speakers, "
        f"corpora {', '.join(corpora)}; classes "
        + ", ".join(f"{c} {sum(u.label == i for u in utterances)}" for i, c in enumerate(CLASSES)))
    return utterances


def feature_arrays(utterances, kinds, cache, log):
    """Extract each kind of feature once, store it as ``.npy`` for the worker processes.

    Returns (paths by kind, index of the utterances that loaded in every kind).
    """
    digest = hashlib.sha1(json.dumps([(u.path, u.speaker) for u in utterances]).encode())
    folder = os.path.join(cache, "arrays", digest.hexdigest()[:16])
    os.makedirs(folder, exist_ok=True)
    paths, kept_all = {}, None
    for kind in sorted(kinds):
        path = os.path.join(folder, f"{kind}.npy")
        kept_path = os.path.join(folder, f"{kind}.kept.npy")
        kept = _cached_arrays(path, kept_path, len(utterances), log)
        if kept is None:
            log(f"features: extracting '{kind}' for {len(utterances)} utterances")
            x, kept = extract_features(utterances, kind,
                                       cache_dir=os.path.join(cache, "features"), progress=True)
            save_npy(path, np.ascontiguousarray(x, dtype=np.float32))
            save_npy(kept_path, np.asarray(kept, dtype=np.int64))
            kept = np.load(kept_path)
        paths[kind] = (path, kept_path)
        kept_all = set(kept) if kept_all is None else kept_all & set(kept)
    return paths, np.array(sorted(kept_all), dtype=np.int64)


def _cached_arrays(path, kept_path, n_utterances, log):
    """The kept-utterance index of a cached feature array, or None to extract it (again).

    A damaged pair (truncated, not .npy, rows not matching the index) is reported and redone.
    """
    if not (os.path.exists(path) and os.path.exists(kept_path)):
        return None
    try:
        kept = np.load(kept_path)
        x = np.load(path, mmap_mode="r")
        if kept.ndim != 1 or len(x) != len(kept) or (len(kept) and (
                kept.min() < 0 or kept.max() >= n_utterances)):
            raise ValueError(f"{len(x)} rows for {len(kept)} utterances")
        return kept
    except (OSError, ValueError, EOFError) as e:
        log(f"numser.cv: warning: {FileFormatError(path, f'damaged feature cache ({e})')}; "
            "extracting again")
        return None


# --- the run --------------------------------------------------------------------------------

SETTING_DEFAULTS = {"lr": 3e-3, "protocol": "pooled", "recipe": "paper", "train_fraction": 1.0}
#: Settings that may grow between invocations on one --out: more seeds (each with its own split).
GROWING_SETTINGS = ("seeds", "split")


def check_run_settings(out, settings, record=None, *, write=True):
    """Refuse an ``--out`` that holds a run whose results would not be comparable with this one.

    ``settings["seeds"]`` may add seeds to the run; ``settings["split"]`` (a digest of every
    seed's split) must agree for the seeds both have. ``run.json`` gets the merged settings
    (compared on the next run) and ``record`` (facts about the data, e.g. byte-identical
    recordings, written but not compared); the merged settings are returned. ``write=False``
    only checks.
    """
    path = os.path.join(out, "run.json")
    merged = dict(settings)
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as f:
                old = json.load(f)
            if not isinstance(old, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            raise FileFormatError(path, f"damaged ({e}); it records the settings of the run in "
                                        f"{out}: restore it, or use another --out") from None
        # a setting added after the run was started counts as its default there
        diff = {k: (old.get(k, SETTING_DEFAULTS.get(k)), v) for k, v in settings.items()
                if k not in GROWING_SETTINGS and old.get(k, SETTING_DEFAULTS.get(k)) != v}
        old_split = old.get("split") or {}
        changed = sorted(k for k in set(old_split) & set(settings["split"])
                         if old_split[k] != settings["split"][k])
        if changed:
            diff[f"split of seed {changed[0]}"] = ("one split", "another")
        if diff:
            what = "; ".join(f"{k}: {a!r} there, {b!r} now" for k, (a, b) in diff.items())
            raise ParameterError(f"{out} holds a run with other settings ({what}); its results "
                                 f"would not be comparable: use another --out or the same arguments")
        old_seeds = old.get("seeds", [old.get("seed", 0)])
        merged.update(seeds=sorted(set(old_seeds) | set(settings["seeds"])),
                      split={**old_split, **settings["split"]})
    if write:
        write_json(path, {**merged, **(record or {})})
    return merged


def _split_digest(folds, corpus_of):
    return hashlib.sha1(folds_csv_text({0: folds}, corpus_of).encode()).hexdigest()[:16]


def fold_splits(args, seeds, utterances):
    """The folds of every seed: drawn from the speakers, or read from ``--folds-from``.

    Raises ParameterError (too few speakers for the folds) or FileFormatError (a split file that
    does not fit the data) before any feature is extracted.
    """
    corpora = [u.corpus for u in utterances]
    speakers = [u.speaker for u in utterances]
    if args.protocol == "loco":         # fold i tests the i-th corpus in sorted order
        return {s: list(loco_folds(corpora, speakers, seed=s).values()) for s in seeds}
    if args.folds_from:
        split = read_folds_csv(args.folds_from, set(speakers))
        return {s: split[s] for s in seeds}
    return {s: speaker_folds(corpora, speakers, n_folds=args.folds, seed=s) for s in seeds}


def _use_folds_file(args):
    """Read ``--folds-from``'s structure before any data: it fixes the folds and the seeds."""
    split = read_folds_csv(args.folds_from)
    n_folds = len(next(iter(split.values())))
    if args.folds is not None and args.folds != n_folds:
        raise ParameterError(f"--folds {args.folds}, but {args.folds_from} has {n_folds} folds; "
                             "leave --folds out")
    args.folds = n_folds
    if args.seeds is None and args.seed is None:
        args.seeds = ",".join(map(str, sorted(split)))
    missing = [s for s in run_seeds(args) if s not in split]
    if missing:
        raise ParameterError(f"seed {missing[0]} is not in {args.folds_from} (it has seeds "
                             f"{', '.join(map(str, sorted(split)))})")


def finished(task, out, log, keep_models=False):
    """True when the task's result file exists and reads back whole; a damaged one is reported.

    With ``keep_models`` a task whose model file is missing (a run started without
    ``--keep-models``) is not finished: it is trained again (to the same result) for its model.
    """
    path = os.path.join(out, "tasks", task.name + ".json")
    if not os.path.exists(path):
        return False
    if keep_models and not os.path.exists(os.path.join(out, "tasks", task.name + ".npz")):
        return False
    try:
        read_task(path)
    except FileFormatError as e:
        log(f"numser.cv: warning: {e}; the task is run again")
        return False
    return True


def main(argv=None):
    args = parse_args(argv)
    return run_command("cv", lambda: _main(args, log),
                       interrupted="interrupted; finished tasks are saved — run the same command "
                                   "again to resume")


def _check_args(args):
    """Every argument error, before any data is read."""
    if args.quick:
        args.epochs = min(args.epochs, 2)
    check_training_arguments(args)
    if not 0.0 < args.train_fraction <= 1.0:
        raise ParameterError(f"--train-fraction must be in (0, 1], got {args.train_fraction}")
    for name in ("folds", "jobs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ParameterError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.protocol == "loco":
        used = [o for o, v in (("--folds", args.folds), ("--only-folds", args.only_folds),
                               ("--folds-from", args.folds_from)) if v]
        if used:
            raise ParameterError(f"{', '.join(used)}: folds belong to the pooled protocol; "
                                 "--protocol loco has one task per held-out corpus")
        specs = args.corpus or [DEFAULT_CORPUS]
        if len(specs) < 2 and not specs[0].strip().lower().startswith("manifest="):
            # (a manifest may hold several corpora: counted once its rows are read)
            raise ParameterError(f"--protocol loco needs at least two corpora (one to test, "
                                 f"the others to train); got only {specs[0]!r}")
    if args.folds_from:
        _use_folds_file(args)
    args.folds = args.folds or 5
    if not 0 <= args.tsne_fold < args.folds:
        raise ParameterError(f"--tsne-fold must be in 0..{args.folds - 1}")


def _write_split(out, splits, corpus_of, log):
    """``out/folds.csv``: the split of every seed of this run, and of earlier invocations'."""
    folds_csv = os.path.join(out, "folds.csv")
    try:     # the seeds of earlier invocations stay in the file (run.json vouches they agree)
        earlier = read_folds_csv(folds_csv, set(corpus_of)) if os.path.exists(folds_csv) else {}
    except FileFormatError as e:
        log(f"numser.cv: warning: {e}; rewriting it")
        earlier = {}
    write_folds_csv(folds_csv, {**earlier, **splits}, corpus_of)


def _job(args, settings, utterances, splits, arrays, kept):
    """What every task of this run shares (:class:`numser.tasks.Job`)."""
    # checkpoints: one folder per run, whatever seeds it has grown to (task names carry the seed)
    fixed = {k: v for k, v in settings.items() if k not in GROWING_SETTINGS}
    run_hash = hashlib.sha1(json.dumps([os.path.abspath(args.out), fixed],
                                       sort_keys=True).encode()).hexdigest()[:12]
    return Job(speakers=[u.speaker for u in utterances], labels=[int(u.label) for u in utterances],
               use=kept.tolist(), arrays=arrays, corpus_of={u.speaker: u.corpus for u in utterances},
               folds={s: [{"index": f.index, "test": sorted(f.test), "val": sorted(f.val),
                           "train": sorted(f.train)} for f in folds] for s, folds in splits.items()},
               epochs=args.epochs, patience=args.patience, batch_size=args.batch_size, lr=args.lr,
               recipe=args.recipe, train_fraction=args.train_fraction,
               checkpoints=os.path.join(args.cache, "checkpoints", run_hash), out=args.out,
               # Figure 3 embeds one test fold of the run's first seed, also when a later
               # invocation adds seeds: min over the seeds of every invocation (run.json)
               tsne_fold=args.tsne_fold, tsne_seed=min(settings["seeds"]),
               tsne_iter=300 if args.quick else 1000, git_commit=git_commit(),
               keep_models=args.keep_models)


def _run(todo, job, args, log):
    """Run the tasks (here, in worker processes, or on Dask), save each result as it comes, log
    progress; returns the Outcomes of the tasks that failed."""
    start, done, failed = time.time(), 0, []

    def progress(outcome):
        nonlocal done
        done += 1
        eta = (time.time() - start) / done * (len(todo) - done)
        what = (f"UA {outcome.result['test_ua']:.3f}" if outcome.error is None
                else f"FAILED: {outcome.error}")
        log(f"== {done}/{len(todo)} tasks done  ({outcome.task.name} on {outcome.worker}: {what})"
            f"  elapsed {time.time() - start:.0f}s  ETA {eta:.0f}s")

    if args.scheduler:
        outcomes = dask_outcomes(todo, job, args, log)
    else:
        outcomes = local_outcomes(todo, job, args.jobs)
    with contextlib.closing(outcomes):       # Ctrl-C: the executor stops its workers on close
        for outcome in outcomes:
            if outcome.error is None:
                save_result(outcome.task, outcome.result, job)
            else:
                failed.append(outcome)
            progress(outcome)
    return failed


def _main(args, log):
    _check_args(args)
    tasks = plan_tasks(args)
    for folder in () if args.dry_run else (args.out, args.cache):
        check_writable(folder)                # fail now, not after minutes of feature extraction
    seeds = run_seeds(args)
    for method, config in dict.fromkeys((t.method, t.config) for t in tasks):
        check_config(method, **dict(config))          # a configuration that cannot be built: now
    kinds = {methods.get(t.method).input_kind for t in tasks}
    if args.scheduler:
        import_distributed()                 # without Dask: say what to install, before any work
    utterances = load_data(args, log)
    identical = identical_audio(utterances)
    for paths in identical:
        log(f"warning: byte-identical audio under {len(paths)} paths, all kept (listed in "
            f"run.json): {', '.join(paths)}")
    splits = fold_splits(args, seeds, utterances)
    if args.protocol == "loco":
        tasks = plan_tasks(args, sorted({u.corpus for u in utterances}))
    corpus_of = {u.speaker: u.corpus for u in utterances}
    remote = args.scheduler not in (None, "local")
    settings = {"corpora": sorted(corpus_specs(args)), "seeds": seeds,
                "split": {str(s): _split_digest(f, corpus_of) for s, f in splits.items()},
                "folds": args.folds, "epochs": args.epochs, "patience": args.patience, "lr": args.lr,
                "batch_size": args.batch_size, "max_per_speaker": args.max_per_speaker,
                "quick": args.quick, "n_utterances": len(utterances), "protocol": args.protocol,
                "recipe": args.recipe, "train_fraction": args.train_fraction}
    if args.dry_run:
        check_run_settings(args.out, settings, write=False)
        print(progress_markdown(task_progress(tasks, args.out), None if remote else args.jobs),
              end="")
        return 0
    os.makedirs(args.out, exist_ok=True)
    merged = check_run_settings(args.out, settings, {"identical_audio": identical})
    _write_split(args.out, splits, corpus_of, log)
    arrays, kept = feature_arrays(utterances, kinds, args.cache, log)
    job = _job(args, merged, utterances, splits, arrays, kept)
    todo = [t for t in tasks if not finished(t, args.out, log, args.keep_models)]
    log(f"tasks: {len(tasks)} planned, {len(tasks) - len(todo)} already done, {len(todo)} to run"
        f" ({'on the Dask cluster' if remote else f'{args.jobs} at a time'})")
    start = time.time()
    failed = _run(todo, job, args, log)
    if failed:
        for o in failed:
            log(f"numser.cv: error: task {o.task.name} failed on {o.worker}: {o.error}")
        log(f"numser.cv: {len(failed)} of {len(todo)} tasks failed (above); the other results are "
            f"saved; fix the cause and run the same command again to run the failed ones")
        return 1
    log(f"all {len(tasks)} tasks done in {time.time() - start:.0f}s; writing the report")
    tables = write_report(args.out)
    print(tables)
    for line in collapse_warnings(args.out):
        log(f"numser.cv: warning: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

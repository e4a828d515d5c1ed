"""A run's results from its task JSON files: one summary per row, the significance tests, the
leave-one-corpus-out table, the seed spread, the cost and where the tasks ran.

:func:`build_results` reads ``DIR/tasks/*.json`` (one file per method, configuration, fold and
seed, written by :mod:`numser.cv`) and returns what ``DIR/results.json`` holds;
:mod:`numser.tables` writes it out as ``tables.md`` and :mod:`numser.figures` draws it
(``python -m numser.report DIR`` does both). A damaged task file is reported and left out, never
mixed in.

Rows: a row is one (method, configuration); its summary pools every fold of every seed. Table 4's
rows are the paper's configurations (:func:`table4_rows`); Table 5 and Figure 3 show the paper's
four methods (``figure`` in :mod:`numser.methods`), each in its configuration with the best mean
UA (:func:`best_configurations`). Every proposed model is tested against every other row with
the two-sided Wilcoxon signed-rank test, paired by speaker and by fold (:func:`paired_test`).
"""
import glob
import json
import os
import sys
from datetime import datetime

import numpy as np

from numser import CLASSES, methods
from numser.errors import FileFormatError, ParameterError
from numser.methods import TABLE3_KERNELS
from numser.metrics import task_scores, unweighted_accuracy
from numser.models import check_config
from numser.readers import read_json, require
from numser.stats import holm, wilcoxon
from numser.taskfile import read_task as check_task

#: Significance level of the Wilcoxon tests: the paper's "0.99 of confidence level".
ALPHA = 0.01


def read_task(path):
    """One task result file, checked (:func:`numser.taskfile.read_task`) and completed;
    FileFormatError naming the file and the field when it is damaged.

    Files written before seeds, WA/macro-F1 and the collapse check existed read as seed 0,
    protocol ``"pooled"``, and get ``wa``, ``macro_f1``, ``collapsed``, ``majority_class`` and
    ``majority_share`` computed from their ``y_true`` and ``y_pred``.
    """
    task = check_task(path)        # every field the tables use, typed and in range
    if not task["y_true"]:
        raise FileFormatError(path, "damaged task result (no test utterance)", where="field 'y_true'")
    task.setdefault("seed", 0)
    task.setdefault("protocol", "pooled")
    task.setdefault("held_out", None)
    if not all(k in task for k in ("wa", "macro_f1", "collapsed", "majority_class")):
        try:
            scores = task_scores(task["y_true"], task["y_pred"])
        except ValueError as e:
            raise FileFormatError(path, f"damaged task result ({e})") from None
        scores.pop("test_ua")
        task.update({k: v for k, v in scores.items() if k not in task})
    return task


def require_run_folder(out):
    """Raise FileFormatError unless ``out`` holds finished task results (``tasks/*.json``)."""
    if not glob.glob(os.path.join(out, "tasks", "*.json")):
        raise FileFormatError(out, "no finished task results (tasks/*.json) in it: give the --out "
                                   "folder of a python -m numser.cv run")


def load_tasks(out, warn=True):
    """Every readable task result of a run folder, sorted by method order, config, seed, fold.

    A damaged file is reported on stderr (with its path) and left out of the tables.
    """
    tasks = []
    for path in sorted(glob.glob(os.path.join(out, "tasks", "*.json"))):
        try:
            tasks.append(read_task(path))
        except FileFormatError as e:
            if warn:
                print(f"numser.report: warning: {e}; left out of the tables", file=sys.stderr)
    return sorted(tasks, key=_task_order)


def _task_order(task):
    """Rows in the paper's order: method as Table 4, depth, kernel as Table 3, cells, fold."""
    kw = task["kwargs"]
    kernel = tuple(kw.get("kernel", ()))
    rank = methods.table_rank(task["method"])
    k_rank = TABLE3_KERNELS.index(kernel) if kernel in TABLE3_KERNELS else len(TABLE3_KERNELS)
    return (rank, kw.get("depth", 0), k_rank, kernel, kw.get("cells", 0), kw.get("context", 0),
            task.get("seed", 0), task["fold"])


def group(tasks):
    """{(method, config): [task per fold]} in display order."""
    groups = {}
    for t in tasks:
        groups.setdefault((t["method"], t["config"]), []).append(t)
    return groups


def summarise(runs):
    """Statistics of one (method, configuration) over its tasks: every fold of every seed.

    UA, WA and macro-F1: mean and (population) std over the tasks. ``per_speaker_ua``: each test
    speaker's UA averaged over the seeds that tested it (the pairing unit of the per-speaker test).
    ``folds`` and ``seeds`` are parallel lists, one entry per task.
    """
    uas = np.array([r["test_ua"] for r in runs])
    wa = np.array([r["wa"] for r in runs])
    f1 = np.array([r["macro_f1"] for r in runs])
    by_speaker = {}
    for r in runs:
        for k, v in r["per_speaker_ua"].items():
            by_speaker.setdefault(k, []).append(v)
    speakers = {k: float(np.mean(v)) for k, v in sorted(by_speaker.items())}
    confusion = np.sum([r["confusion"] for r in runs], axis=0)
    collapsed = [r for r in runs if r["collapsed"]]
    classes = [CLASSES[r["majority_class"]] for r in collapsed]
    return {"method": runs[0]["method"], "config": runs[0]["config"],
            "kwargs": runs[0]["kwargs"], "n_params": runs[0]["n_params"],
            "paper_params_k": runs[0]["paper_params_k"],
            "paper_ua": paper_ua(runs[0]["method"], runs[0]["kwargs"]),
            "folds": [r["fold"] for r in runs],
            "seeds": [r.get("seed", 0) for r in runs],
            "n_seeds": len({r.get("seed", 0) for r in runs}),
            "fold_ua": uas.tolist(), "mean": float(uas.mean()), "std": float(uas.std()),
            "best": float(uas.max()), "worst": float(uas.min()),
            "wa": wa.tolist(), "wa_mean": float(wa.mean()), "wa_std": float(wa.std()),
            "macro_f1": f1.tolist(), "macro_f1_mean": float(f1.mean()),
            "macro_f1_std": float(f1.std()),
            "collapsed": [bool(r["collapsed"]) for r in runs], "n_collapsed": len(collapsed),
            # the most frequent; a tie goes to the class first in CLASSES (not to set order)
            "collapsed_class": max(CLASSES, key=classes.count) if classes else None,
            "per_speaker_ua": speakers,
            "per_corpus_ua": _per_corpus(runs), "confusion": confusion.tolist(),
            "seconds_train": float(sum(train_seconds(r) for r in runs)),
            "seconds_eval": float(sum(r["seconds_eval"] for r in runs)),
            "best_epochs": [r["best_epoch"] for r in runs]}


def paper_ua(method, kwargs):
    """The paper's (mean, std) UA of a row (:mod:`numser.methods`), or None when the paper has
    no such row (or the method is not registered)."""
    if methods.find(method) is None:
        return None
    try:
        return check_config(method, **kwargs).paper_ua()
    except (ParameterError, TypeError):        # a configuration this numser cannot build
        return None


def train_seconds(run):
    """Training time of one task, the epochs of an interrupted earlier process included.

    Task files written before ``resumed_after_epoch`` existed count only the process that
    finished the task in ``seconds_train``; their history still holds every epoch's time.
    """
    return max(run["seconds_train"], sum(h["seconds"] for h in run["history"]))


def task_seconds(run):
    """Training plus evaluation time of one task (:func:`train_seconds`, then testing)."""
    return train_seconds(run) + run["seconds_eval"]


def run_time(tasks, pauses=()):
    """Total task time and wall time of a run, in seconds, without the time it was paused.

    Task time is the sum of every task's training and evaluation time. Wall time is the length
    of the union of the intervals [started, finished] of the processes that finished the tasks
    (``started`` = finished − seconds in files without it): the time during which at least one
    task was running, whatever the number of workers, sessions and pauses between them.

    ``pauses``: (start, end) POSIX times, disjoint, during which the run's processes were
    stopped (SIGSTOP) but their clocks ran on. Their overlap with the union leaves the wall time
    (``paused_seconds``), and each task's overlap with them leaves its task time. A resumed
    task's earlier epochs (before ``started``) count in full.
    """
    spans = []
    for t in tasks:
        end = datetime.fromisoformat(t["finished"]).timestamp()
        start = datetime.fromisoformat(t["started"]).timestamp() if "started" in t \
            else end - t["seconds"]
        spans.append((start, end))
    union = []                                       # disjoint, sorted
    for start, end in sorted(spans):
        if union and start <= union[-1][1]:
            union[-1][1] = max(union[-1][1], end)
        else:
            union.append([start, end])

    def paused(start, end):
        return sum(max(0.0, min(end, b) - max(start, a)) for a, b in pauses)

    wall = sum(end - start for start, end in union)
    stopped = sum(paused(start, end) for start, end in union)
    busy = sum(max(0.0, task_seconds(t) - paused(*span))
               for t, span in zip(tasks, spans))
    return {"task_seconds": float(busy), "wall_seconds": float(wall - stopped),
            "paused_seconds": float(stopped), "n_tasks": len(tasks)}


def seed_spread(summary):
    """How much a row's UA moves with the seed: one entry per seed, in seed order.

    Each entry: ``seed``, ``n`` (its finished folds), ``mean`` (its UA over them) and
    ``collapsed`` (its collapsed folds).
    """
    rows = {}
    for seed, ua, gone in zip(summary["seeds"], summary["fold_ua"], summary["collapsed"]):
        rows.setdefault(seed, []).append((ua, gone))
    return [{"seed": seed, "n": len(v), "mean": float(np.mean([u for u, _ in v])),
             "collapsed": sum(g for _, g in v)} for seed, v in sorted(rows.items())]


def seed_means_spread(spread):
    """(std, max − min) of the per-seed mean UAs, over the seeds with the most finished folds
    (a seed cut short is not a repetition of the whole cross-validation); population std, as in
    the other tables."""
    full = [r["mean"] for r in spread if r["n"] == max(r["n"] for r in spread)]
    return float(np.std(full)), float(max(full) - min(full))


def _per_corpus(runs):
    """UA per corpus over the pooled test predictions of all folds and seeds (each speaker tested
    once per seed)."""
    y_true, y_pred, corpus = [], [], []
    for r in runs:
        y_true += r["y_true"]
        y_pred += r["y_pred"]
        corpus += [s.split(":")[0] for s in r["test_speakers"]]
    y_true, y_pred, corpus = map(np.array, (y_true, y_pred, corpus))
    return {c: float(unweighted_accuracy(y_true[corpus == c], y_pred[corpus == c]))
            for c in sorted(set(corpus))}


def paired_test(a, b, pairing):
    """Two-sided Wilcoxon signed-rank test of summaries ``a`` vs ``b`` on the given pairing.

    ``pairing='speaker'`` pairs the per-speaker UAs (averaged over seeds) of every test speaker
    both were tested on; ``pairing='fold'`` pairs the UAs of the (seed, fold) tasks both ran
    (5 folds of one seed can never reach α = .01: the smallest exact two-sided p-value with 5
    pairs is 2/32 = .0625).
    """
    if pairing == "speaker":
        keys = sorted(set(a["per_speaker_ua"]) & set(b["per_speaker_ua"]))
        x = [a["per_speaker_ua"][k] for k in keys]
        y = [b["per_speaker_ua"][k] for k in keys]
    else:
        ua_a, ua_b = (dict(zip(zip(s.get("seeds", [0] * len(s["folds"])), s["folds"]),
                               s["fold_ua"])) for s in (a, b))
        keys = sorted(set(ua_a) & set(ua_b))
        x = [ua_a[k] for k in keys]
        y = [ua_b[k] for k in keys]
    d = np.subtract(x, y)
    mean_difference = float(d.mean()) if len(d) else None     # the sign says which is better
    if len(d) == 0 or not np.any(d):
        return {"pairing": pairing, "n": len(d), "statistic": None, "pvalue": 1.0 if len(d) else None,
                "method": "all differences zero" if len(d) else "no pairs",
                "mean_difference": mean_difference}
    res = wilcoxon(x, y, alternative="two-sided")
    return {"pairing": pairing, "n": int(res.n), "n_zero": int(res.n_zero),
            "statistic": float(res.statistic), "pvalue": float(res.pvalue), "method": res.method,
            "mean_difference": mean_difference}


def in_table3(row):
    """A row (task or summary) of Table 3's kernel sweep: a Table 3 method at a Table 3 depth."""
    method = methods.find(row["method"])
    return method is not None and method.table3 is not None \
        and row["kwargs"].get("depth") in method.table3["depths"]


def table3_rows(rows):
    """Table 3: a summary per kernel of the sweep, over the seeds every kernel ran.

    Best and worst over 15 folds are not comparable with best and worst over 5, so when seeds 1
    and 2 were run for some kernels only, Table 3 keeps the seeds all of them share.

    Parameters
    ----------
    rows : {(method, config): [task, ...]}, as :func:`group` returns

    Returns
    -------
    list of the :func:`summarise` of each Table 3 row on the shared seeds (on all of them when
    the kernels share none); empty when the run has no Table 3 row.
    """
    sweep = [runs for runs in rows.values() if in_table3(runs[0])]
    if not sweep:
        return []
    seeds = [{r.get("seed", 0) for r in runs} for runs in sweep]
    shared = set.intersection(*seeds) or set.union(*seeds)
    return [summarise([r for r in runs if r.get("seed", 0) in shared]) for runs in sweep]


def table4_rows(summaries):
    """The rows Table 4 and the significance tests cover: the paper's Table 4 configurations.

    A 3D-CNN row whose kernel is not one of Table 4's (2x2x2, 2x2x32, 2x2x128) belongs to
    Table 3 only and is left out, so that Table 3's kernel sweep does not multiply the tests.
    A run with no Table 4 configuration at all (its own kernels only) keeps every row.
    """
    rows = [s for s in summaries if methods.find(s["method"]) is None
            or methods.get(s["method"]).in_table4(s["kwargs"])]
    return rows if any(methods.is_proposed(s["method"]) for s in rows) else summaries


def complete_rows(summaries):
    """The summaries whose every seed has all its folds finished (a half-finished row is never a
    yardstick). All folds: the most any (row, seed) has; a row with fewer seeds than another
    (seeds 1 and 2 are run for some rows only) is complete all the same."""
    counts = [[r["n"] for r in seed_spread(s)] for s in summaries]
    most = max((n for c in counts for n in c), default=0)
    return [s for s, c in zip(summaries, counts) if all(n == most for n in c)]


def best_configurations(summaries, names=None):
    """Each of ``names``' configuration with the highest mean UA among complete rows.

    ``names`` defaults to the methods of Table 5 and Figure 3 (``figure`` in
    :mod:`numser.methods`), in table order.

    Returns
    -------
    list of summary dicts, in the order of ``names``; a method without a complete row is left out.
    """
    if names is None:
        names = sorted(methods.names(figure=True), key=methods.table_rank)
    complete = complete_rows(summaries)
    best = []
    for method in names:
        rows = [s for s in complete if s["method"] == method]
        if rows:
            best.append(max(rows, key=lambda s: s["mean"]))
    return best


def significance_summary(results, alpha=ALPHA):
    """Per proposed model: the other models it beats, loses to or ties with at ``alpha``.

    A pair counts as a win (loss) when its per-speaker Wilcoxon p < alpha and the mean per-speaker
    UA difference is positive (negative); otherwise it is no significant difference.

    Returns
    -------
    dict {proposed model key: {"better": [keys], "worse": [keys], "ns": [keys]}}
    """
    out = {}
    for t in results["tests"]:
        for me, other, sign in ((t["a"], t["b"], 1), (t["b"], t["a"], -1)):
            if me not in results["proposed"]:
                continue
            sp = t["speaker"]
            row = out.setdefault(me, {"better": [], "worse": [], "ns": []})
            if sp["pvalue"] is not None and sp["pvalue"] < alpha and sp["mean_difference"]:
                row["better" if sign * sp["mean_difference"] > 0 else "worse"].append(other)
            else:
                row["ns"].append(other)
    return out


def build_results(out):
    """Summaries and significance tests of a run folder, as one JSON-able dict."""
    tasks = load_tasks(out)
    settings = {}
    run_json = os.path.join(out, "run.json")
    if os.path.exists(run_json):
        settings = read_json(run_json, "run settings file")
        require(isinstance(settings, dict), run_json, "damaged run settings file: not a JSON object")
    rows = group(tasks)
    summaries = [summarise(runs) for runs in rows.values()]
    table3 = table3_rows(rows)
    table4 = table4_rows(summaries)
    proposed = [s for s in table4 if methods.is_proposed(s["method"])]
    complete = complete_rows(proposed)
    reference = max(complete, key=lambda s: s["mean"]) if complete else None
    tests, seen = [], set()
    for p in proposed:
        for other in table4:
            if other is p or (row_key(other), row_key(p)) in seen:
                continue
            seen.add((row_key(p), row_key(other)))
            tests.append({"a": row_key(p), "b": row_key(other),
                          "speaker": paired_test(p, other, "speaker"),
                          "fold": paired_test(p, other, "fold")})
    _holm_adjust([t["speaker"] for t in tests])
    return {"settings": settings, "summaries": summaries,
            "table3": table3,
            "reference": row_key(reference) if reference else None, "tests": tests,
            "proposed": [row_key(p) for p in proposed],
            "table4_rows": [row_key(s) for s in table4],
            "figure_rows": [row_key(s) for s in best_configurations(table4)],
            "n_tasks": len(tasks), "time": run_time(tasks), "commits": commits(tasks),
            "machines": machines(tasks),
            "loco": loco_results(tasks, summaries)}


def _holm_adjust(results):
    """Add ``p_holm`` to each test result: its p-value adjusted by Holm's method over the family
    of all of them that have a p-value (None for the others), so that 'significant' can also be
    read with the chance of any false positive among the many tests held at alpha."""
    tested = [r for r in results if r["pvalue"] is not None]
    for r, adjusted in zip(tested, holm([r["pvalue"] for r in tested])):
        r["p_holm"] = float(adjusted)
    for r in results:
        r.setdefault("p_holm", None)


def commits(tasks):
    """[[git commit, number of tasks], ...] that computed the tasks, by first finished task
    ('unknown' where a task file has none: not run from a git checkout)."""
    return _tally(tasks, lambda t: t.get("git_commit") or "unknown")


def machines(tasks):
    """[["llvm_cpu (cpu, N cores)", number of tasks], ...], by first finished task ('not
    recorded' for task files written before numser recorded it)."""
    def name(task):
        m = task.get("machine")
        return f"{m['llvm_cpu']} ({m['cpu']}, {m['cores']} cores)" if m else "not recorded"
    return _tally(tasks, name)


def _tally(tasks, value):
    """[[value, count], ...] of ``value(task)`` over the tasks, in the order they finished."""
    counts = {}
    for t in sorted(tasks, key=lambda t: t.get("finished", "")):
        counts[value(t)] = counts.get(value(t), 0) + 1
    return [[v, n] for v, n in counts.items()]


def loco_results(tasks, summaries):
    """The leave-one-corpus-out table: UA per held-out corpus, their mean, WA, macro-F1, tests.

    Per (method, configuration): ``ua[c]`` is the mean test UA over the seeds of the tasks that
    held out corpus c; ``mean`` the mean of ``ua`` over the held-out corpora (None until every
    corpus has a task); ``wa`` and ``macro_f1`` the means over all its tasks. ``tests`` pairs
    every two rows by test speaker (each speaker is tested once per seed, in its corpus's task),
    as the pooled protocol's significance tests do.
    """
    loco = [t for t in tasks if t.get("protocol") == "loco"]
    if not loco:
        return None
    corpora = sorted({t["held_out"] for t in loco})
    by_key = {row_key(s): s for s in summaries}
    rows = []
    for (method, config), runs in group(loco).items():
        ua = {c: float(np.mean([r["test_ua"] for r in runs if r["held_out"] == c]))
              for c in corpora if any(r["held_out"] == c for r in runs)}
        rows.append({"key": f"{method} ({config})", "method": method, "config": config,
                     "ua": ua, "mean": float(np.mean(list(ua.values())))
                     if len(ua) == len(corpora) else None,
                     "wa": float(np.mean([r["wa"] for r in runs])),
                     "macro_f1": float(np.mean([r["macro_f1"] for r in runs])),
                     "n_tasks": len(runs), "seeds": sorted({r["seed"] for r in runs})})
    tests = [{"a": a["key"], "b": b["key"],
              "speaker": paired_test(by_key[a["key"]], by_key[b["key"]], "speaker")}
             for i, a in enumerate(rows) for b in rows[i + 1:]]
    return {"corpora": corpora, "rows": rows, "tests": tests}


def row_key(s):
    """A row's name in the tables and the tests: ``method (configuration)``."""
    return f"{s['method']} ({s['config']})"


def collapse_warnings(out):
    """One line per row of ``out/results.json`` with collapsed tasks: class and what to try."""
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        results = json.load(f)
    return [f"{row_key(s)} collapsed in {s['n_collapsed']} of {len(s['folds'])} tasks (≥ 95 % of "
            f"the test utterances predicted '{s['collapsed_class']}', UA near chance); try a "
            f"gentler start: --recipe stable (lr 1e-3 with a warm-up; docs/training.md)"
            for s in results["summaries"] if s.get("n_collapsed")]

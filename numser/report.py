"""The paper's tables and figures from a run's task JSON files (docs/spec.md §6): ``python -m numser.report DIR``.

Reads ``DIR/tasks/*.json`` (one per method, configuration, fold and seed, as written by
:mod:`numser.cv`) and writes ``DIR/results.json``, ``DIR/tables.md`` and PNG figures:
Table 3 (best / worst / mean ± std UA over folds per kernel, collapsed folds), Table 4 (method,
configuration, parameters, UA, WA and macro-F1 mean ± std over all folds of all seeds, collapsed
folds, Wilcoxon p against the best proposed model), per-corpus UA, the seed spread (each seed's
mean UA, when a row ran with several), the significance tests with the pairing each used,
Table 5 (row-normalised confusion matrices in %), cost, Figure 3 (t-SNE) and UA per fold and per
speaker. A damaged task file is reported and left out, never mixed in.

Table 5 and Figure 3 show the paper's four methods (``figure`` in :mod:`numser.methods`), each in its
configuration with the best mean UA (:func:`best_configurations`); ``confusion.png`` and the
``tsne_*.png`` files cover every row.
"""
import argparse
import glob
import json
import os
import sys
from datetime import datetime

import numpy as np

from numser import CLASSES, methods
from numser.methods import PAPER_TABLE3, TABLE3_KERNELS
from numser.atomic import atomic_open, write_json, write_text
from numser.cli import run_command
from numser.errors import FileFormatError, ParameterError
from numser.models import check_config
from numser.metrics import row_normalised, task_scores, unweighted_accuracy
from numser.readers import read_json, require
from numser.stats import wilcoxon
from numser.taskfile import read_task as check_task

#: Figure 3's colours (the paper's caption): neutral green, happy orange, sad blue, angry red.
COLOURS = {"neutral": "tab:green", "happy": "tab:orange", "sad": "tab:blue", "angry": "tab:red"}
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


def _paper_cell(value):
    """The paper's UA as printed: mean ± std, or the mean alone; '–' when it has none."""
    if value is None:
        return "–"
    mean, std = value
    return f"{mean:.3f}" + (f" ± {std:.2f}" if std is not None else "")


def train_seconds(run):
    """Training time of one task, the epochs of an interrupted earlier process included.

    Task files written before ``resumed_after_epoch`` existed count only the process that
    finished the task in ``seconds_train``; their history still holds every epoch's time.
    """
    return max(run["seconds_train"], sum(h["seconds"] for h in run["history"]))


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
    busy = sum(max(0.0, train_seconds(t) + t["seconds_eval"] - paused(*span))
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
    """UA per corpus over the pooled test predictions of all folds (each speaker tested once)."""
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
    """The summaries with the most folds finished (a half-finished row is never a yardstick)."""
    most = max((len(s["folds"]) for s in summaries), default=0)
    return [s for s in summaries if len(s["folds"]) == most]


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
    summaries = [summarise(runs) for runs in group(tasks).values()]
    table4 = table4_rows(summaries)
    proposed = [s for s in table4 if methods.is_proposed(s["method"])]
    complete = complete_rows(proposed)
    reference = max(complete, key=lambda s: s["mean"]) if complete else None
    tests, seen = [], set()
    for p in proposed:
        for other in table4:
            if other is p or (_key(other), _key(p)) in seen:
                continue
            seen.add((_key(p), _key(other)))
            tests.append({"a": _key(p), "b": _key(other),
                          "speaker": paired_test(p, other, "speaker"),
                          "fold": paired_test(p, other, "fold")})
    return {"settings": settings, "summaries": summaries,
            "reference": _key(reference) if reference else None, "tests": tests,
            "proposed": [_key(p) for p in proposed],
            "table4_rows": [_key(s) for s in table4],
            "figure_rows": [_key(s) for s in best_configurations(table4)],
            "n_tasks": len(tasks), "time": run_time(tasks), "commits": commits(tasks),
            "machines": machines(tasks),
            "loco": loco_results(tasks, summaries)}


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
    by_key = {_key(s): s for s in summaries}
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


def _loco_lines(loco):
    corpora = loco["corpora"]
    lines = ["## Leave one corpus out — UA on each held-out corpus", "",
             "Each column: trained on the other corpora (validation: 20 % of each training "
             "corpus's speakers), tested on every speaker of that corpus. Mean: over the held-out "
             "corpora. WA and macro-F1: mean over the tasks. Several seeds are averaged. The "
             "tables below treat each held-out corpus as a fold.", "",
             "| method | configuration | " + " | ".join(corpora) + " | mean UA | WA | macro-F1 |"
             " tasks |", "|---|---|" + "---|" * (len(corpora) + 4)]
    for r in loco["rows"]:
        cells = [f"{r['ua'][c]:.3f}" if c in r["ua"] else "–" for c in corpora]
        mean = "–" if r["mean"] is None else f"{r['mean']:.3f}"
        lines.append(f"| {r['method']} | {r['config']} | " + " | ".join(cells)
                     + f" | {mean} | {r['wa']:.3f} | {r['macro_f1']:.3f} | {r['n_tasks']} |")
    if loco["tests"]:
        lines += ["", "Between methods: two-sided Wilcoxon signed-rank tests on the per-speaker UAs "
                  f"of every held-out speaker (averaged over seeds), α = {ALPHA:g}; ΔUA: mean "
                  "over the speakers of model − vs.", "",
                  "| model | vs | n (speakers) | ΔUA | p (speakers) | method |",
                  "|---|---|---|---|---|---|"]
        for t in loco["tests"]:
            sp = t["speaker"]
            delta = "–" if sp.get("mean_difference") is None else f"{sp['mean_difference']:+.3f}"
            lines.append(f"| {t['a']} | {t['b']} | {sp['n']} | {delta} | "
                         f"{_fmt_p(sp['pvalue'])} | {sp['method']} |")
    return lines + [""]


def _key(s):
    return f"{s['method']} ({s['config']})"


def _fmt_p(p):
    if p is None:
        return "–"
    return f"{p:.2g}" + (" *" if p < ALPHA else "")


def _folds_cell(s):
    """Tasks of a row: ``5``, or ``15 (3 seeds)`` when it has several seeds."""
    n = len(s["folds"])
    return f"{n}" if s.get("n_seeds", 1) <= 1 else f"{n} ({s['n_seeds']} seeds)"


def _collapsed_cell(s):
    """Collapsed tasks of a row and the class they predict: ``0/5``, ``3/5 neutral``."""
    k = s.get("n_collapsed", 0)
    return f"{k}/{len(s['folds'])}" + (f" {s['collapsed_class']}" if k else "")


def _seeds_phrase(results):
    n = max((s.get("n_seeds", 1) for s in results["summaries"]), default=1)
    return "all folds" if n <= 1 else f"all folds of all {n} seeds"


def _run_line(settings):
    seeds = settings.get("seeds", [settings.get("seed")])
    return [f"Run: corpora {', '.join(settings.get('corpora', []))}; "
            f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}; "
            + ("leave one corpus out; " if settings.get("protocol") == "loco"
               else f"{settings.get('folds')} speaker-independent folds; ")
            + f"{settings.get('n_utterances')} utterances; at most {settings.get('epochs')} "
            f"epochs (patience {settings.get('patience')}); {_recipe(settings)}"
            + (f"; training on {settings['train_fraction']:.0%} of each fold's training speakers"
               if settings.get("train_fraction", 1.0) < 1.0 else "") + ".", ""]


def _recipe(settings):
    """'recipe paper (lr 0.003)': runs from before --recipe existed used the paper's."""
    return f"recipe {settings.get('recipe', 'paper')} (lr {settings.get('lr', 3e-3):g})"


def _table3_lines(results):
    table3 = [s for s in results["summaries"] if _in_table3(s)]
    if not table3:
        return []
    lines = [f"## Table 3 — 3D-CNN-DNN (depth 3) by kernel (L x T x S), UA over "
             f"{_seeds_phrase(results)}", "",
             "paper: the paper's Table 3 (best / worst / mean ± std over its folds).", "",
             "| kernel | best | worst | mean ± std | paper | folds | collapsed |",
             "|---|---|---|---|---|---|---|"]
    for s in table3:
        kernel = tuple(s["kwargs"]["kernel"])
        paper = PAPER_TABLE3.get(kernel)
        paper = "–" if paper is None else "{:.3f} / {:.3f} / {:.3f} ± {:.2f}".format(*paper)
        lines.append(f"| {'x'.join(map(str, kernel))} | {s['best']:.3f} | {s['worst']:.3f} | "
                     f"{s['mean']:.3f} ± {s['std']:.3f} | {paper} | {_folds_cell(s)} | "
                     f"{_collapsed_cell(s)} |")
    return lines + ["", COLLAPSE_NOTE, ""]


def _in_table3(summary):
    """A row of Table 3's kernel sweep: a Table 3 method at one of Table 3's depths."""
    method = methods.find(summary["method"])
    return method is not None and method.table3 is not None \
        and summary["kwargs"].get("depth") in method.table3["depths"]


COLLAPSE_NOTE = ("collapsed: tasks whose test predictions put ≥ 95 % of the utterances in one "
                 "class (the class most of them predict): their UA measures no learning.")


def _table4_lines(results):
    s_all = results["summaries"]
    tests = {(t["a"], t["b"]): t for t in results["tests"]}
    ref = results["reference"]
    lines = ["## Table 4 — UA of the speaker-independent experiments "
             f"({_recipe(results['settings'])})", "",
             f"Mean ± std over {_seeds_phrase(results)}. WA: overall accuracy; macro-F1: mean F1 "
             "over the classes present.", ""]
    if len(results["table4_rows"]) < len(s_all):
        lines += ["The paper's Table 4 configurations only: Table 3's other kernels are in Table 3, "
                  "per corpus and in the cost table, not in Table 4 or the significance tests.", ""]
    if ref:
        lines += [f"p: two-sided Wilcoxon signed-rank test against the best proposed model ({ref}), "
                  "paired over the per-speaker UAs of every test speaker (* = p < .01); p (folds) "
                  "pairs the fold UAs, which with 5 folds can never go below 2/32 = .0625.", ""]
    else:
        lines += ["No proposed model (3D-CNN) in this run: no significance tests.", ""]
    lines += ["paper UA: the paper's Table 4 (mean ± std over its folds).", "",
              "| method | configuration | parameters | paper (K) | UA mean ± std | paper UA | "
              "WA mean ± std | macro-F1 mean ± std | folds | collapsed | p | p (folds) |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in (s for s in s_all if _key(s) in results["table4_rows"]):
        t = tests.get((ref, _key(s))) or tests.get((_key(s), ref))
        none = "ref." if _key(s) == ref else "–"
        lines.append(f"| {s['method']} | {s['config']} | {s['n_params']:,} | "
                     f"{s['paper_params_k'] or '–'} | {s['mean']:.3f} ± {s['std']:.3f} | "
                     f"{_paper_cell(s.get('paper_ua'))} | {s['wa_mean']:.3f} ± {s['wa_std']:.3f} | "
                     f"{s['macro_f1_mean']:.3f} ± {s['macro_f1_std']:.3f} | "
                     f"{_folds_cell(s)} | {_collapsed_cell(s)} | "
                     f"{_fmt_p(t['speaker']['pvalue']) if t else none} | "
                     f"{_fmt_p(t['fold']['pvalue']) if t else none} |")
    if any(s.get("n_collapsed") for s in s_all):
        lines += ["", COLLAPSE_NOTE]
    return lines


def _significance_lines(results):
    if not results["tests"]:
        return []
    by_key = {_key(s): s for s in results["summaries"]}
    lines = ["", "## Significance — every proposed model against every other model", "",
             f"Summary: how many baselines and other proposed models each proposed model "
             f"beats (per-speaker p < {ALPHA:g} and a higher mean per-speaker UA), loses to, "
             "or does not differ from significantly (names given for up to three). collapsed: "
             "its tasks that predicted one class for ≥ 95 % of the test utterances.", "",
             "| proposed model | beats baselines | loses to baselines | n.s. baselines | "
             "beats proposed | loses to proposed | n.s. proposed | collapsed |",
             "|---|---|---|---|---|---|---|---|"]
    proposed = set(results["proposed"])
    for me, row in significance_summary(results).items():
        cells = []
        for group in (lambda k: k not in proposed, lambda k: k in proposed):
            for outcome in ("better", "worse", "ns"):
                keys = [k for k in row[outcome] if group(k)]
                cells.append(f"{len(keys)}" + (f": {'; '.join(keys)}" if 0 < len(keys) <= 3
                                               and outcome != "ns" else ""))
        lines.append(f"| {me} | " + " | ".join(cells) + f" | {_collapsed_cell(by_key[me])} |")
    collapsed = [s for s in results["summaries"] if _key(s) in results["table4_rows"]
                 and s.get("n_collapsed")]
    lines += ["", "Collapsed models (a win against one, or a loss to one, says little): " + (
        "; ".join(f"{_key(s)} in {_collapsed_cell(s)}" for s in collapsed) if collapsed
        else "none.")]
    lines += ["",
              "Two-sided Wilcoxon signed-rank tests, α = .01. 'speakers': pairs are the "
              "per-speaker UAs of every test speaker, averaged over the seeds (n pairs, zero "
              "differences dropped as SciPy's default); 'folds': pairs are the UAs of the "
              "(seed, fold) tasks (5 pairs: smallest possible p = .0625, so never significant "
              "at .01).", "",
              "ΔUA: mean over the paired speakers of model − vs (positive: the model is better).",
              "", "| model | vs | n (speakers) | ΔUA | p (speakers) | method | p (folds) |",
              "|---|---|---|---|---|---|---|"]
    for t in results["tests"]:
        sp, fo = t["speaker"], t["fold"]
        delta = "–" if sp.get("mean_difference") is None else f"{sp['mean_difference']:+.3f}"
        lines.append(f"| {t['a']} | {t['b']} | {sp['n']} | {delta} | {_fmt_p(sp['pvalue'])} | "
                     f"{sp['method']} | {_fmt_p(fo['pvalue'])} |")
    return lines


def collapse_warnings(out):
    """One line per row of ``out/results.json`` with collapsed tasks: class and what to try."""
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        results = json.load(f)
    return [f"{_key(s)} collapsed in {s['n_collapsed']} of {len(s['folds'])} tasks (≥ 95 % of "
            f"the test utterances predicted '{s['collapsed_class']}', UA near chance); try a "
            f"gentler start: --recipe stable (lr 1e-3 with a warm-up; docs/training.md)"
            for s in results["summaries"] if s.get("n_collapsed")]


def tables_markdown(results):
    """Table 3, Table 4, per-corpus UA, significance, Table 5 and cost as Markdown."""
    s_all = results["summaries"]
    lines = _run_line(results["settings"]) if results["settings"] else []
    if results.get("loco"):
        lines += _loco_lines(results["loco"])
    lines += _table3_lines(results) + _table4_lines(results)
    corpora = sorted({c for s in s_all for c in s["per_corpus_ua"]})
    if len(corpora) > 1:
        lines += ["", "## UA per corpus (pooled test predictions of all folds)", "",
                  "| method | configuration | " + " | ".join(corpora) + " |",
                  "|---|---|" + "---|" * len(corpora)]
        for s in s_all:
            lines.append(f"| {s['method']} | {s['config']} | " + " | ".join(
                f"{s['per_corpus_ua'].get(c, float('nan')):.3f}" for c in corpora) + " |")
    lines += _seed_lines(s_all)
    lines += _significance_lines(results)
    figure_rows = [s for s in s_all if _key(s) in results.get("figure_rows", [])]
    others = [s for s in s_all if s not in figure_rows]
    lines += ["", "## Table 5 — confusion matrices (%, rows: true class, summed over folds)", "",
              "The paper's four methods, each in its configuration with the best mean UA.", ""]
    lines += _confusion_tables(figure_rows)
    if others:
        lines += ["## Confusion matrices of the other rows", ""] + _confusion_tables(others)
    lines += ["## Cost (seconds, summed over folds)", ""]
    if results.get("time"):
        t = results["time"]
        lines += [f"{t['n_tasks']} tasks: {t['task_seconds'] / 3600:.2f} h of task time (training "
                  f"and evaluation, summed over tasks), {t['wall_seconds'] / 3600:.2f} h of wall "
                  "time (while at least one task ran).", ""]
    for what, key in (("Code: the tasks ran on git commit", "commits"),
                      ("Machines: the tasks ran on", "machines")):
        if results.get(key):
            lines += [f"{what} " + ", ".join(f"{v} ({n} task{'s' * (n > 1)})" for v, n in
                                            results[key]) + ", in the order first used.", ""]
    lines += ["| method | configuration | train | evaluate | best epochs |", "|---|---|---|---|---|"]
    for s in s_all:
        lines.append(f"| {s['method']} | {s['config']} | {s['seconds_train']:.0f} | "
                     f"{s['seconds_eval']:.0f} | {', '.join(map(str, s['best_epochs']))} |")
    return "\n".join(lines) + "\n"


def _seed_lines(summaries):
    """The seed spread of the rows run with several seeds (none when every row has one)."""
    rows = [s for s in summaries if s.get("n_seeds", 1) > 1]
    if not rows:
        return []
    seeds = sorted({seed for s in rows for seed in s["seeds"]})
    lines = ["", "## Seed spread — UA of each repetition of the cross-validation", "",
             "Each seed draws its own speaker split, initial weights, dropout masks and batch "
             "order: its column is the mean UA over its folds (collapsed folds in "
             "brackets). std and range: of the seed means (seeds with every fold only).", "",
             "| method | configuration | " + " | ".join(f"seed {k}" for k in seeds)
             + " | std | range |", "|---|---|" + "---|" * (len(seeds) + 2)]
    for s in rows:
        spread = {r["seed"]: r for r in seed_spread(s)}
        std, width = seed_means_spread(list(spread.values()))
        cells = []
        for k in seeds:
            r = spread.get(k)
            cells.append("–" if r is None else f"{r['mean']:.3f}"
                         + (f" ({r['collapsed']})" if r["collapsed"] else "")
                         + (f", {r['n']} folds" if r["n"] != max(x["n"] for x in spread.values())
                            else ""))
        lines.append(f"| {s['method']} | {s['config']} | " + " | ".join(cells)
                     + f" | {std:.3f} | {width:.3f} |")
    return lines


def _confusion_tables(summaries):
    """Row-normalised confusion matrices (%) as Markdown tables, one per summary."""
    abbrev = [c[0].upper() for c in CLASSES]
    lines = []
    for s in summaries:
        cm = row_normalised(np.array(s["confusion"]))
        lines += [f"**{s['method']} ({s['config']})**", "",
                  "| | " + " | ".join(abbrev) + " |", "|---|" + "---|" * len(abbrev)]
        for a, row in zip(abbrev, cm):
            lines.append(f"| {a} | " + " | ".join("–" if np.isnan(v) else f"{v:.0f}"
                                                  for v in row) + " |")
        lines.append("")
    return lines


def _pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no display).

    Imported here, not at the top: pyplot takes about a second to import, which every
    ``python -m numser.cv`` (it imports this module), even ``--help``, would pay at start-up.
    """
    import matplotlib                        # (lazy: start-up time, as said above)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt          # after use("Agg"): no display needed
    return plt


def _confusion_figure(summaries, cols=4):
    """A grid of row-normalised confusion matrices (%), one panel per summary."""
    plt = _pyplot()
    n = len(summaries)
    cols = min(cols, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    for ax, s in zip(axes.flat, summaries):
        cm = row_normalised(np.array(s["confusion"]))
        ax.imshow(np.nan_to_num(cm), vmin=0, vmax=100, cmap="Blues")
        for i in range(4):
            for j in range(4):
                if not np.isnan(cm[i, j]):
                    ax.text(j, i, f"{cm[i, j]:.0f}", ha="center", va="center",
                            color="white" if cm[i, j] > 50 else "black", fontsize=8)
        ax.set_xticks(range(4), [c[0].upper() for c in CLASSES])
        ax.set_yticks(range(4), [c[0].upper() for c in CLASSES])
        ax.set_title(f"{s['method']}\n{s['config']}", fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def _tsne_panel(ax, task):
    """Scatter one task's 2-D t-SNE embedding of its test utterances, coloured by true class."""
    xy = np.array(task["tsne"])
    y = np.array(task["y_true"])
    for k, name in enumerate(CLASSES):
        ax.scatter(xy[y == k, 0], xy[y == k, 1], s=8, c=COLOURS[name], label=name)
    ax.set_title(f"{task['method']} ({task['config']}), test fold {task['fold']}", fontsize=8)
    ax.legend(fontsize=7, markerscale=2)
    ax.set_xticks([])
    ax.set_yticks([])


def write_figures(out, results, tasks):
    """Confusion matrices, t-SNE (Figure 3) and UA per fold / speaker as PNG files in ``out``.

    ``table5_confusion.png`` and ``figure3_tsne.png`` hold the paper's four methods (best
    configuration each); ``confusion.png`` and ``tsne_<row>.png`` every row.
    """
    plt = _pyplot()
    s_all = results["summaries"]
    figure_rows = [s for s in s_all if _key(s) in results.get("figure_rows", [])]
    written = []
    if s_all:
        written.append(_save(_confusion_figure(s_all), out, "confusion.png"))
    if figure_rows:
        written.append(_save(_confusion_figure(figure_rows), out, "table5_confusion.png"))
    if s_all:
        n = len(s_all)
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 0.9 + 0.35 * n), sharey=True)
        for i, s in enumerate(s_all):
            ax1.scatter(s["fold_ua"], [i] * len(s["fold_ua"]), s=18)
            ax1.plot([s["mean"]], [i], "k|", ms=12)
            sp = list(s["per_speaker_ua"].values())
            ax2.scatter(sp, i + np.random.default_rng(i).uniform(-.25, .25, len(sp)), s=6,
                        alpha=.6)
        ax1.set_yticks(range(n), [_key(s) for s in s_all], fontsize=7)
        ax1.set_xlabel("UA per fold (| = mean)")
        ax2.set_xlabel("UA per test speaker")
        for ax in (ax1, ax2):
            ax.axvline(0.25, color="grey", lw=.8, ls="--")
        fig.tight_layout()
        written.append(_save(fig, out, "ua.png"))

    with_tsne = [t for t in tasks if "tsne" in t]
    for t in with_tsne:
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        _tsne_panel(ax, t)
        fig.tight_layout()
        written.append(_save(fig, out, f"tsne_{t['task'].rsplit('__fold', 1)[0]}.png"))
    figure3 = [t for key in results.get("figure_rows", []) for t in with_tsne if _key(t) == key]
    if figure3:
        cols = min(2, len(figure3))
        rows = (len(figure3) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 4.5 * rows), squeeze=False)
        for ax, t in zip(axes.flat, figure3):
            _tsne_panel(ax, t)
        for ax in list(axes.flat)[len(figure3):]:
            ax.axis("off")
        fig.tight_layout()
        written.append(_save(fig, out, "figure3_tsne.png"))
    return written


def _save(fig, out, name):
    plt = _pyplot()
    path = os.path.join(out, name)
    with atomic_open(path) as f:
        fig.savefig(f, dpi=110, format="png")
    plt.close(fig)
    return path


def write_report(out, figures=True):
    """Write results.json, tables.md and (``figures``) the figures of run folder ``out``; return
    the Markdown."""
    results = build_results(out)
    write_json(os.path.join(out, "results.json"), results)
    md = tables_markdown(results)
    write_text(os.path.join(out, "tables.md"), md)
    if figures:
        write_figures(out, results, load_tasks(out, warn=False))
    return md


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m numser.report",
                                description="Rebuild tables.md, results.json and the figures of a "
                                            "numser.cv run folder from its task JSON files.")
    p.add_argument("out", help="the --out folder of a numser.cv run")
    p.add_argument("--no-figures", action="store_true",
                   help="tables.md and results.json only (the tables of a run in progress, in a "
                        "second; the figures stay as they were)")
    args = p.parse_args(argv)
    return run_command("report", lambda: _main(args))


def _main(args):
    require_run_folder(args.out)
    print(write_report(args.out, figures=not args.no_figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Two runs side by side: what changing one setting does to every row they share.

``python -m numser.compare A B`` reads two run folders (``numser.cv --out``) that differ in one
setting — ``--recipe paper`` against ``--recipe stable``, or the pooled protocol against
``--protocol loco`` — and, for each (method, configuration) both hold, compares them on the
seeds both ran for that row:

    ΔUA = mean over the test speakers s both runs tested of (UA_B(s) − UA_A(s))

with UA(s) a speaker's UA averaged over those seeds, and the two-sided Wilcoxon signed-rank test
of the same differences (:func:`numser.results.paired_test`, α = .01). Every speaker is tested
once per seed in each protocol, so the pairing holds across protocols and across speaker splits
too (two runs on different corpora compare on the speakers both tested); it is fairest when
both runs used the same speaker split (``--folds-from``), which the header says. A row whose
models differ between the runs (another parameter count: the same label, another network) is
not compared but named under the table.
"""
import argparse
import os
import sys

from numser.atomic import write_text
from numser.cli import run_command
from numser.errors import ParameterError
from numser.readers import read_json
from numser.results import (ALPHA, group, load_tasks, paired_test, require_run_folder,
                            summarise)
from numser.tables import format_p


def _shared(tasks_a, tasks_b, split_differs=False):
    """The tasks of each run that the other run matches: the (seed, fold) both finished when a
    (seed, fold) tests the same speakers in both (one protocol, not ``split_differs``); else
    every task of the seeds both ran."""
    same_folds = not split_differs and \
        {t["protocol"] for t in tasks_a} == {t["protocol"] for t in tasks_b}
    key = (lambda t: (t["seed"], t["fold"])) if same_folds else (lambda t: t["seed"])
    both = {key(t) for t in tasks_a} & {key(t) for t in tasks_b}
    return [[t for t in tasks if key(t) in both] for tasks in (tasks_a, tasks_b)]


def compare_runs(run_a, run_b):
    """One dict per (method, configuration) in both runs, in run A's order.

    Keys: ``method``, ``config``, ``seeds`` (those both ran), ``a`` and ``b`` (the
    :func:`numser.results.summarise` of each run's matching tasks, :func:`_shared`), ``test``
    (the per-speaker paired test of b against a: ``n`` non-zero and ``n_zero`` zero differences,
    ``mean_difference`` = ΔUA over both, ``pvalue``) and ``same_model`` (both runs' networks have
    the same parameter count; when not, the row is not a comparison of one model).
    """
    rows_a, rows_b = (group(load_tasks(run)) for run in (run_a, run_b))
    return compare_groups(rows_a, rows_b, same_split(run_a, run_b) is False)


def compare_groups(rows_a, rows_b, split_differs=False):
    """:func:`compare_runs` of two runs' tasks already loaded and grouped
    (:func:`numser.results.group`); ``split_differs``: the runs' speaker splits differ."""
    rows = []
    for key, tasks_a in rows_a.items():
        shared_a, shared_b = _shared(tasks_a, rows_b.get(key, []), split_differs)
        if not shared_a or not shared_b:
            continue
        a, b = summarise(shared_a), summarise(shared_b)
        rows.append({"method": key[0], "config": key[1],
                     "seeds": sorted({t["seed"] for t in shared_a}), "a": a, "b": b,
                     "test": paired_test(b, a, "speaker"),
                     "same_model": a["n_params"] == b["n_params"]})
    return rows


def same_split(run_a, run_b):
    """Whether the two runs share their speaker split: False when their ``run.json`` name other
    data (utterance counts) or another split digest for a seed both ran, True when the digests
    agree, None when the files do not tell."""
    settings = []
    for run in (run_a, run_b):
        path = os.path.join(run, "run.json")
        if not os.path.exists(path):
            return None
        settings.append(read_json(path, "run settings file"))
    if all("n_utterances" in s for s in settings) and \
            settings[0]["n_utterances"] != settings[1]["n_utterances"]:
        return False
    digests = [s.get("split") or {} for s in settings]
    shared = set(digests[0]) & set(digests[1])
    return all(digests[0][k] == digests[1][k] for k in shared) if shared else None


def _ua_cell(s):
    gone = f", {s['n_collapsed']} collapsed" if s["n_collapsed"] else ""
    return f"{s['mean']:.3f} ± {s['std']:.3f} ({len(s['folds'])}{gone})"


def compare_markdown(rows, name_a, name_b, split=None):
    """The rows as a Markdown table with a header saying what ΔUA and p mean."""
    note = {True: "Both runs used the same speaker split.",
            False: "The runs' speaker splits differ: each speaker is paired with itself, but "
                   "it was trained on other speakers in each.",
            None: "Whether the runs share their speaker split is unknown (no run.json digest)."}
    lines = [f"UA mean ± std over the tasks both runs finished (the same seeds and folds; for "
             f"two protocols, the same seeds), their number and the collapsed ones (≥ 95 % of "
             f"the test utterances in one class). ΔUA: mean over the test speakers of "
             f"{name_b} − {name_a}; equal: the speakers scoring the same in both, which the test "
             f"leaves out; p: two-sided Wilcoxon signed-rank test of the differences "
             f"(* = p < {ALPHA:g}). {note[split]}", "",
             f"| method | configuration | seeds | {name_a} UA | {name_b} UA | ΔUA | speakers "
             f"| equal | p |", "|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r["same_model"]):
        t = r["test"]
        delta = "–" if t["mean_difference"] is None else f"{t['mean_difference']:+.3f}"
        # n counts the non-zero differences, except when all are zero (then n_zero is absent)
        equal = t.get("n_zero", t["n"])
        speakers = t["n"] + t.get("n_zero", 0)
        lines.append(f"| {r['method']} | {r['config']} | {', '.join(map(str, r['seeds']))} | "
                     f"{_ua_cell(r['a'])} | {_ua_cell(r['b'])} | {delta} | {speakers} | "
                     f"{equal} | {format_p(t['pvalue'])} |")
    differ = [f"{r['method']} ({r['config']}): {r['a']['n_params']:,} parameters in {name_a}, "
              f"{r['b']['n_params']:,} in {name_b}" for r in rows if not r["same_model"]]
    if differ:
        lines += ["", "Not compared, the same label naming other networks in the two runs: "
                  + "; ".join(differ) + "."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m numser.compare",
        description="Compare two numser.cv run folders row by row: UA of each, the mean "
                    "per-speaker difference B − A and its Wilcoxon signed-rank p-value.",
        epilog="example: python -m numser.compare runs/paper runs/stable --names paper,stable "
               "--out runs/stable/vs_paper.md")
    parser.add_argument("run_a", metavar="A", help="run folder (with tasks/*.json)")
    parser.add_argument("run_b", metavar="B", help="run folder compared with A (ΔUA = B − A)")
    parser.add_argument("--names", metavar="A,B",
                        help="column names of the two runs (default: the folder names)")
    parser.add_argument("--out", metavar="FILE", help="also write the table to FILE (atomically)")
    args = parser.parse_args(argv)
    return run_command("compare", lambda: _main(args))


def _main(args):
    for run in (args.run_a, args.run_b):
        require_run_folder(run)
    names = [os.path.basename(os.path.normpath(r)) for r in (args.run_a, args.run_b)]
    if args.names:
        names = [n.strip() for n in args.names.split(",")]
        if len(names) != 2 or not all(names):
            raise ParameterError(f"--names {args.names!r}: expected two names, e.g. paper,stable")
    rows = compare_runs(args.run_a, args.run_b)
    if not rows:
        raise ParameterError(f"{args.run_a} and {args.run_b} share no (method, configuration) "
                             f"with a common seed: nothing to compare")
    table = compare_markdown(rows, *names, split=same_split(args.run_a, args.run_b))
    if args.out:
        write_text(args.out, table)
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

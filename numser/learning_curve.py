"""A learning curve: test UA against the number of training utterances.

The points come from run folders that differ only in ``--train-fraction`` (docs/cv.md): each
fold's test and validation speakers are the same in all of them, and the training speakers of a
smaller fraction are a subset of those of a larger one. For every (method, configuration) found in
two or more fractions, a point is

    x = mean over folds of n_train,   y = mean over folds of the test UA,   error bar = its std,

with one point per fraction. ``python -m numser.learning_curve RUN RUN ... --out DIR`` writes
``learning_curve.md`` (the table) and ``learning_curve.png`` (the figure) into DIR; with
``--no-figures``, the table only.
"""
import argparse
import os
import sys

import numpy as np

from numser.atomic import atomic_open, write_text
from numser.cli import run_command
from numser.errors import ParameterError
from numser.figures import pyplot
from numser.results import group, load_tasks, require_run_folder


def curve_points(run_dirs):
    """{(method, config): [point, ...]} over the runs, points sorted by training fraction.

    A point is a dict: ``fraction``, ``n_train`` (mean over folds), ``ua`` and ``ua_std`` (mean
    and population std of the folds' test UA), ``folds`` (how many finished). Only pooled tasks
    of seed 0 count (the same split at every fraction); a (method, config) seen at one fraction
    only is left out. Raises ParameterError when two runs hold the same fraction.
    """
    by_fraction = {}
    for run in run_dirs:
        tasks = [t for t in load_tasks(run) if t.get("protocol", "pooled") == "pooled"
                 and t.get("seed", 0) == 0]
        for (method, config), runs in group(tasks).items():
            fraction = float(runs[0].get("train_fraction", 1.0))
            points = by_fraction.setdefault((method, config), {})
            if fraction in points:
                raise ParameterError(f"{run}: {method} ({config}) at train fraction {fraction} "
                                     f"is also in another run folder; give each fraction once")
            ua = np.array([r["test_ua"] for r in runs])
            points[fraction] = {"fraction": fraction, "folds": len(runs), "ua": float(ua.mean()),
                                "ua_std": float(ua.std()),
                                "n_train": float(np.mean([r["n_train"] for r in runs]))}
    return {key: [points[f] for f in sorted(points)]
            for key, points in by_fraction.items() if len(points) >= 2}


def curve_markdown(curves):
    """The points as a Markdown table, one row per (method, configuration, fraction)."""
    lines = ["| method | configuration | training fraction | training utterances (mean) "
             "| UA (mean ± std over folds) | folds |", "|---|---|---|---|---|---|"]
    for (method, config), points in curves.items():
        for p in points:
            lines.append(f"| {method} | {config} | {p['fraction']:g} | {p['n_train']:.0f} "
                         f"| {p['ua']:.3f} ± {p['ua_std']:.3f} | {p['folds']} |")
    return "\n".join(lines) + "\n"


def curve_figure(curves, path):
    """UA against training utterances, one line with error bars per (method, configuration)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for (method, config), points in curves.items():
        ax.errorbar([p["n_train"] for p in points], [p["ua"] for p in points],
                    yerr=[p["ua_std"] for p in points], marker="o", capsize=3,
                    label=f"{method} ({config})")
    ax.axhline(0.25, color="grey", linestyle=":", linewidth=1, label="chance (4 classes)")
    ax.set_xlabel("training utterances (mean over folds)")
    ax.set_ylabel("test UA (mean ± std over folds)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_open(path) as f:
        fig.savefig(f, format="png", dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m numser.learning_curve",
        description="Plot test UA against training utterances from run folders that differ only "
                    "in --train-fraction (python -m numser.cv --train-fraction F).",
        epilog="example: python -m numser.learning_curve runs/f0.25 runs/f0.5 runs/full --out runs")
    parser.add_argument("runs", nargs="+", help="run folders (each with tasks/*.json)")
    parser.add_argument("--out", required=True, help="folder for learning_curve.md and .png")
    parser.add_argument("--no-figures", action="store_true",
                        help="learning_curve.md only (the figure stays as it was)")
    args = parser.parse_args(argv)
    return run_command("learning_curve", lambda: _main(args))


def _main(args):
    for run in args.runs:
        require_run_folder(run)
    curves = curve_points(args.runs)
    if not curves:
        raise ParameterError("no method and configuration appears at two or more training "
                             "fractions in these run folders")
    os.makedirs(args.out, exist_ok=True)
    table = curve_markdown(curves)
    write_text(os.path.join(args.out, "learning_curve.md"), table)
    if not args.no_figures:
        curve_figure(curves, os.path.join(args.out, "learning_curve.png"))
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

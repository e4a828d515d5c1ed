"""The figures of a run (``python -m numser.report``): Table 5's confusion matrices, Figure 3's
t-SNE, UA per fold and per speaker, as PNG files beside ``tables.md``.

``table5_confusion.png`` and ``figure3_tsne.png`` hold the paper's four methods (the rows
:func:`numser.results.best_configurations` picks); ``confusion.png`` and the ``tsne_<row>.png``
files cover every row; ``ua.png`` plots every row's fold and speaker UAs.
"""
import os

import numpy as np

from numser import CLASSES
from numser.atomic import atomic_open
from numser.metrics import row_normalised
from numser.results import row_key

#: Figure 3's colours (the paper's caption): neutral green, happy orange, sad blue, angry red.
COLOURS = {"neutral": "tab:green", "happy": "tab:orange", "sad": "tab:blue", "angry": "tab:red"}


def write_figures(out, results, tasks):
    """Confusion matrices, t-SNE (Figure 3) and UA per fold / speaker as PNG files in ``out``.

    ``table5_confusion.png`` and ``figure3_tsne.png`` hold the paper's four methods (best
    configuration each); ``confusion.png`` and ``tsne_<row>.png`` every row.
    """
    plt = pyplot()
    s_all = results["summaries"]
    figure_rows = [s for s in s_all if row_key(s) in results.get("figure_rows", [])]
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
        ax1.set_yticks(range(n), [row_key(s) for s in s_all], fontsize=7)
        ax1.set_xlabel("UA per fold (| = mean)")
        ax2.set_xlabel("UA per test speaker")
        for ax in (ax1, ax2):
            ax.axvline(0.25, color="grey", lw=.8, ls="--")
        fig.tight_layout()
        written.append(_save(fig, out, "ua.png"))

    tsne = tsne_per_row(tasks)
    for t in tsne.values():
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        _tsne_panel(ax, t)
        fig.tight_layout()
        written.append(_save(fig, out, f"tsne_{t['task'].rsplit('__fold', 1)[0]}.png"))
    figure3 = [tsne[key] for key in results.get("figure_rows", []) if key in tsne]
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


def _confusion_figure(summaries, cols=4):
    """A grid of row-normalised confusion matrices (%), one panel per summary."""
    plt = pyplot()
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


def tsne_per_row(tasks):
    """{row key: the task whose t-SNE stands for the row}: the smallest seed's, one per row
    (runs whose seeds were added in later invocations may hold one per seed)."""
    tsne = {}
    for t in sorted((t for t in tasks if "tsne" in t), key=lambda t: t.get("seed", 0)):
        tsne.setdefault(row_key(t), t)
    return tsne


def _tsne_panel(ax, task):
    """Scatter one task's 2-D t-SNE embedding of its test utterances, coloured by true class."""
    xy = np.array(task["tsne"])
    y = np.array(task["y_true"])
    for k, name in enumerate(CLASSES):
        ax.scatter(xy[y == k, 0], xy[y == k, 1], s=8, c=COLOURS[name], label=name)
    seed = f", seed {task['seed']}" if task.get("seed", 0) else ""
    ax.set_title(f"{task['method']} ({task['config']}), test fold {task['fold']}{seed}",
                 fontsize=8)
    ax.legend(fontsize=7, markerscale=2)
    ax.set_xticks([])
    ax.set_yticks([])


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no display).

    Imported here, not at the top: pyplot takes about a second to import, which every
    ``python -m numser.cv`` (it imports this module), even ``--help``, would pay at start-up.
    """
    import matplotlib                        # (lazy: start-up time, as said above)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt          # after use("Agg"): no display needed
    return plt


def _save(fig, out, name):
    plt = pyplot()
    path = os.path.join(out, name)
    with atomic_open(path) as f:
        fig.savefig(f, dpi=110, format="png")
    plt.close(fig)
    return path

"""UA on emotiontts with its angry and sad labels as staged and put right, from the predictions the
tasks already made (no training). Usage, from the repository root:

    python results/paper-8corpora/rescore_emotiontts.py RUN [RUN ...] > OUT.md

The staged manifest swaps emotiontts's angry and sad labels (relabel_emotiontts.py says how we
know). Swapping them back in each task's test labels gives what its predictions score against
the right labels. That puts the test side right, not the training: a model trained on emotiontts
learnt from the wrong labels (phase ``labels`` retrains five rows to measure that). A model that
never saw emotiontts - the leave-one-corpus-out task holding emotiontts out - is scored exactly.
"""
import sys

import numpy as np

from numser import CLASSES
from numser.metrics import unweighted_accuracy
from numser.results import group, load_tasks

SWAP = np.arange(len(CLASSES))
SWAP[[CLASSES.index("sad"), CLASSES.index("angry")]] = CLASSES.index("angry"), CLASSES.index("sad")


def on_emotiontts(task):
    """Which of a task's test utterances are emotiontts's (boolean array)."""
    return np.array([s.startswith("emotiontts:") for s in task["test_speakers"]], dtype=bool)


def emotiontts_ua(tasks):
    """(UA as staged, UA relabelled, utterances) over the emotiontts test utterances of ``tasks``,
    their predictions pooled."""
    y_true = np.concatenate([np.array(t["y_true"])[on_emotiontts(t)] for t in tasks])
    y_pred = np.concatenate([np.array(t["y_pred"])[on_emotiontts(t)] for t in tasks])
    return (unweighted_accuracy(y_true, y_pred), unweighted_accuracy(SWAP[y_true], y_pred),
            len(y_true))


def task_ua(task, relabel):
    """One task's UA over all its test utterances, emotiontts's labels put right if ``relabel``."""
    y_true = np.array(task["y_true"])
    if relabel:
        on = on_emotiontts(task)
        y_true[on] = SWAP[y_true[on]]
    return unweighted_accuracy(y_true, np.array(task["y_pred"]))


def main(runs):
    rows = [(method, config, run.rstrip("/").split("/")[-1], tasks)
            for run in runs for (method, config), tasks in group(load_tasks(run)).items()]
    print("## emotiontts\n\nUA on emotiontts's test utterances (all folds and seeds pooled), "
          "scored against its labels as staged (angry and sad swapped) and put right; the "
          "predictions are the tasks' own. collapsed: tasks predicting one class for ≥ 95 % of "
          "their test utterances, among those that tested emotiontts.\n")
    print("| method | configuration | run | as staged | relabelled | utterances | collapsed |")
    print("|---|---|---|---|---|---|---|")
    for method, config, run, tasks in rows:
        tasks = [t for t in tasks if on_emotiontts(t).any()]
        if tasks:
            staged, relabelled, n = emotiontts_ua(tasks)
            collapsed = sum(bool(t["collapsed"]) for t in tasks)
            print(f"| {method} | {config} | {run} | {staged:.3f} | {relabelled:.3f} | {n} "
                  f"| {collapsed}/{len(tasks)} |")
    print("\n## All corpora\n\nUA over all test utterances, mean ± std over the tasks (as in "
          "Table 4 and the leave-one-corpus-out means), with emotiontts's labels as staged and "
          "put right.\n")
    print("| method | configuration | run | as staged | relabelled | tasks |")
    print("|---|---|---|---|---|---|")
    for method, config, run, tasks in rows:
        staged, relabelled = ([task_ua(t, relabel) for t in tasks] for relabel in (False, True))
        print(f"| {method} | {config} | {run} | {np.mean(staged):.3f} ± {np.std(staged):.3f} "
              f"| {np.mean(relabelled):.3f} ± {np.std(relabelled):.3f} | {len(tasks)} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__.split("Usage, from the repository root:")[1].split("\n\n")[1].strip())
    main(sys.argv[1:])

"""UA on emotiontts with its angry and sad labels as staged and put right, from the predictions the
tasks already made (no training). Usage, from the repository root:

    python results/paper-8corpora/rescore_emotiontts.py RUN [RUN ...] [--trained-right LABELS]
        [--confusions RUN] > OUT.md

The staged manifest swaps emotiontts's angry and sad labels (relabel_emotiontts.py says how we
know). Swapping them back in each task's test labels gives what its predictions score against
the right labels. That puts the test side right, not the training: a model trained on emotiontts
learnt from the wrong labels (phase ``labels`` retrains five rows to measure that). A model that
never saw emotiontts - the leave-one-corpus-out task holding emotiontts out - is scored exactly.
With ``--trained-right LABELS`` (phase ``labels``'s folder) a section compares, on the right
labels in both, the first RUN's rows rescored with the rows LABELS trained on the right labels:
what training on the swapped labels cost, apart from scoring on them. The last section is part
of the evidence for the swap: how often each corpus's angry utterances are called sad and its
sad ones angry, by the tasks that did not collapse of the ``--confusions`` run (default: the
first RUN).
"""
import argparse

import numpy as np

from numser import CLASSES
from numser.compare import compare_groups, compare_markdown
from numser.metrics import prediction_scores, unweighted_accuracy
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


def relabelled(task):
    """A copy of ``task`` with emotiontts's test labels put right and every score recomputed
    from its predictions, as numser.tasks scores a task."""
    y_true = np.array(task["y_true"])
    on = on_emotiontts(task)
    y_true[on] = SWAP[y_true[on]]
    return {**task, **prediction_scores(y_true, task["y_pred"], task["test_speakers"]),
            "y_true": y_true.tolist()}


def trained_right(staged_run, labels_run):
    """:func:`numser.compare.compare_runs` of ``labels_run`` against ``staged_run``, the rows of
    ``staged_run`` rescored on the right labels (:func:`relabelled`); both runs share the
    speaker split."""
    trained_right = group(load_tasks(labels_run))
    staged = {key: [relabelled(t) for t in tasks]
              for key, tasks in group(load_tasks(staged_run)).items() if key in trained_right}
    return compare_groups(staged, trained_right)


def angry_sad_shares(tasks, corpus):
    """Shares of ``corpus``'s test utterances labelled angry called (sad, angry) and labelled sad
    called (angry, sad), the predictions of ``tasks`` pooled (None for a class it lacks); and how
    many utterances of each."""
    angry, sad = CLASSES.index("angry"), CLASSES.index("sad")
    on = [np.array([s.split(":")[0] == corpus for s in t["test_speakers"]]) for t in tasks]
    y_true = np.concatenate([np.array(t["y_true"])[o] for t, o in zip(tasks, on)])
    y_pred = np.concatenate([np.array(t["y_pred"])[o] for t, o in zip(tasks, on)])
    called = lambda label, as_: np.mean(y_pred[y_true == label] == as_) if np.any(y_true == label) \
        else None
    return (called(angry, sad), called(angry, angry), called(sad, angry), called(sad, sad),
            int(np.sum(y_true == angry)), int(np.sum(y_true == sad)))


def name(run):
    """A run folder's name: results/paper-8corpora/paper -> paper."""
    return run.rstrip("/").split("/")[-1]


def print_emotiontts(rows):
    print("## emotiontts\n\nUA on emotiontts's test utterances (all folds and seeds pooled), "
          "scored against its labels as staged (angry and sad swapped) and put right; the "
          "predictions are the tasks' own. collapsed: tasks predicting one class for ≥ 95 % of "
          "their test utterances, among those that tested emotiontts.\n")
    print("| method | configuration | run | as staged | relabelled | utterances | collapsed |")
    print("|---|---|---|---|---|---|---|")
    for method, config, run, tasks in rows:
        tasks = [t for t in tasks if on_emotiontts(t).any()]
        if tasks:
            staged, right, n = emotiontts_ua(tasks)
            collapsed = sum(bool(t["collapsed"]) for t in tasks)
            print(f"| {method} | {config} | {run} | {staged:.3f} | {right:.3f} | {n} "
                  f"| {collapsed}/{len(tasks)} |")


def print_all_corpora(rows):
    print("\n## All corpora\n\nUA over all test utterances, mean ± std over the tasks (as in "
          "Table 4 and the leave-one-corpus-out means), with emotiontts's labels as staged and "
          "put right.\n")
    print("| method | configuration | run | as staged | relabelled | tasks |")
    print("|---|---|---|---|---|---|")
    for method, config, run, tasks in rows:
        staged = [t["test_ua"] for t in tasks]
        right = [relabelled(t)["test_ua"] for t in tasks]
        print(f"| {method} | {config} | {run} | {np.mean(staged):.3f} ± {np.std(staged):.3f} "
              f"| {np.mean(right):.3f} ± {np.std(right):.3f} | {len(tasks)} |")


def print_trained_right(staged_run, labels_run):
    print(f"\n## Trained on the labels put right\n\nEvery score against emotiontts's labels "
          f"put right: `{name(labels_run)}` trained on them, `{name(staged_run)}` trained on the "
          "staged labels (its predictions rescored). So ΔUA is what training on the swapped "
          "labels cost.\n")
    rows = trained_right(staged_run, labels_run)
    print(compare_markdown(rows, "trained as staged", "trained right", split=True))
    corpora = sorted(rows[0]["a"]["per_corpus_ua"]) if rows else []
    print("UA per corpus (pooled predictions of the same tasks), trained right − trained as "
          "staged, and emotiontts's UA in each:\n")
    print("| method | configuration | " + " | ".join(corpora) + " | emotiontts UA |")
    print("|---" * (len(corpora) + 3) + "|")
    for r in rows:
        a, b = r["a"]["per_corpus_ua"], r["b"]["per_corpus_ua"]
        print(f"| {r['method']} | {r['config']} | "
              + " | ".join(f"{b[c] - a[c]:+.3f}" for c in corpora)
              + f" | {a['emotiontts']:.3f} → {b['emotiontts']:.3f} |")


def print_angry_sad(run):
    learnt = [t for t in load_tasks(run) if not t["collapsed"]]
    corpora = sorted({s.split(":")[0] for t in learnt for s in t["test_speakers"]})
    print(f"\n## Angry and sad per corpus\n\nOver the {len(learnt)} tasks of `{name(run)}` "
          "that did not collapse, their test predictions pooled: the share of each corpus's "
          "utterances labelled angry that are called sad and angry, and of those labelled sad "
          "that are called angry and sad (labels as staged). predictions: the corpus's angry "
          "(sad) test utterances times the tasks that tested them.\n")
    print("| corpus | angry called sad | angry called angry | sad called angry | sad called sad "
          "| angry predictions | sad predictions |")
    print("|---|---|---|---|---|---|---|")
    for corpus in corpora:
        *shares, n_angry, n_sad = angry_sad_shares(learnt, corpus)
        cells = " | ".join("–" if x is None else f"{x:.0%}" for x in shares)
        print(f"| {corpus} | {cells} | {n_angry} | {n_sad} |")


def main(runs, labels_run=None, confusions_run=None):
    """Every section, in order, on stdout (Markdown)."""
    rows = [(method, config, name(run), tasks)
            for run in runs for (method, config), tasks in group(load_tasks(run)).items()]
    print_emotiontts(rows)
    print_all_corpora(rows)
    if labels_run:
        print_trained_right(runs[0], labels_run)
    print_angry_sad(confusions_run or runs[0])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run folder (with tasks/*.json)")
    parser.add_argument("--trained-right", metavar="LABELS",
                        help="run folder of the same rows trained on the right labels")
    parser.add_argument("--confusions", metavar="RUN",
                        help="run folder whose angry and sad confusions to tell per corpus "
                             "(default: the first RUN)")
    args = parser.parse_args()
    main(args.runs, args.trained_right, args.confusions)

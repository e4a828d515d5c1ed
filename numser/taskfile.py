"""Reading one finished task's result file, ``<out>/tasks/<name>.json`` (written by numser.cv).

:func:`read_task` checks every field the report uses, so a damaged or hand-edited file is refused
with one line naming the file and the field, instead of failing later deep inside a table.
"""
from datetime import datetime

from numser import CLASSES
from numser.readers import is_int, is_number, read_json, require

#: Fields the report needs (every task file numser.cv writes has them, and more).
REQUIRED = ("method", "config", "kwargs", "fold", "n_params", "paper_params_k", "test_ua",
            "best_epoch", "history", "per_speaker_ua", "confusion", "y_true", "y_pred",
            "test_speakers", "seconds_train", "seconds_eval", "seconds", "finished")


def _timestamp(value):
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _ua_table(value):
    return isinstance(value, dict) and all(isinstance(k, str) and is_number(v, 0.0, 1.0)
                                           for k, v in value.items())


def _kwargs(value):
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        return False
    kernel = value.get("kernel", [1, 1, 1])
    return (isinstance(kernel, list) and len(kernel) == 3 and all(is_int(k, 1) for k in kernel)
            and all(is_int(value[k], 1) for k in ("depth", "cells", "context") if k in value))


def _history(value):
    return isinstance(value, list) and all(
        isinstance(h, dict) and is_number(h.get("seconds"), 0.0)
        and ("epoch" not in h or is_int(h["epoch"], 1))
        and ("val_ua" not in h or is_number(h["val_ua"], 0.0, 1.0))
        and ("loss" not in h or is_number(h["loss"], finite=False)) for h in value)


def _label_list(value):
    return isinstance(value, list) and all(is_int(v, 0, len(CLASSES) - 1) for v in value)


#: field → (check, what it must be); a message quotes the second part.
CHECKS = {
    "task": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "method": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "config": (lambda v: isinstance(v, str), "a string"),
    "kwargs": (_kwargs, "an object of the builder's arguments (kernel: 3 positive integers; "
                        "depth, cells, context: positive integers)"),
    "fold": (lambda v: is_int(v, 0), "an integer >= 0"),
    "n_params": (lambda v: is_int(v, 0), "an integer >= 0"),
    "paper_params_k": (lambda v: v is None or is_number(v, 0.0), "null or a number >= 0"),
    "test_ua": (lambda v: is_number(v, 0.0, 1.0), "a number in [0, 1]"),
    "val_ua": (lambda v: is_number(v, 0.0, 1.0), "a number in [0, 1]"),
    "best_epoch": (lambda v: is_int(v, 0), "an integer >= 0"),
    "history": (_history, "a list of epochs, each with seconds >= 0 (and epoch >= 1, a loss, "
                          "val_ua in [0, 1])"),
    "per_speaker_ua": (_ua_table, "an object of numbers in [0, 1]"),
    "per_corpus_ua": (_ua_table, "an object of numbers in [0, 1]"),
    "confusion": (lambda v: isinstance(v, list) and len(v) == len(CLASSES) and all(
        isinstance(r, list) and len(r) == len(CLASSES) and all(is_int(c, 0) for c in r)
        for r in v), f"a {len(CLASSES)}x{len(CLASSES)} list of counts"),
    "y_true": (_label_list, f"a list of class indices 0..{len(CLASSES) - 1}"),
    "y_pred": (_label_list, f"a list of class indices 0..{len(CLASSES) - 1}"),
    "test_speakers": (lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
                      "a list of speaker ids"),
    "seconds_train": (lambda v: is_number(v, 0.0), "a number >= 0"),
    "seconds_eval": (lambda v: is_number(v, 0.0), "a number >= 0"),
    "seconds": (lambda v: is_number(v, 0.0), "a number >= 0"),
    "finished": (_timestamp, "an ISO date-time like 2026-12-03T20:15:00"),
    "started": (_timestamp, "an ISO date-time like 2026-12-03T20:15:00"),
    "resumed_after_epoch": (lambda v: is_int(v, 0), "an integer >= 0"),
    "seed": (lambda v: is_int(v, 0), "an integer >= 0"),
    "protocol": (lambda v: v in ("pooled", "loco"), "'pooled' or 'loco'"),
    "held_out": (lambda v: v is None or isinstance(v, str), "null or a corpus name"),
    "wa": (lambda v: is_number(v, 0.0, 1.0), "a number in [0, 1]"),
    "macro_f1": (lambda v: is_number(v, 0.0, 1.0), "a number in [0, 1]"),
    "collapsed": (lambda v: isinstance(v, bool), "true or false"),
    "majority_class": (lambda v: is_int(v, 0, len(CLASSES) - 1),
                       f"a class index 0..{len(CLASSES) - 1}"),
    "majority_share": (lambda v: is_number(v, 0.0, 1.0), "a number in [0, 1]"),
    "git_commit": (lambda v: isinstance(v, str), "a string"),
    "machine": (lambda v: isinstance(v, dict) and all(
        isinstance(v.get(k), str) for k in ("host", "cpu", "llvm_cpu"))
        and (v.get("cores") is None or is_int(v["cores"], 1)),
        "an object of host, cpu and llvm_cpu (strings) and cores (an integer >= 1)"),
    "tsne": (lambda v: isinstance(v, list) and all(
        isinstance(p, list) and len(p) == 2 and all(is_number(c) for c in p) for p in v),
        "a list of [x, y] pairs of finite numbers"),
}


def read_task(path):
    """One task result, checked.

    Parameters
    ----------
    path : str or path-like
        A ``tasks/<name>.json`` file written by :func:`numser.tasks.run_task`.

    Returns
    -------
    dict
        The file's content; every field of :data:`REQUIRED` is present and every field of
        :data:`CHECKS` that is present has the type and range the report relies on; ``y_true``,
        ``y_pred`` and ``test_speakers`` (and ``tsne`` when present) have one entry per test
        utterance, and the confusion matrix counts them.

    Raises
    ------
    FileFormatError
        Naming the file and the field: not JSON (damaged or cut off), not an object, a field
        missing or of the wrong type or range, or lists of different lengths.
    """
    task = read_json(path, "task result")
    require(isinstance(task, dict), path, f"damaged task result: a JSON {type(task).__name__}, "
                                          f"not an object; delete it and rerun the task")
    missing = [k for k in REQUIRED if k not in task]
    require(not missing, path, f"field(s) {', '.join(missing)} missing; delete the file and "
                               f"rerun the task")
    for field, (check, what) in CHECKS.items():
        if field in task:
            require(check(task[field]), path, f"must be {what}, found {_short(task[field])}",
                    where=f"field '{field}'")
    n = len(task["y_true"])
    for field in ("y_pred", "test_speakers", "tsne"):
        if field in task:
            require(len(task[field]) == n, path, f"has {len(task[field])} entries but y_true "
                                                 f"has {n}", where=f"field '{field}'")
    require(sum(map(sum, task["confusion"])) == n, path,
            f"counts {sum(map(sum, task['confusion']))} utterances but y_true has {n}",
            where="field 'confusion'")
    return task


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

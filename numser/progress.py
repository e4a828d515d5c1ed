"""What a run has left: its planned tasks against the finished ones in ``--out``, and how long the
others should take, judged by the finished ones (``python -m numser.cv ... --dry-run``).

Estimate
--------
An unfinished task is expected to take the mean time (training + evaluation, the epochs of an
interrupted earlier process included) of the finished tasks of its row (method and
configuration); a row with none takes the mean of its method's finished tasks; a method with none
is left out of the estimate, and said so. The times are those measured in this run folder, under
whatever load it ran with (e.g. two tasks at a time on two cores), so the wall-time estimate,
task time / ``--jobs``, holds for the same number of workers on the same machine.
"""
import os
import statistics

from numser.errors import FileFormatError
from numser.models import check_config
from numser.report import train_seconds
from numser.taskfile import read_task


def task_progress(tasks, out):
    """Each (method, configuration) row of ``tasks`` in plan order, with its finished tasks' times.

    Parameters
    ----------
    tasks : list of numser.tasks.Task
        The planned tasks.
    out : str
        The run folder; a task is finished when ``out/tasks/<name>.json`` reads back whole.

    Returns
    -------
    rows : list of dict
        ``method``, ``config`` (the tables' label), ``planned`` (int) and ``seconds`` (list of the
        task times of the finished ones, in seconds).
    """
    rows = {}
    for task in tasks:
        row = rows.get((task.method, task.config))
        if row is None:
            label = check_config(task.method, **task.kwargs()).label()
            row = rows[task.method, task.config] = {"method": task.method, "config": label,
                                                   "planned": 0, "seconds": []}
        row["planned"] += 1
        path = os.path.join(out, "tasks", task.name + ".json")
        if not os.path.exists(path):
            continue
        try:
            result = read_task(path)
        except FileFormatError:           # damaged: the run does it again
            continue
        row["seconds"].append(train_seconds(result) + result["seconds_eval"])
    return list(rows.values())


def estimate(rows):
    """(seconds, tasks left out): the expected time of the unfinished tasks (module docstring)."""
    by_method = {}
    for row in rows:
        by_method.setdefault(row["method"], []).extend(row["seconds"])
    seconds, left_out = 0.0, 0
    for row in rows:
        todo = row["planned"] - len(row["seconds"])
        known = row["seconds"] or by_method[row["method"]]
        if known:
            seconds += todo * statistics.mean(known)
        else:
            left_out += todo
    return seconds, left_out


def progress_markdown(rows, jobs=None):
    """A table of the rows (planned, finished, to run, mean task minutes) and the estimate.

    ``jobs``: the number of local workers, to turn task time into wall time (None: a cluster,
    whose wall time depends on its size).
    """
    lines = ["| method | configuration | tasks | finished | to run | mean task (min) |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        done = len(row["seconds"])
        mean = f"{statistics.mean(row['seconds']) / 60:.1f}" if done else "–"
        lines.append(f"| {row['method']} | {row['config']} | {row['planned']} | {done} | "
                     f"{row['planned'] - done} | {mean} |")
    planned = sum(r["planned"] for r in rows)
    todo = planned - sum(len(r["seconds"]) for r in rows)
    seconds, left_out = estimate(rows)
    summary = f"{planned - todo} of {planned} tasks finished"
    if todo:
        summary += (f"; the {todo - left_out} to run with a finished task of their row or method "
                    f"should take about {seconds / 3600:.1f} task-hours")
        if jobs:
            summary += f", {seconds / 3600 / jobs:.1f} h of wall time with {jobs} at a time"
        if left_out:
            summary += (f"; {left_out} more belong to methods with no finished task yet and are "
                        f"not in the estimate")
    return "\n".join(lines + ["", summary + "."]) + "\n"

"""What a run has left: its planned tasks against the finished ones in ``--out``, and how long the
others should take, judged by the finished ones (``python -m numser.cv ... --dry-run``).

Estimate
--------
An unfinished task is expected to take the mean time (training + evaluation, the epochs of an
interrupted earlier process included) of the finished tasks of its row (method and
configuration); a row with none takes the mean of its method's finished tasks; a method with none
is left out of the estimate, and said so. The times are those measured in this run folder, under
whatever load and code it ran with (e.g. two tasks at a time on two cores), so the wall-time
estimate, task time / ``--jobs``, holds for the same number of workers, machine and code: tasks
finished by older code or under heavier load make it pessimistic (the eight-corpus run's
3D-CNN-DNN 2x2x2 epochs took 56 s on 2026-12-04 and 9 s on 2026-12-07).
"""
import statistics

from numser.models import check_config
from numser.results import load_tasks, task_seconds


def task_progress(tasks, out):
    """Each (method, configuration) row of ``tasks`` in plan order, with the times of its
    finished tasks in ``out`` (those of other seeds too: same work, same cost).

    Parameters
    ----------
    tasks : list of numser.tasks.Task
        The planned tasks.
    out : str
        The run folder; a task is finished when ``out/tasks/<name>.json`` reads back whole.

    Returns
    -------
    rows : list of dict
        ``method``, ``config`` (the tables' label), ``planned`` and ``finished`` (numbers of
        planned tasks), ``seconds`` (the task times of every finished task of the row in ``out``).
    """
    results = load_tasks(out, warn=False)
    done = {r["task"] for r in results}
    seconds = {}
    for r in results:
        seconds.setdefault((r["method"], r["config"]), []).append(task_seconds(r))
    rows = {}
    for task in tasks:
        key = (task.method, check_config(task.method, **task.kwargs()).label())
        row = rows.setdefault(key, {"method": key[0], "config": key[1], "planned": 0,
                                    "finished": 0, "seconds": seconds.get(key, [])})
        row["planned"] += 1
        row["finished"] += task.name in done
    return list(rows.values())


def estimate(rows):
    """(seconds, tasks left out): the expected time of the unfinished tasks (module docstring)."""
    by_method = {}
    for row in rows:
        by_method.setdefault(row["method"], []).extend(row["seconds"])
    seconds, left_out = 0.0, 0
    for row in rows:
        todo = row["planned"] - row["finished"]
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
        mean = f"{statistics.mean(row['seconds']) / 60:.1f}" if row["seconds"] else "–"
        lines.append(f"| {row['method']} | {row['config']} | {row['planned']} | "
                     f"{row['finished']} | {row['planned'] - row['finished']} | {mean} |")
    planned = sum(r["planned"] for r in rows)
    todo = planned - sum(r["finished"] for r in rows)
    seconds, left_out = estimate(rows)
    summary = f"{planned - todo} of {planned} tasks finished"
    if todo:
        summary += f"; {todo} to run"
    if todo > left_out:
        summary += f": about {seconds / 3600:.1f} task-hours"
        if jobs:
            summary += f" ({seconds / 3600 / jobs:.1f} h of wall time with {jobs} at a time)"
        if left_out:
            summary += f" without the {left_out} of methods with no finished task in this folder"
    elif todo:
        summary += ", none of them of a method with a finished task in this folder to judge by"
    return "\n".join(lines + ["", summary + "."]) + "\n"

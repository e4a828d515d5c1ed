"""numser.progress: a run's planned tasks against its finished ones, and the time left."""
import json
import os

import numpy as np
import pytest

from numser.models import check_config
from numser.progress import estimate, progress_markdown, task_progress
from numser.tasks import Task

from test_report import fake_task

ELM = ("dnn-elm", (("context", 1),))
D3 = ("3d-cnn-dnn", (("depth", 3), ("kernel", (2, 2, 2))))
D2 = ("3d-cnn-dnn", (("depth", 2), ("kernel", (2, 2, 2))))


def _finish(out, task, seconds):
    label = check_config(task.method, **task.kwargs()).label()
    result = fake_task(task.method, label, task.kwargs(), task.fold, .5, np.random.default_rng(0))
    result.update(task=task.name, seed=task.seed, seconds_train=seconds - 10, seconds_eval=10, history=[{"seconds": seconds - 10}])
    with open(os.path.join(out, "tasks", task.name + ".json"), "w") as f:
        json.dump(result, f)


def test_unfinished_tasks_take_their_rows_mean_else_their_methods(tmp_path):
    os.makedirs(tmp_path / "tasks")
    tasks = [Task(m, c, fold) for m, c in (ELM, D3, D2) for fold in range(5)]
    for task, seconds in zip(tasks[5:8], (600, 1200, 1800)):        # three folds of D3
        _finish(tmp_path, task, seconds)
    (tmp_path / "tasks" / f"{tasks[8].name}.json").write_text("{")   # damaged: not finished
    rows = task_progress(tasks, str(tmp_path))
    assert [(r["config"], r["planned"], r["finished"], r["seconds"]) for r in rows] == [
        ("3 x FC 256, context 1", 5, 0, []), ("depth 3, 2x2x2", 5, 3, [600, 1200, 1800]),
        ("depth 2, 2x2x2", 5, 0, [])]
    seconds, left_out = estimate(rows)
    # D3: 2 left at its mean 1200 s; D2: 5 at the method's mean 1200 s; DNN-ELM: unknown
    assert seconds == pytest.approx(7 * 1200) and left_out == 5
    md = progress_markdown(rows, jobs=2)
    assert "| 3d-cnn-dnn | depth 3, 2x2x2 | 5 | 3 | 2 | 20.0 |" in md
    assert md.endswith("3 of 15 tasks finished; 12 to run: about 2.3 task-hours (1.2 h of wall "
                       "time with 2 at a time) without the 5 of methods with no finished task in "
                       "this folder.\n")
    assert "wall time" not in progress_markdown(rows, jobs=None)


def test_other_seeds_of_a_row_count_for_its_time_not_as_finished(tmp_path):
    os.makedirs(tmp_path / "tasks")
    for fold in range(2):
        _finish(tmp_path, Task(*D3, fold), 600)
    rows = task_progress([Task(*D3, fold, seed=1) for fold in range(5)], str(tmp_path))
    assert [(r["planned"], r["finished"], r["seconds"]) for r in rows] == [(5, 0, [600, 600])]
    assert "0 of 5 tasks finished; 5 to run: about 0.8 task-hours." in progress_markdown(rows)
    rows = task_progress([Task(*ELM, 0)], str(tmp_path))
    assert progress_markdown(rows).endswith(
        "0 of 1 tasks finished; 1 to run, none of them of a method with a finished task in this "
        "folder to judge by.\n")


def test_a_finished_run_says_so():
    rows = [{"method": "dnn-elm", "config": "x", "planned": 2, "finished": 2,
             "seconds": [60.0, 120.0]}]
    assert progress_markdown(rows).endswith("| dnn-elm | x | 2 | 2 | 0 | 1.5 |\n\n"
                                            "2 of 2 tasks finished.\n")

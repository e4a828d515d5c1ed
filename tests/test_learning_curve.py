"""numser.learning_curve on hand-made task results at three training fractions."""
import json
import os

import numpy as np
import pytest

from numser import learning_curve
from test_report import fake_task


def _run(folder, fraction, level, rng, n_train, folds=5):
    os.makedirs(folder / "tasks")
    for fold in range(folds):
        for method, config, kwargs in (("lstm-elm", "2 x LSTM 128", {}),
                                       ("3d-cnn-dnn", "depth 3, 2x2x2", {"depth": 3, "kernel": [2, 2, 2]})):
            task = fake_task(method, config, kwargs, fold, level, rng)
            task.update(train_fraction=fraction, n_train=n_train + fold)
            with open(folder / "tasks" / f"{task['task']}.json", "w") as f:
                json.dump(task, f)
    return str(folder)


@pytest.fixture
def runs(tmp_path):
    rng = np.random.default_rng(0)
    return [_run(tmp_path / "f25", 0.25, .35, rng, 600), _run(tmp_path / "f50", 0.5, .45, rng, 1200),
            _run(tmp_path / "full", 1.0, .55, rng, 2400, folds=4)]


def test_points_follow_the_fractions_with_fold_means(runs):
    curves = learning_curve.curve_points(runs[::-1])           # folder order does not matter
    points = curves[("lstm-elm", "2 x LSTM 128")]
    assert [p["fraction"] for p in points] == [0.25, 0.5, 1.0]
    assert [p["n_train"] for p in points] == [602, 1202, 2401.5]   # mean of n_train + fold
    assert [p["folds"] for p in points] == [5, 5, 4]
    assert points[0]["ua"] < points[1]["ua"] < points[2]["ua"]


def test_a_fraction_given_twice_is_refused(runs):
    with pytest.raises(learning_curve.ParameterError, match="train fraction 0.25"):
        learning_curve.curve_points([runs[0], runs[0]])


def test_command_writes_table_and_figure(runs, tmp_path, capsys):
    assert learning_curve.main([*runs, "--out", str(tmp_path / "curve")]) == 0
    table = (tmp_path / "curve" / "learning_curve.md").read_text()
    assert table == capsys.readouterr().out
    assert table.count("| 3d-cnn-dnn | depth 3, 2x2x2 |") == 3
    assert (tmp_path / "curve" / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_no_figures_writes_the_table_only(runs, tmp_path):
    assert learning_curve.main([*runs, "--out", str(tmp_path / "curve"), "--no-figures"]) == 0
    assert sorted(os.listdir(tmp_path / "curve")) == ["learning_curve.md"]


def test_command_names_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert learning_curve.main([str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert f"{tmp_path}: no finished task results (tasks/*.json)" in capsys.readouterr().err

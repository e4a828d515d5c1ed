"""numser.compare on hand-made task results: shared tasks only, direction, pairing, the CLI."""
import json
import os

import numpy as np
import pytest
from scipy import stats

from numser import compare
from test_report import fake_task

ROW = ("3d-cnn-dnn", "depth 3, 2x2x2", {"depth": 3, "kernel": [2, 2, 2]})


def _run(folder, level, folds, rng, seeds=(0,), protocol="pooled"):
    os.makedirs(folder / "tasks")
    for seed in seeds:
        for fold in folds:
            task = fake_task(*ROW, fold, level, rng)
            task.update(seed=seed, protocol=protocol, task=f"{task['task']}__seed{seed}")
            with open(folder / "tasks" / f"{task['task']}.json", "w") as f:
                json.dump(task, f)
    return str(folder)


def test_rows_compare_the_tasks_both_runs_finished(tmp_path):
    rng = np.random.default_rng(0)
    a = _run(tmp_path / "paper", .4, range(5), rng, seeds=(0, 1))
    b = _run(tmp_path / "stable", .6, range(3), rng)                 # seed 0, folds 0-2 only
    (row,) = compare.compare_runs(a, b)
    assert row["seeds"] == [0] and row["a"]["folds"] == row["b"]["folds"] == [0, 1, 2]
    t = row["test"]
    speakers = sorted(row["a"]["per_speaker_ua"])
    assert speakers == sorted(row["b"]["per_speaker_ua"]) and t["n"] + t["n_zero"] == 12
    d = [row["b"]["per_speaker_ua"][s] - row["a"]["per_speaker_ua"][s] for s in speakers]
    assert t["mean_difference"] == pytest.approx(np.mean(d)) and t["mean_difference"] > 0
    assert t["pvalue"] == pytest.approx(stats.wilcoxon(d).pvalue)


def test_across_protocols_every_task_of_the_shared_seeds_counts(tmp_path):
    rng = np.random.default_rng(1)
    a = _run(tmp_path / "pooled", .6, range(5), rng)
    b = _run(tmp_path / "loco", .3, range(2), rng, protocol="loco")    # two held-out corpora
    (row,) = compare.compare_runs(a, b)
    assert row["a"]["folds"] == list(range(5)) and row["b"]["folds"] == [0, 1]
    assert row["test"]["mean_difference"] < 0                           # B − A: loco is lower


def test_cli_writes_the_table_and_refuses_disjoint_runs(tmp_path, capsys):
    rng = np.random.default_rng(2)
    a = _run(tmp_path / "a", .4, range(5), rng)
    b = _run(tmp_path / "b", .4, range(5), rng, seeds=(1,))
    assert compare.main([a, b]) == 2
    assert "share no (method, configuration) with a common seed" in capsys.readouterr().err
    c = _run(tmp_path / "c", .7, range(5), rng)
    out = tmp_path / "vs.md"
    assert compare.main([a, c, "--names", "paper,stable", "--out", str(out)]) == 0
    table = out.read_text()
    assert table == capsys.readouterr().out
    assert "| paper UA | stable UA | ΔUA | speakers | equal | p |" in table
    assert "| 3d-cnn-dnn | depth 3, 2x2x2 | 0 | 0." in table and "(5) | +0." in table
    assert compare.main([a, str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no finished task results" in capsys.readouterr().err


def test_runs_on_other_data_pair_speakers_not_folds_and_skip_other_networks(tmp_path):
    """Four corpora against eight: fold 1 holds other speakers in each run, so every task of the
    shared seed counts; a label whose network differs (parameter count) is named, not compared."""
    rng = np.random.default_rng(3)
    a = _run(tmp_path / "four", .4, range(5), rng)
    b = _run(tmp_path / "eight", .5, range(2), rng)
    for folder, n in ((a, 1747), (b, 4537)):
        with open(os.path.join(folder, "run.json"), "w") as f:
            json.dump({"n_utterances": n, "split": {"0": f"digest{n}"}}, f)
    assert compare.same_split(a, b) is False
    (row,) = compare.compare_runs(a, b)
    assert row["a"]["folds"] == list(range(5)) and row["b"]["folds"] == [0, 1]
    assert row["same_model"] and "| 3d-cnn-dnn | depth 3, 2x2x2 | 0 |" in \
        compare.compare_markdown([row], "four", "eight", split=False)
    for path in (tmp_path / "four" / "tasks").iterdir():
        path.write_text(json.dumps(dict(json.loads(path.read_text()), n_params=6818988)))
    (row,) = compare.compare_runs(a, b)
    table = compare.compare_markdown([row], "four", "eight", split=False)
    assert not row["same_model"] and "| 3d-cnn-dnn |" not in table
    assert "Not compared" in table and "6,818,988 parameters in four, 1,000 in eight" in table

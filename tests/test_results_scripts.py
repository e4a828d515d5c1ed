"""The eight-corpus run's own scripts (results/paper-8corpora/): the pauses its cost leaves out,
the stable 3D configuration its cross-corpus phase picks, emotiontts's labels put right and
rescored, and report.sh that rebuilds its tables."""
import importlib.util
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from numser.corpora.manifest import read_manifest
from numser.metrics import prediction_scores
from test_report import fake_task

HERE = Path(__file__).resolve().parents[1] / "results" / "paper-8corpora"
STAGED_EMOTIONTTS = HERE.parents[2] / "shared" / "corpora" / "emotiontts" / "manifest.csv"


def _script(name):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cost_takes_out_exact_pauses_only(tmp_path):
    cost = _script("cost")
    (tmp_path / "INTERRUPTIONS.md").write_text(
        "| from (UTC) | to (UTC) | what | code |\n|---|---|---|---|\n"
        "| 2026-01-01T00:00:00Z | 2026-01-01T05:00:00Z | session ended | a → b |\n"
        "| 2026-01-01T01:00:00Z | 2026-01-01T01:30:00Z | paused (SIGSTOP) for a benchmark | b |\n"
        "| ≈ 2026-01-01T03:00Z (not logged) | 2026-01-01T03:10:00Z | paused | b |\n")
    ((start, end),) = cost.pauses(tmp_path / "INTERRUPTIONS.md")
    assert end - start == 1800
    os.makedirs(tmp_path / "paper" / "tasks")
    task = fake_task("lstm-elm", "2 x LSTM 128", {}, 0, .5, np.random.default_rng(0))
    task.update(started="2026-01-01T00:00:00", finished="2026-01-01T02:00:00", seconds=7200,
                seconds_train=7000, seconds_eval=200, history=[{"seconds": 7000}],
                git_commit="abc1234",
                machine={"host": "h", "llvm_cpu": "znver4", "cpu": "AMD EPYC", "cores": 2})
    (tmp_path / "paper" / "tasks" / "t.json").write_text(json.dumps(task))
    table = cost.cost_markdown(str(tmp_path))
    assert "1 pauses (30 min) taken out" in table
    # 2 h of task and wall time, half an hour of them paused
    for row in ("`paper/`", "lstm-elm", "**total**"):
        assert f"| {row} | 1 | 1.50 | 1.50 | 0.50 |" in table
    assert "| `paper/` | 1 | abc1234 (1) | znver4 (AMD EPYC, 2 cores) (1) |" in table


def test_best_stable_picks_the_best_validation_ua_of_complete_3d_rows(tmp_path, capsys):
    best_stable = _script("best_stable")
    os.makedirs(tmp_path / "tasks")
    rng = np.random.default_rng(1)
    rows = [("3d-cnn-dnn", "depth 3, 2x2x2", {"depth": 3, "kernel": [2, 2, 2]}, .50, 5),
            ("3d-cnn-dnn", "depth 3, 2x2x32", {"depth": 3, "kernel": [2, 2, 32]}, .60, 5),
            ("3d-cnn-dnn", "depth 3, 2x2x128", {"depth": 3, "kernel": [2, 2, 128]}, .90, 4),
            ("lstm-elm", "2 x LSTM 128", {}, .95, 5)]
    for method, config, kwargs, val_ua, folds in rows:
        for fold in range(folds):
            task = fake_task(method, config, kwargs, fold, .5, rng)
            task["val_ua"] = val_ua
            (tmp_path / "tasks" / f"{task['task']}.json").write_text(json.dumps(task))
    (method, config), val_ua, _ = best_stable.best_3d(str(tmp_path))
    assert (method, config, val_ua) == ("3d-cnn-dnn", "depth 3, 2x2x32", pytest.approx(.60))


@pytest.mark.slow
def test_relabel_takes_emotiontts_classes_from_the_recording_numbers(tmp_path):
    relabel = _script("relabel_emotiontts")
    staged = tmp_path / "shared" / "emotiontts"
    rows = [("a/wav/nea00003.flac", "neutral"), ("a/wav/nea00104.flac", "happy"),
            ("a/wav/nea00201.flac", "angry"), ("b/wav/emb00399.flac", "sad")]
    for path, _ in rows:
        (staged / path).parent.mkdir(parents=True, exist_ok=True)
        (staged / path).write_bytes(b"")
    (staged / "manifest.csv").write_text("path,corpus,speaker,label,original_label\n" + "".join(
        f"{path},emotiontts,A,{label},x\n" for path, label in rows), encoding="utf-8")
    out = tmp_path / "run" / "labels" / "emotiontts" / "manifest.csv"
    assert relabel.relabel(staged / "manifest.csv", out) == 2
    fixed = read_manifest(out)              # paths relative to the new manifest still resolve
    assert [u.emotion for u in fixed] == ["neutral", "happy", "sad", "angry"]
    assert [u.path for u in fixed] == [str(staged / path) for path, _ in rows]
    assert {u.speaker for u in fixed} == {"emotiontts:A"}
    assert relabel.relabel(out, tmp_path / "again.csv") == 0      # right already: unchanged


def test_levels_are_mean_rms_in_db_per_class_by_number_and_part(tmp_path, capsys):
    relabel = _script("relabel_emotiontts")
    rows = []
    for part in ("p", "q"):
        for number, label, amplitude in (("00001", "neutral", .1), ("00002", "neutral", .01),
                                         ("00150", "happy", .1), ("00250", "angry", .01),
                                         ("00350", "sad", .1)):
            path = f"{part}/wav/x{number}.flac"
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(tmp_path / path, np.full(1600, amplitude), 16000)   # RMS = amplitude
            rows.append(f"{path},emotiontts,A,{label},x\n")
    (tmp_path / "manifest.csv").write_text("path,corpus,speaker,label,original_label\n"
                                           + "".join(rows), encoding="utf-8")
    relabel.print_levels(str(tmp_path / "manifest.csv"))
    out = capsys.readouterr().out
    assert "| class by number | recordings | label as staged | p | q |" in out
    assert "| neutral | 00001–00100 | neutral | -30.0 | -30.0 |" in out    # mean of -20 and -40 dB
    assert "| sad | 00201–00300 | angry | -40.0 | -40.0 |" in out
    assert "| angry | 00301–00400 | sad | -20.0 | -20.0 |" in out
    (tmp_path / "q/wav/x00350.flac").write_bytes(b"not audio")
    with pytest.raises(SystemExit, match=r"q/wav/x00350\.flac: cannot read the audio"):
        relabel.print_levels(str(tmp_path / "manifest.csv"))


def _task(fold, y_true, y_pred, speakers):
    """An LSTM-ELM task of seed 0 scored, as numser.tasks scores it, on these labels."""
    task = fake_task("lstm-elm", "2 x LSTM 128", {}, fold, .5, np.random.default_rng(fold))
    task.pop("tsne", None)
    return {**task, **prediction_scores(y_true, y_pred, speakers), "seed": 0, "y_true": y_true,
            "y_pred": y_pred, "test_speakers": speakers}


def test_rescore_swaps_emotiontts_angry_and_sad_only(tmp_path, capsys):
    rescore = _script("rescore_emotiontts")
    # emotiontts: labels as staged (sad, angry swapped), predictions the right classes
    task = _task(1, [0, 1, 3, 2, 2, 3], [0, 1, 2, 3, 2, 3], ["emotiontts:A"] * 4 + ["emodb:03"] * 2)
    assert rescore.emotiontts_ua([task]) == (pytest.approx(.5), pytest.approx(1.0), 4)
    os.makedirs(tmp_path / "paper" / "tasks")
    (tmp_path / "paper" / "tasks" / "t.json").write_text(json.dumps(task))
    rescore.main([str(tmp_path / "paper")])
    out = capsys.readouterr().out
    assert "| lstm-elm | 2 x LSTM 128 | paper | 0.500 | 1.000 | 4 | 0/1 |" in out
    # all corpora: emodb's sad and angry stay; emotiontts's put right make every prediction right
    assert "| lstm-elm | 2 x LSTM 128 | paper | 0.750 ± 0.000 | 1.000 ± 0.000 | 1 |" in out
    # as staged, emotiontts's one angry utterance is called sad, its one sad called angry
    assert "| emotiontts | 100% | 0% | 100% | 0% | 1 | 1 |" in out
    assert "| emodb | 0% | 100% | 0% | 100% | 1 | 1 |" in out


def test_trained_right_compares_on_the_right_labels_in_both_runs(tmp_path, capsys):
    rescore = _script("rescore_emotiontts")
    for run, y_true, y_pred in (("paper", [3, 2, 0, 1], [2, 3, 0, 1]),    # as staged: swapped
                                ("labels", [2, 3, 0, 1], [2, 3, 0, 0])):  # right; one miss
        os.makedirs(tmp_path / run / "tasks")
        for fold in range(2):
            task = _task(fold, y_true, y_pred, [f"emotiontts:{fold}"] * 2 + [f"emodb:{fold}"] * 2)
            (tmp_path / run / "tasks" / f"{fold}.json").write_text(json.dumps(task))
    (row,) = rescore.trained_right(str(tmp_path / "paper"), str(tmp_path / "labels"))
    # rescored, paper's predictions are all right; labels's emodb speakers lose their class 1
    assert row["a"]["per_speaker_ua"] == {"emodb:0": 1.0, "emodb:1": 1.0,
                                          "emotiontts:0": 1.0, "emotiontts:1": 1.0}
    assert row["b"]["per_speaker_ua"]["emodb:0"] == .5
    assert row["test"]["mean_difference"] == pytest.approx(-.25) and row["seeds"] == [0]
    rescore.main([str(tmp_path / "paper")], str(tmp_path / "labels"), str(tmp_path / "labels"))
    out = capsys.readouterr().out
    assert "Over the 2 tasks of `labels` that did not collapse" in out        # --confusions
    assert "| lstm-elm | 2 x LSTM 128 | 0 | 1.000 ± 0.000 (2) | 0.750 ± 0.000 (2) | -0.250 |" in out
    assert "| lstm-elm | 2 x LSTM 128 | -0.500 | +0.000 | 1.000 → 1.000 |" in out   # emodb, emotiontts
    assert "| emodb | – | – | – | – | 0 | 0 |" in out       # no angry or sad utterances


def test_report_script_rebuilds_the_tables_of_the_folders_there_are(tmp_path):
    (tmp_path / "INTERRUPTIONS.md").write_text("| from (UTC) | to (UTC) | what | code |\n")
    rng = np.random.default_rng(2)
    for run, level in (("paper", .45), ("stable", .55)):
        os.makedirs(tmp_path / run / "tasks")
        for fold in range(5):
            task = fake_task("3d-cnn-dnn", "depth 3, 2x2x2", {"depth": 3, "kernel": [2, 2, 2]},
                             fold, level, rng)
            (tmp_path / run / "tasks" / f"{task['task']}.json").write_text(json.dumps(task))
    levels = ["emotiontts_levels.md"] if STAGED_EMOTIONTTS.exists() else []
    written = [f"{tmp_path}/{f}" for f in ("paper/tables.md", "stable/tables.md",
                                            "stable/vs_paper.md", "emotiontts_rescored.md",
                                            *levels, "paper/vs_4corpora.md", "cost.md")]

    def report(*options):
        return subprocess.run(["bash", str(HERE / "report.sh"), *options, str(tmp_path)],
                              capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONPATH": str(HERE.parents[1])})

    done = report("--no-figures")                  # what commit_loop.sh runs with every commit
    assert done.stdout.split() == written and not list(tmp_path.rglob("*.png"))
    done = report()
    assert done.stdout.split() == written and (tmp_path / "paper" / "ua.png").exists()
    assert f"skipped: no task results in {tmp_path}/loco yet" in done.stderr
    assert "| paper UA | stable UA | ΔUA |" in (tmp_path / "stable" / "vs_paper.md").read_text()
    assert "| `stable/` | 5 |" in (tmp_path / "cost.md").read_text()

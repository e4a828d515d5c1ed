"""numser.results, numser.tables and the numser.report command on hand-made task results: row
choice, significance direction, tables, figures."""
import json
import os
from datetime import datetime

import numpy as np
import pytest
from scipy import stats

from numser import report
from numser.results import (build_results, collapse_warnings, commits, load_tasks, machines,
                            paired_test, paper_ua, row_key, run_time, seed_means_spread,
                            seed_spread, significance_summary, table4_rows)
from numser.figures import tsne_per_row
from numser.stats import holm
from numser.tables import tables_markdown

SPEAKERS = [f"c{k % 2}:s{k}" for k in range(20)]      # 20 test speakers over 2 corpora, 4 per fold


def fake_task(method, config, kwargs, fold, level, rng):
    """A task result whose per-speaker UAs scatter around ``level``; fold 0 carries a t-SNE."""
    speakers = SPEAKERS[4 * fold:4 * fold + 4]
    per_speaker = {s: float(np.clip(level + rng.normal(0, .02), 0, 1)) for s in speakers}
    y_true = rng.integers(0, 4, 40)
    y_pred = np.where(rng.random(40) < level, y_true, (y_true + 1) % 4)
    confusion = np.zeros((4, 4), int)
    np.add.at(confusion, (y_true, y_pred), 1)
    task = {"task": f"{method}__{config.replace(' ', '')}__fold{fold}", "method": method,
            "config": config, "kwargs": kwargs, "fold": fold, "n_params": 1000,
            "paper_params_k": None, "test_ua": float(np.mean(list(per_speaker.values()))),
            "per_speaker_ua": per_speaker, "confusion": confusion.tolist(),
            "y_true": y_true.tolist(), "y_pred": y_pred.tolist(),
            "test_speakers": [speakers[i % 4] for i in range(40)], "seconds_train": 1.0,
            "seconds_eval": 0.1, "seconds": 1.1, "history": [{"seconds": 0.9}],
            "finished": f"2026-01-01T00:{fold:02d}:00", "best_epoch": 3}
    if fold == 0:
        task["tsne"] = rng.normal(size=(40, 2)).tolist()
    return task


ROWS = [  # (method, config, kwargs, UA level, folds finished)
    ("dnn-elm", "3 x FC 256, context 1", {"context": 1}, .45, 5),
    ("lstm-elm", "2 x LSTM 128", {}, .50, 5),
    ("2d-cnn-lstm-dnn", "kS 2", {"kernel": [1, 2, 2]}, .40, 5),
    ("2d-cnn-lstm-dnn", "kS 32", {"kernel": [1, 2, 32]}, .48, 5),
    ("2d-cnn-lstm-dnn", "kS 128", {"kernel": [1, 2, 128]}, .90, 3),   # unfinished: never chosen
    ("3d-cnn-dnn", "depth 3, 2x2x2", {"depth": 3, "kernel": [2, 2, 2]}, .70, 5),
    ("3d-cnn-dnn", "depth 3, 2x2x128", {"depth": 3, "kernel": [2, 2, 128]}, .25, 5),
    ("3d-cnn-dnn", "depth 3, 4x2x2", {"depth": 3, "kernel": [4, 2, 2]}, .95, 5),  # Table 3 only
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    os.makedirs(out / "tasks")
    rng = np.random.default_rng(0)
    for method, config, kwargs, level, folds in ROWS:
        for fold in range(folds):
            task = fake_task(method, config, kwargs, fold, level, rng)
            with open(out / "tasks" / f"{task['task']}.json", "w") as f:
                json.dump(task, f)
    return out


def test_figure_rows_are_each_methods_best_complete_configuration(run_dir):
    results = build_results(str(run_dir))
    assert results["figure_rows"] == ["dnn-elm (3 x FC 256, context 1)", "lstm-elm (2 x LSTM 128)",
                                      "2d-cnn-lstm-dnn (kS 32)", "3d-cnn-dnn (depth 3, 2x2x2)"]
    assert results["reference"] == "3d-cnn-dnn (depth 3, 2x2x2)"


def test_speaker_test_matches_scipy_and_carries_the_direction(run_dir):
    results = build_results(str(run_dir))
    s = {row_key(x): x for x in results["summaries"]}
    good, bad = s["3d-cnn-dnn (depth 3, 2x2x2)"], s["3d-cnn-dnn (depth 3, 2x2x128)"]
    t = paired_test(good, bad, "speaker")
    keys = sorted(good["per_speaker_ua"])
    a = [good["per_speaker_ua"][k] for k in keys]
    b = [bad["per_speaker_ua"][k] for k in keys]
    assert t["n"] == 20
    assert t["pvalue"] == pytest.approx(stats.wilcoxon(a, b).pvalue, rel=1e-10)
    assert t["mean_difference"] == pytest.approx(np.mean(np.subtract(a, b)))
    assert paired_test(bad, good, "speaker")["mean_difference"] < 0


def test_holm_adjusts_the_speaker_tests_over_the_whole_family(run_dir):
    results = build_results(str(run_dir))
    speaker = [t["speaker"] for t in results["tests"]]
    np.testing.assert_allclose([sp["p_holm"] for sp in speaker],
                               holm([sp["pvalue"] for sp in speaker]))
    md = tables_markdown(results)
    n_significant = sum(sp["pvalue"] < .01 for sp in speaker)
    n_holm = sum(sp["p_holm"] < .01 for sp in speaker)
    assert 0 < n_holm <= n_significant
    assert (f"{n_significant} of the {len(speaker)} are significant at α = 0.01, {n_holm} after "
            "the adjustment") in md
    assert "| p (speakers) | p (Holm) | method | p (folds) |" in md


def test_significance_summary_splits_wins_losses_and_ties(run_dir):
    results = build_results(str(run_dir))
    summary = significance_summary(results)
    best = summary["3d-cnn-dnn (depth 3, 2x2x2)"]
    worst = summary["3d-cnn-dnn (depth 3, 2x2x128)"]
    # .70 beats every finished row by far; the unfinished kS-128 row (.90, 15 speakers) beats it
    assert "2d-cnn-lstm-dnn (kS 128)" in best["worse"]
    assert set(best["better"]) == {"dnn-elm (3 x FC 256, context 1)", "lstm-elm (2 x LSTM 128)",
                                   "2d-cnn-lstm-dnn (kS 2)", "2d-cnn-lstm-dnn (kS 32)",
                                   "3d-cnn-dnn (depth 3, 2x2x128)"}
    assert "3d-cnn-dnn (depth 3, 2x2x2)" in worst["worse"] and not worst["better"]
    assert set(summary) == {"3d-cnn-dnn (depth 3, 2x2x2)", "3d-cnn-dnn (depth 3, 2x2x128)"}


def test_tables_show_table5_for_the_four_and_figures_exist(run_dir):
    md = report.write_report(str(run_dir))
    table5 = md.split("## Table 5")[1].split("## Confusion matrices of the other rows")[0]
    for key in ("dnn-elm (3 x FC 256, context 1)", "lstm-elm (2 x LSTM 128)",
                "2d-cnn-lstm-dnn (kS 32)", "3d-cnn-dnn (depth 3, 2x2x2)"):
        assert f"**{key}**" in table5
    assert "kS 128" not in table5 and "2x2x128" not in table5
    assert ("| 3d-cnn-dnn (depth 3, 2x2x2) | 4 | 1: 2d-cnn-lstm-dnn (kS 128) | 0 | "
            "1: 3d-cnn-dnn (depth 3, 2x2x128) | 0 | 0 |") in md
    for name in ("confusion.png", "table5_confusion.png", "figure3_tsne.png", "ua.png"):
        assert os.path.getsize(run_dir / name) > 1000


def test_run_time_counts_overlaps_once_and_earlier_epochs_of_resumed_tasks():
    tasks = [  # two workers overlapping for 5 s, then a resumed task an hour later
        {"started": "2026-01-01T00:00:00", "finished": "2026-01-01T00:00:10", "seconds": 10,
         "seconds_train": 9, "seconds_eval": 1, "history": [{"seconds": 9}]},
        {"finished": "2026-01-01T00:00:15", "seconds": 10, "seconds_train": 9,
         "seconds_eval": 1, "history": [{"seconds": 9}]},          # no 'started': finished - seconds
        {"finished": "2026-01-01T01:00:00", "seconds": 2, "seconds_train": 1,
         "seconds_eval": 1, "history": [{"seconds": 30}, {"seconds": 1}]},  # 30 s before the stop
    ]
    t = run_time(tasks)
    assert t["wall_seconds"] == pytest.approx(15 + 2)
    assert t["task_seconds"] == pytest.approx(10 + 10 + 31 + 1)
    assert t["n_tasks"] == 3 and t["paused_seconds"] == 0
    # stopped from 00:00:08 to 00:00:12 (both workers' tasks in flight) and in the idle hour
    start = datetime.fromisoformat("2026-01-01T00:00:00").timestamp()
    t = run_time(tasks, pauses=[(start + 8, start + 12), (start + 100, start + 200)])
    assert t["paused_seconds"] == pytest.approx(4)
    assert t["wall_seconds"] == pytest.approx(15 + 2 - 4)
    assert t["task_seconds"] == pytest.approx((10 - 2) + (10 - 4) + 31 + 1)


def test_table3_only_kernels_stay_out_of_table4_and_the_tests(run_dir):
    results = build_results(str(run_dir))
    md = tables_markdown(results)
    table3, rest = md.split("## Table 4")
    assert "| 4x2x2 | " in table3
    table4 = rest.split("## UA per corpus")[0]
    assert "4x2x2" not in table4 and "| 3d-cnn-dnn | depth 3, 2x2x2 |" in table4
    assert results["reference"] == "3d-cnn-dnn (depth 3, 2x2x2)"   # not the 0.95 Table 3 row
    assert not any("4x2x2" in t["a"] + t["b"] for t in results["tests"])
    # a run of its own kernels only keeps them all
    own = [s for s in results["summaries"] if "4x2x2" in s["config"]]
    assert table4_rows(own) == own


def test_paper_columns_carry_the_papers_ua_by_configuration(run_dir):
    assert paper_ua("3d-cnn-dnn", {"depth": 3, "kernel": [2, 2, 128]}) == (.496, .03)
    assert paper_ua("3d-cnn-dnn-elm", {"depth": 2, "kernel": [2, 2, 32]}) == (.250, None)
    assert paper_ua("3d-cnn-dnn", {"depth": 2, "kernel": [4, 2, 2]}) is None
    assert paper_ua("2d-cnn-lstm-dnn", {"kernel": [1, 2, 32]}) == (.350, .03)
    assert paper_ua("no-such-method", {}) is None
    md = tables_markdown(build_results(str(run_dir)))
    table3, rest = md.split("## Table 4")
    assert "| 4x2x2 | " in table3 and "| 0.481 / 0.393 / 0.450 ± 0.04 |" in table3
    table4 = rest.split("## UA per corpus")[0]
    row = next(line for line in table4.splitlines() if line.startswith("| lstm-elm |"))
    assert row.split(" | ")[5] == "0.421 ± 0.11"        # the column after ours


def _write(folder, task):
    with open(folder / "tasks" / f"{task['task']}.json", "w") as f:
        json.dump(task, f)


def test_seeds_collapse_wa_f1_and_damaged_files(tmp_path, capsys):
    os.makedirs(tmp_path / "tasks")
    rng = np.random.default_rng(1)
    for seed in (0, 1):
        for fold in range(5):
            t = fake_task("3d-cnn-dnn", "depth 3, 2x2x2", {"depth": 3, "kernel": [2, 2, 2]}, fold,
                          .7, rng)
            if seed:
                t.update(seed=1, task=t["task"] + "__seed1")
            if fold == 1:                         # this task predicts 'sad' for everything
                t["y_pred"] = [2] * len(t["y_pred"])
            _write(tmp_path, t)
    (tmp_path / "tasks" / "broken.json").write_text('{"task": "x", "metho')
    results = build_results(str(tmp_path))
    assert "broken.json: damaged task result" in capsys.readouterr().err
    (s,) = results["summaries"]
    assert s["seeds"] == [0] * 5 + [1] * 5 and s["n_seeds"] == 2 and s["n_collapsed"] == 2
    assert s["collapsed_class"] == "sad"
    # WA and macro-F1 of old files (without the fields) are computed from y_true / y_pred
    tasks = load_tasks(str(tmp_path))
    wa = [np.mean(np.equal(t["y_true"], t["y_pred"])) for t in tasks]
    assert s["wa_mean"] == pytest.approx(np.mean(wa)) and s["wa_std"] == pytest.approx(np.std(wa))
    assert 0 < s["macro_f1_mean"] < 1
    # each speaker's UA is the mean over the seeds that tested it
    speaker = tasks[0]["test_speakers"][0]
    both = [t["per_speaker_ua"][speaker] for t in tasks if speaker in t["per_speaker_ua"]]
    assert len(both) == 2 and s["per_speaker_ua"][speaker] == pytest.approx(np.mean(both))
    md = tables_markdown(results)
    assert "| 10 (2 seeds) | 2/10 sad |" in md and "all folds of all 2 seeds" in md
    write = report.write_report(str(tmp_path))
    assert write == md
    (line,) = collapse_warnings(str(tmp_path))
    assert "collapsed in 2 of 10 tasks" in line and "'sad'" in line and "--recipe stable" in line


def test_seed_spread_gives_each_seeds_mean_and_skips_unfinished_seeds(tmp_path):
    """Seed 0: folds at .6; seed 1 at .5 with fold 2 collapsed; seed 2 cut short after 2 folds."""
    os.makedirs(tmp_path / "tasks")
    rng = np.random.default_rng(3)
    for seed, n_folds in ((0, 5), (1, 5), (2, 2)):
        for fold in range(n_folds):
            t = fake_task("lstm-elm", "2 x LSTM 128", {}, fold, .5, rng)
            t.update(seed=seed, task=f"{t['task']}__seed{seed}", test_ua=.6 - .1 * seed + .01 * fold)
            if (seed, fold) == (1, 2):
                t["y_pred"] = [0] * len(t["y_pred"])
            _write(tmp_path, t)
    (s,) = build_results(str(tmp_path))["summaries"]
    spread = seed_spread(s)
    assert [(r["seed"], r["n"], r["collapsed"]) for r in spread] == [(0, 5, 0), (1, 5, 1), (2, 2, 0)]
    assert [r["mean"] for r in spread] == pytest.approx([.62, .52, .405])
    std, width = seed_means_spread(spread)         # seeds 0 and 1 only: seed 2 is partial
    assert std == pytest.approx(.05) and width == pytest.approx(.1)
    md = tables_markdown(build_results(str(tmp_path)))
    assert "| lstm-elm | 2 x LSTM 128 | 0.620 | 0.520 (1) | 0.405, 2 folds | 0.050 | 0.100 |" in md


def test_rows_with_fewer_seeds_are_complete_and_table3_keeps_the_shared_seeds(tmp_path):
    """As run.sh runs them: seeds 1 and 2 for some rows only. A seed-0-only row is complete (it
    can be the reference and a Table 5 row); a row whose seed 1 is cut short is not; Table 3
    shows every kernel on seed 0 alone, so that best and worst are over 5 folds each."""
    os.makedirs(tmp_path / "tasks")
    rng = np.random.default_rng(4)
    rows = [  # (method, config, kwargs, UA level, {seed: folds finished})
        ("3d-cnn-dnn", "depth 3, 2x2x2", {"depth": 3, "kernel": [2, 2, 2]}, .55,
         {0: 5, 1: 5, 2: 5}),
        ("3d-cnn-dnn", "depth 3, 4x2x2", {"depth": 3, "kernel": [4, 2, 2]}, .5, {0: 5}),
        ("3d-cnn-dnn", "depth 2, 2x2x2", {"depth": 2, "kernel": [2, 2, 2]}, .7, {0: 5}),
        ("3d-cnn-dnn-elm", "depth 3, 2x2x2", {"depth": 3, "kernel": [2, 2, 2]}, .9,
         {0: 5, 1: 2}),
    ]
    for method, config, kwargs, level, seeds in rows:
        for seed, n_folds in seeds.items():
            for fold in range(n_folds):
                t = fake_task(method, config, kwargs, fold, level, rng)
                t.update(seed=seed, task=f"{t['task']}__seed{seed}",
                         test_ua=level + .01 * fold - .1 * seed)
                _write(tmp_path, t)
    results = build_results(str(tmp_path))
    assert results["reference"] == "3d-cnn-dnn (depth 2, 2x2x2)"     # not the half-run .9 row
    assert "3d-cnn-dnn (depth 2, 2x2x2)" in results["figure_rows"]
    t3 = {s["config"]: s for s in results["table3"]}
    assert all(s["seeds"] == [0] * 5 for s in t3.values())
    assert sorted(t3) == ["depth 3, 2x2x2", "depth 3, 4x2x2"]
    assert t3["depth 3, 2x2x2"]["fold_ua"] == pytest.approx([.55, .56, .57, .58, .59])
    md = tables_markdown(results)
    assert "UA over all folds of seed 0" in md and "seeds 1, 2 of some kernels" in md
    assert "| 2x2x2 | 0.590 | 0.550 | 0.570 ± 0.014 |" in md
    # Table 4 keeps every seed of the row
    assert "| 3d-cnn-dnn | depth 3, 2x2x2 |" in md and "| 15 (3 seeds) |" in md
    # without the 3-seed kernel, Table 3 is all seed 0 and says so, whatever the other rows ran
    for path in (tmp_path / "tasks").glob("3d-cnn-dnn__depth3,2x2x2__*"):
        path.unlink()
    md = tables_markdown(build_results(str(tmp_path)))
    assert "## Table 3 — 3D-CNN-DNN (depth 3) by kernel (L x T x S), UA over all folds\n" in md
    assert "of some kernels" not in md


def test_one_tsne_per_row_from_its_smallest_seed():
    """Runs whose seeds were added later may hold a t-SNE per seed; Figure 3 takes seed 0's."""
    rng = np.random.default_rng(5)
    tasks = []
    for seed in (2, 0, 1):
        t = fake_task("lstm-elm", "2 x LSTM 128", {}, 0, .5, rng)
        tasks.append(dict(t, seed=seed, task=f"{t['task']}__seed{seed}"))
    tasks.append(fake_task("dnn-elm", "3 x FC 256, context 1", {"context": 1}, 1, .5, rng))
    picked = tsne_per_row(tasks)
    assert list(picked) == ["lstm-elm (2 x LSTM 128)"] and picked["lstm-elm (2 x LSTM 128)"] is tasks[1]


def test_no_seed_spread_for_single_seed_runs(run_dir):
    assert "Seed spread" not in tables_markdown(build_results(str(run_dir)))


def test_fold_pairing_pairs_the_same_seed_and_fold():
    a = {"folds": [0, 1, 0, 1], "seeds": [0, 0, 1, 1], "fold_ua": [.5, .6, .7, .8]}
    b = {"folds": [1, 0, 0], "seeds": [1, 1, 0], "fold_ua": [.1, .2, .3]}
    t = paired_test(a, b, "fold")
    assert t["n"] == 3 and t["mean_difference"] == pytest.approx(((.5 - .3) + (.7 - .2) + (.8 - .1)) / 3)


def test_collapsed_class_tie_goes_to_the_first_class_in_any_process(tmp_path):
    """Two folds collapsed onto 'angry', two onto 'happy': the summary names 'happy' (CLASSES
    order), whatever the string-hash seed of the process."""
    import subprocess
    import sys
    os.makedirs(tmp_path / "tasks")
    rng = np.random.default_rng(2)
    for fold, cls in enumerate((3, 1, 3, 1)):
        task = fake_task("lstm-elm", "2 x LSTM 128", {}, fold, .5, rng)
        task.update(y_pred=[cls] * len(task["y_pred"]))
        _write(tmp_path, task)
    code = ("import sys; from numser.results import load_tasks, summarise; "
            "print(summarise(load_tasks(sys.argv[1]))['collapsed_class'])")
    seen = {subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                           text=True, env=dict(os.environ, PYTHONHASHSEED=str(seed)),
                           check=True).stdout.strip() for seed in range(6)}
    assert seen == {"happy"}


def test_command_without_figures_writes_the_text_files_only(run_dir, tmp_path, capsys):
    out = tmp_path / "run"
    os.makedirs(out / "tasks")
    for path in (run_dir / "tasks").glob("*.json"):
        (out / "tasks" / path.name).write_bytes(path.read_bytes())
    assert report.main([str(out), "--no-figures"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["results.json", "tables.md", "tasks"]
    assert (out / "tables.md").read_text() + "\n" == capsys.readouterr().out


def test_command_refuses_a_folder_without_finished_tasks(tmp_path, capsys):
    os.makedirs(tmp_path / "tasks")
    assert report.main([str(tmp_path)]) == 2
    assert f"numser.report: error: {tmp_path}: no finished task results" in capsys.readouterr().err


def test_cost_names_the_commits_and_machines_the_tasks_ran_on_in_order(run_dir):
    tasks = [{"finished": "2026-01-02T00:00:00", "git_commit": "bbb"},
             {"finished": "2026-01-01T00:00:00", "git_commit": "aaa"},
             {"finished": "2026-01-03T00:00:00", "git_commit": "bbb"}, {"finished": "2026-01-04"}]
    assert commits(tasks) == [["aaa", 1], ["bbb", 2], ["unknown", 1]]
    tasks[0]["machine"] = {"host": "vm", "cpu": "AMD EPYC", "llvm_cpu": "znver4", "cores": 2}
    assert machines(tasks) == [["not recorded", 3], ["znver4 (AMD EPYC, 2 cores)", 1]]
    md = tables_markdown(build_results(str(run_dir)))
    n = sum(folds for *_, folds in ROWS)
    assert f"Code: the tasks ran on git commit unknown ({n} tasks), in the order first used." in md
    assert f"Machines: the tasks ran on not recorded ({n} tasks), in the order first used." in md

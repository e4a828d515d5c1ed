"""`python -m numser.cv` end to end: outputs, tables = JSON, resume, kill + resume, bad arguments."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from numser.cv import Task, parse_args, plan_tasks
from numser.folds import read_folds_csv
from numser.results import build_results
from numser.tables import tables_markdown

from conftest import corpus_dir

# Every test here runs `python -m numser.cv` in a fresh process (most of them train): the
# fast part of the suite (-m 'not slow') leaves them to CI.
pytestmark = pytest.mark.slow


ROOT = Path(__file__).resolve().parents[1]


def run_cv(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "numser.cv", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv")
    out, cache = root / "out", root / "cache"
    proc = run_cv("--quick", "--methods", "dnn-elm", "--out", out, "--cache", cache)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, cache, proc


def test_quick_run_writes_every_output(quick_run):
    out, _, proc = quick_run
    for name in ("results.json", "tables.md", "run.json", "folds.csv", "confusion.png", "ua.png",
                 "tsne_dnn-elm__context1.png"):
        assert (out / name).stat().st_size > 0, name
    tasks = sorted((out / "tasks").glob("*.json"))
    assert [t.name for t in tasks] == [f"dnn-elm__context1__fold{f}.json" for f in range(5)]
    machine = json.loads(tasks[0].read_text())["machine"]
    assert machine["llvm_cpu"] and machine["cores"] == os.cpu_count()
    assert "## Table 4" in proc.stdout and "dnn-elm" in proc.stdout
    # run.json and the tables name the corpus --quick loaded, not the default it replaced
    run = json.loads((out / "run.json").read_text())
    assert run["corpora"] == ["synthetic=10"] and run["n_utterances"] == 120
    assert "Run: corpora synthetic=10;" in proc.stdout


def test_tables_hold_the_numbers_of_the_json(quick_run):
    out = quick_run[0]
    results = json.loads((out / "results.json").read_text())
    tasks = [json.loads(p.read_text()) for p in sorted((out / "tasks").glob("*.json"))]
    uas = [t["test_ua"] for t in tasks]
    (summary,) = results["summaries"]
    assert summary["fold_ua"] == pytest.approx(uas)
    mean = sum(uas) / len(uas)
    md = (out / "tables.md").read_text()
    assert f"{mean:.3f} ± {summary['std']:.3f}" in md
    assert md == tables_markdown(build_results(out))
    # each test speaker is tested exactly once over the folds
    speakers = [s for t in tasks for s in t["per_speaker_ua"]]
    assert len(speakers) == len(set(speakers)) == 10


def test_second_run_resumes_without_retraining(quick_run):
    out, cache, _ = quick_run
    before = {p.name: p.stat().st_mtime_ns for p in (out / "tasks").glob("*.json")}
    proc = run_cv("--quick", "--methods", "dnn-elm", "--out", out, "--cache", cache)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "5 already done, 0 to run" in proc.stderr
    assert "epoch" not in proc.stderr
    assert before == {p.name: p.stat().st_mtime_ns for p in (out / "tasks").glob("*.json")}


def test_killed_run_resumes_to_the_same_results(quick_run, tmp_path):
    reference_out, cache, _ = quick_run
    out = tmp_path / "killed"
    # --jobs 1: the kill lands on the one process that trains (the fixture ran with one worker
    # per core), which also shows that results do not depend on --jobs
    args = [sys.executable, "-m", "numser.cv", "--quick", "--methods", "dnn-elm", "--jobs", "1",
            "--out", str(out), "--cache", str(cache)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not list((out / "tasks").glob("*.json")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = list((out / "tasks").glob("*.json"))
    assert 1 <= len(done) < 5, "the kill should land mid-run"
    resumed = run_cv("--quick", "--methods", "dnn-elm", "--jobs", "1", "--out", out,
                     "--cache", cache)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{len(done)} already done" in resumed.stderr
    for ref in sorted((reference_out / "tasks").glob("*.json")):
        a, b = json.loads(ref.read_text()), json.loads((out / "tasks" / ref.name).read_text())
        assert (a["y_pred"], a["history"][-1]["loss"]) == (b["y_pred"], b["history"][-1]["loss"])
        # the cost of a resumed task counts the epochs of the killed process too
        assert b["seconds_train"] >= sum(h["seconds"] for h in b["history"])


def _children(pid):
    """PIDs of the live (not zombie) child processes of ``pid``, from /proc."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue                                    # the process ended while we looked
        if int(fields[1]) == pid and fields[0] != "Z":
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killing_the_command_stops_its_workers(quick_run, tmp_path, sig):
    _, cache, _ = quick_run
    log = tmp_path / "stderr.txt"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "numser.cv", "--quick", "--methods",
                                 "1d-cnn-lstm", "--jobs", "2", "--out", str(tmp_path / "out"),
                                 "--cache", str(cache)], stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.time() + 300
    while time.time() < deadline and log.read_text().count("Model(1d-cnn-lstm") < 2:
        time.sleep(0.1)                                 # both workers are training a task
    workers = [p for p in _children(proc.pid)
               if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert len(workers) == 2, log.read_text()[-2000:]
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == (130 if sig == signal.SIGTERM else -signal.SIGKILL)
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "a worker outlived the command"
    if sig == signal.SIGTERM:
        assert "interrupted; finished tasks are saved" in log.read_text()


def test_incomparable_arguments_are_refused(quick_run):
    out, cache, _ = quick_run
    proc = run_cv("--quick", "--methods", "dnn-elm", "--epochs", "1", "--out", out, "--cache", cache)
    assert proc.returncode == 2
    assert "epochs: 2 there, 1 now" in proc.stderr and "Traceback" not in proc.stderr


def test_dry_run_lists_what_is_left_and_writes_nothing(quick_run, tmp_path):
    out, cache, _ = quick_run
    before = {p.name: p.stat().st_mtime_ns for p in out.rglob("*")}
    proc = run_cv("--quick", "--methods", "dnn-elm,lstm-elm", "--out", out, "--cache", cache,
                  "--jobs", "2", "--dry-run")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| dnn-elm | 3 x FC 256, context 1 | 5 | 5 | 0 | " in proc.stdout
    assert "| lstm-elm | 2 x LSTM 128 | 5 | 0 | 5 | – |" in proc.stdout
    assert "5 of 10 tasks finished; 5 to run, none of them of a method with a finished" in proc.stdout
    assert "epoch" not in proc.stderr
    assert before == {p.name: p.stat().st_mtime_ns for p in out.rglob("*")}
    proc = run_cv("--quick", "--epochs", "1", "--out", out, "--cache", cache, "--dry-run")
    assert proc.returncode == 2 and "epochs: 2 there, 1 now" in proc.stderr
    new = tmp_path / "new"
    proc = run_cv("--quick", "--out", new, "--cache", cache, "--dry-run")
    assert proc.returncode == 0 and "0 of 20 tasks finished; 20 to run, none" in proc.stdout
    assert not new.exists()


@pytest.mark.parametrize("args, message", [
    (["--methods", "cnn"], "unknown method 'cnn'"),
    (["--corpus", "emodb=/nonexistent/emodb"], "/nonexistent/emodb"),
    (["--kernels", "2x2"], "not a kernel like 2x2x128"),
    (["--folds", "0"], "--folds must be >= 1"),
])
def test_bad_arguments_give_one_clear_line(tmp_path, args, message):
    proc = run_cv(*args, "--out", tmp_path / "o", "--cache", tmp_path / "c", timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_table_presets_plan_the_papers_grids():
    t4 = plan_tasks(parse_args(["--table4"]))
    configs = {(t.method, t.config) for t in t4}
    per_method = {m: sum(1 for c in configs if c[0] == m) for m, _ in configs}
    assert per_method == {"dnn-elm": 1, "lstm-elm": 1, "1d-cnn-lstm": 2, "2d-cnn-lstm": 3,
                          "2d-cnn-lstm-dnn": 3, "3d-cnn-dnn": 6, "3d-cnn-dnn-elm": 6}
    assert len(t4) == 22 * 5
    t3 = plan_tasks(parse_args(["--table3"]))
    assert len({t.config for t in t3}) == 12 and {t.method for t in t3} == {"3d-cnn-dnn"}


def test_real_corpora_end_to_end(tmp_path):
    emodb, ravdess = corpus_dir("emodb"), corpus_dir("ravdess")
    proc = run_cv("--quick", "--methods", "dnn-elm", "--corpus", f"emodb={emodb}",
                  "--corpus", f"ravdess={ravdess}", "--out", tmp_path / "o",
                  "--cache", tmp_path / "c")
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    (summary,) = results["summaries"]
    assert set(summary["per_corpus_ua"]) == {"emodb", "ravdess"}
    assert len(summary["per_speaker_ua"]) == 34          # 10 EmoDB + 24 RAVDESS speakers
    assert "data: 204 utterances, 34 speakers" in proc.stderr   # 6 per speaker in --quick


def _one_error_line(proc, command="numser.cv"):
    """The command failed with exit 2 and exactly one line on stderr, no traceback."""
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{command}: error: "), proc.stderr[-3000:]
    return lines[0]


def test_out_under_a_regular_file_fails_at_once(tmp_path):
    # Tests run as root, which writes into chmod-read-only folders: a parent that is a regular
    # file is the folder that cannot be created for anyone.
    (tmp_path / "file").write_text("x")
    start = time.monotonic()
    proc = run_cv("--quick", "--out", tmp_path / "file" / "out", "--cache", tmp_path / "c",
                  timeout=120)
    line = _one_error_line(proc)
    assert f"{tmp_path / 'file' / 'out'}: cannot write (Not a directory)" in line
    assert time.monotonic() - start < 60                    # before any corpus or feature work
    assert not (tmp_path / "c" / "corpora").exists()


def test_out_on_a_full_disk_fails_at_once_and_leaves_nothing(tmp_path, tiny_disk):
    with open(tiny_disk / "filler", "wb", buffering=0) as f:   # fill the 64 KiB tmpfs
        with pytest.raises(OSError):
            while True:
                f.write(b"\0" * 4096)
    proc = run_cv("--quick", "--out", tiny_disk / "out", "--cache", tmp_path / "c", timeout=120)
    line = _one_error_line(proc)
    assert f"{tiny_disk / 'out'}: cannot write (No space left on device); free some space" in line
    assert os.listdir(tiny_disk) == ["filler"]


def test_manifest_run_drops_unknown_labels_and_lists_identical_audio(tmp_path):
    import shutil

    from numser.corpora.synthetic import generate_synthetic
    corpus = tmp_path / "corpus"
    utts = generate_synthetic(corpus, seed=0, n_speakers=3, per_emotion=2)
    shutil.copy(utts[0].path, corpus / "copy.flac")
    with open(corpus / "manifest.csv", "a", encoding="utf-8") as f:
        f.write("copy.flac,synthetic,s00,,neutral\nmissing.flac,synthetic,s00,,calm\n"
                "missing2.flac,synthetic,s01,,Calm\n")
    args = ("--corpus", f"manifest={corpus}", "--methods", "dnn-elm", "--folds", "3",
            "--epochs", "1", "--jobs", "1", "--out", tmp_path / "o", "--cache", tmp_path / "c")
    refused = run_cv(*args)
    assert "row 27: label 'calm' is not one of" in _one_error_line(refused)
    assert "--drop-unknown-labels" in refused.stderr
    proc = run_cv(*args, "--drop-unknown-labels")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "dropped 2 row(s) whose label is not one of neutral, happy, sad, angry: " \
           "'Calm' (1), 'calm' (1)" in proc.stderr
    assert f"byte-identical audio under 2 paths, all kept (listed in run.json): " \
           f"{utts[0].path}, {corpus / 'copy.flac'}" in proc.stderr
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["identical_audio"] == [[utts[0].path, str(corpus / "copy.flac")]]
    assert run["n_utterances"] == 25


def test_task_names_keep_seed_0_and_mark_other_seeds():
    cfg = (("context", 1),)
    assert Task("dnn-elm", cfg, 3).name == "dnn-elm__context1__fold3"
    assert Task("dnn-elm", cfg, 3, 0).name == "dnn-elm__context1__fold3"
    assert Task("dnn-elm", cfg, 3, 2).name == "dnn-elm__context1__fold3__seed2"
    tasks = plan_tasks(parse_args(["--methods", "dnn-elm", "--seeds", "0,2"]))
    assert [(t.seed, t.fold) for t in tasks] == [(s, f) for s in (0, 2) for f in range(5)]
    assert [t.seed for t in plan_tasks(parse_args(["--methods", "dnn-elm", "--seed", "4"]))] == [4] * 5


def test_folds_csv_holds_the_split_the_tasks_used(quick_run):
    out = quick_run[0]
    split = read_folds_csv(out / "folds.csv")
    assert list(split) == [0] and len(split[0]) == 5
    rows = (out / "folds.csv").read_text().splitlines()
    assert rows[0] == "seed,fold,role,corpus,speaker" and len(rows) == 1 + 10 * 5
    for f, fold in enumerate(split[0]):
        task = json.loads((out / "tasks" / f"dnn-elm__context1__fold{f}.json").read_text())
        assert set(task["test_speakers"]) == set(fold.test)
        assert task["seed"] == 0 and task["protocol"] == "pooled" and task["held_out"] is None
        assert {"wa", "macro_f1", "collapsed"} <= set(task)


def test_adding_a_seed_runs_only_its_tasks_and_its_split_can_be_reused(quick_run, tmp_path):
    out, cache, _ = quick_run
    grown = tmp_path / "grown"
    shutil.copytree(out, grown)
    proc = run_cv("--quick", "--methods", "dnn-elm", "--seeds", "1", "--jobs", "1",
                  "--out", grown, "--cache", cache)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "5 planned, 0 already done, 5 to run" in proc.stderr
    assert json.loads((grown / "run.json").read_text())["seeds"] == [0, 1]
    split = read_folds_csv(grown / "folds.csv")
    assert sorted(split) == [0, 1] and split[0] != split[1]       # a seed draws its own split
    seeded = json.loads((grown / "tasks" / "dnn-elm__context1__fold0__seed1.json").read_text())
    assert seeded["seed"] == 1 and set(seeded["test_speakers"]) == set(split[1][0].test)
    # Figure 3's t-SNE stays with the run's first seed: seed 0's fold 0 has it, seed 1's not
    assert "tsne" in json.loads((grown / "tasks" / "dnn-elm__context1__fold0.json").read_text())
    assert "tsne" not in seeded
    (summary,) = json.loads((grown / "results.json").read_text())["summaries"]
    assert summary["seeds"] == [0] * 5 + [1] * 5 and summary["n_seeds"] == 2
    assert "10 (2 seeds)" in proc.stdout and "all folds of all 2 seeds" in proc.stdout
    # the same split and seed from the file reproduce the task exactly
    again = run_cv("--quick", "--methods", "dnn-elm", "--folds-from", grown / "folds.csv",
                   "--seeds", "1", "--only-folds", "0", "--jobs", "1",
                   "--out", tmp_path / "again", "--cache", cache)
    assert again.returncode == 0, again.stderr[-3000:]
    redone = json.loads((tmp_path / "again" / "tasks" /
                         "dnn-elm__context1__fold0__seed1.json").read_text())
    assert redone["y_pred"] == seeded["y_pred"] and redone["history"][-1]["loss"] == \
        seeded["history"][-1]["loss"]


def test_bad_split_file_is_refused_before_any_feature_extraction(quick_run, tmp_path):
    out, cache, _ = quick_run
    rows = (out / "folds.csv").read_text().splitlines()
    # line 3 (a train row of fold 0) again as a test row of fold 0: one speaker in two roles
    seed, fold, _, corpus, speaker = rows[2].split(",")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(rows + [f"{seed},{fold},test,{corpus},{speaker}"]) + "\n")
    proc = run_cv("--quick", "--methods", "dnn-elm", "--folds-from", bad, "--out", tmp_path / "o",
                  "--cache", cache, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"{bad}, line {len(rows) + 1}: speaker '{corpus}:{speaker}' is both train (line 3) " \
           "and test in seed 0, fold 0" in proc.stderr
    assert "features:" not in proc.stderr and "Traceback" not in proc.stderr


def test_too_few_speakers_for_the_folds_is_refused_before_any_feature_extraction(tmp_path):
    proc = run_cv("--quick", "--methods", "dnn-elm", "--folds", "12", "--out", tmp_path / "o",
                  "--cache", tmp_path / "c", timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "n_folds=12: the merged data cannot fill every fold" in proc.stderr
    assert "features:" not in proc.stderr and "Traceback" not in proc.stderr


def test_damaged_task_result_is_reported_and_redone(quick_run, tmp_path):
    out, cache, _ = quick_run
    damaged = tmp_path / "damaged"
    shutil.copytree(out, damaged)
    victim = damaged / "tasks" / "dnn-elm__context1__fold2.json"
    victim.write_text(victim.read_text()[:200])                    # a truncated write
    proc = run_cv("--quick", "--methods", "dnn-elm", "--jobs", "1", "--out", damaged,
                  "--cache", cache)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{victim}: damaged task result" in proc.stderr and "run again" in proc.stderr
    assert "4 already done, 1 to run" in proc.stderr
    ref = json.loads((out / "tasks" / victim.name).read_text())
    assert json.loads(victim.read_text())["y_pred"] == ref["y_pred"]


# --- leave one corpus out, kept models ----------------------------------------------------------

def test_loco_task_names():
    cfg = (("context", 1),)
    assert Task("dnn-elm", cfg, 0, 0, "loco", "emodb").name == "dnn-elm__context1__loco-emodb"
    assert Task("dnn-elm", cfg, 1, 3, "loco", "emovo").name == "dnn-elm__context1__loco-emovo__seed3"
    tasks = plan_tasks(parse_args(["--methods", "dnn-elm", "--protocol", "loco"]),
                       ["a", "b", "c"])
    assert [(t.fold, t.held_out, t.protocol) for t in tasks] == [(0, "a", "loco"), (1, "b", "loco"),
                                                                  (2, "c", "loco")]


@pytest.mark.slow
def test_loco_over_three_corpora_never_trains_on_the_test_corpus(tmp_path):
    from numser.model_file import load_model_file
    corpora = {name: corpus_dir(name) for name in ("emodb", "ravdess", "emovo")}
    out = tmp_path / "o"
    proc = run_cv("--methods", "dnn-elm,lstm-elm", "--protocol", "loco", "--keep-models",
                  "--epochs", 1, "--max-per-speaker", 4, "--jobs", 1,
                  "--corpus", f"emodb={corpora['emodb']}", "--corpus", f"ravdess={corpora['ravdess']}",
                  "--corpus", f"manifest={corpora['emovo']}", "--out", out, "--cache", tmp_path / "c",
                  timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    speakers = {"emodb": 10, "ravdess": 24, "emovo": 6}
    for method in ("dnn-elm", "lstm-elm"):
        for held_out in speakers:
            stem = next((out / "tasks").glob(f"{method}__*loco-{held_out}.json")).with_suffix("")
            task = json.loads(stem.with_suffix(".json").read_text())
            assert task["protocol"] == "loco" and task["held_out"] == held_out
            tested = set(task["test_speakers"])
            assert {s.split(":")[0] for s in tested} == {held_out}
            assert len(tested) == speakers[held_out]             # every speaker of the corpus
            training = load_model_file(stem.with_suffix(".npz")).meta["training"]
            seen = set(training["speakers"]["train"]) | set(training["speakers"]["val"])
            assert not seen & tested, f"{held_out} speakers leaked into training or validation"
            assert not {s for s in seen if s.startswith(held_out + ":")}
            assert sorted(training["corpora"]) == sorted(set(speakers) - {held_out})
            val = training["speakers"]["val"]      # 20 % of each training corpus's speakers
            assert sorted(s.split(":")[0] for s in val) == sorted(
                c for c in speakers if c != held_out for _ in range(round(0.2 * speakers[c])))
    results = json.loads((out / "results.json").read_text())
    loco = results["loco"]
    assert loco["corpora"] == ["emodb", "emovo", "ravdess"] and len(loco["rows"]) == 2
    assert all(r["mean"] is not None and set(r["ua"]) == set(speakers) for r in loco["rows"])
    (test,) = loco["tests"]                  # dnn-elm vs lstm-elm, paired by the 40 test speakers
    sp = test["speaker"]
    assert {test["a"], test["b"]} == {r["key"] for r in loco["rows"]}
    assert sp["n"] + sp.get("n_zero", 0) == 40 or sp["method"] == "all differences zero"
    assert 0 < sp["pvalue"] <= 1
    tables = (out / "tables.md").read_text()
    assert "## Leave one corpus out" in tables and "| emodb | emovo | ravdess | mean UA | WA |" in tables
    assert json.loads((out / "run.json").read_text())["protocol"] == "loco"


def test_loco_needs_two_corpora(tmp_path):
    proc = run_cv("--protocol", "loco", "--corpus", "synthetic=4", "--out", tmp_path / "o",
                  "--cache", tmp_path / "c", timeout=300)
    assert "at least two corpora" in _one_error_line(proc)
    proc = run_cv("--protocol", "loco", "--only-folds", "1", "--out", tmp_path / "o",
                  "--cache", tmp_path / "c", timeout=120)
    assert "pooled protocol" in _one_error_line(proc)


def test_keep_models_writes_a_model_file_per_pooled_task(quick_run, tmp_path):
    from numser.model_file import load_model_file
    out, cache, _ = quick_run
    kept = tmp_path / "kept"
    shutil.copytree(out, kept)
    proc = run_cv("--quick", "--methods", "dnn-elm", "--only-folds", "0", "--keep-models",
                  "--out", kept, "--cache", cache)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 to run" in proc.stderr              # the task without a model file is redone
    task = json.loads((kept / "tasks" / "dnn-elm__context1__fold0.json").read_text())
    meta = load_model_file(kept / "tasks" / "dnn-elm__context1__fold0.npz").meta
    assert meta["training"]["protocol"] == "pooled" and meta["training"]["fold"] == 0
    assert meta["training"]["val_ua"] == task["val_ua"]
    assert not set(meta["training"]["speakers"]["train"]) & set(task["test_speakers"])


@pytest.mark.slow
def test_keep_models_on_a_dask_cluster_ships_the_model_file_to_the_client(tmp_path):
    pytest.importorskip("distributed", reason="dask[distributed] is optional: pip install -e '.[dask]'")
    from numser.model_file import load_model_file
    out = tmp_path / "o"
    proc = run_cv("--corpus", "synthetic=10", "--max-per-speaker", 8, "--methods", "dnn-elm",
                  "--folds", 3, "--only-folds", 0, "--epochs", 1, "--scheduler", "local",
                  "--jobs", 1, "--keep-models", "--out", out, "--cache", tmp_path / "c",
                  timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    task = json.loads((out / "tasks" / "dnn-elm__context1__fold0.json").read_text())
    assert "_model_file" not in task                   # the bytes went to the .npz, not the JSON
    trained = load_model_file(out / "tasks" / "dnn-elm__context1__fold0.npz")
    assert trained.meta["training"]["test_ua"] == task["test_ua"]


def test_stable_recipe_and_train_fraction_are_recorded_and_shown(quick_run, tmp_path):
    reference_out, cache, _ = quick_run
    out = tmp_path / "stable-half"
    proc = run_cv("--quick", "--methods", "dnn-elm", "--only-folds", "0", "--recipe", "stable",
                  "--train-fraction", "0.5", "--out", out, "--cache", cache)
    assert proc.returncode == 0, proc.stderr[-3000:]
    task = json.loads((out / "tasks" / "dnn-elm__context1__fold0.json").read_text())
    full = json.loads((reference_out / "tasks" / "dnn-elm__context1__fold0.json").read_text())
    assert task["recipe"] == "stable" and task["train_fraction"] == 0.5
    assert full["recipe"] == "paper" and full["train_fraction"] == 1.0
    assert task["test_speakers"] == full["test_speakers"] and task["n_val"] == full["n_val"]
    assert task["n_train"] == full["n_train"] // 2          # 3 of the 6 training speakers
    assert json.loads((out / "run.json").read_text())["recipe"] == "stable"
    assert "recipe stable (lr 0.001)" in (out / "tables.md").read_text()
    assert "recipe paper (lr 0.003)" in (reference_out / "tables.md").read_text()
    refused = run_cv("--quick", "--methods", "dnn-elm", "--only-folds", "0", "--out", out,
                     "--cache", cache)
    assert refused.returncode == 2 and "recipe" in refused.stderr


@pytest.mark.parametrize("args, message", [
    (["--recipe", "gentle"], "invalid choice"),
    (["--train-fraction", "0"], "--train-fraction must be in (0, 1]"),
])
def test_bad_recipe_options_are_refused(tmp_path, args, message):
    proc = run_cv("--quick", "--out", tmp_path / "o", *args)
    assert proc.returncode == 2 and message in proc.stderr

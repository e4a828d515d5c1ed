"""`python -m numser.cv --scheduler`: cv's tasks on a real Dask cluster over TCP on 127.0.0.1.

One scheduler and two single-threaded worker processes (`dask scheduler` / `dask worker`, no
nanny, so a killed worker stays dead) serve every test of this module. The plan is small: a
10-speaker synthetic corpus, DNN-ELM, 3 folds, 4 epochs (a few seconds a task), so a kill
after the first epoch lands in the middle of a task.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip(
    "distributed", reason="dask[distributed] is optional: pip install -e '.[test]' installs it")

ROOT = Path(__file__).resolve().parents[1]
PLAN = ["--corpus", "synthetic=10", "--max-per-speaker", "12", "--methods", "dnn-elm",
        "--folds", "3", "--epochs", "4", "--patience", "0"]
TASKS = [f"dnn-elm__context1__fold{f}" for f in range(3)]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
# Workers get one Numba thread each (one task per core); the local reference runs with the
# default, one per core: training is bit-identical on any thread count.
WORKER_ENV = dict(ENV, NUMBA_NUM_THREADS="1")


def _default_sigint():
    """In the child before exec: SIGINT back to its default. A test run started in the background
    by a non-interactive shell inherits SIGINT ignored, and Python keeps an inherited 'ignore',
    so the Ctrl-C tests would send a signal nobody hears."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args, log, env=ENV):
    with open(log, "w") as err:
        return subprocess.Popen([sys.executable, "-m", *args], env=env, stdout=subprocess.DEVNULL,
                                stderr=err, cwd=ROOT, preexec_fn=_default_sigint)


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Cluster:
    """A scheduler and worker processes on 127.0.0.1; every one is stopped at the end."""

    def __init__(self, folder):
        self.folder, self.procs, self.workers = folder, [], {}
        file = folder / "scheduler.json"
        self.procs.append(_start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", "0", "--no-dashboard", "--scheduler-file", str(file)],
                                 folder / "scheduler.log", WORKER_ENV))
        _wait_for(lambda: file.exists() and file.stat().st_size, 60, "the scheduler")
        self.address = json.loads(file.read_text())["address"]
        assert self.address.startswith("tcp://127.0.0.1:")
        for i in range(2):
            log = folder / f"worker{i}.log"
            proc = _start(["distributed.cli.dask_worker", self.address, "--host", "127.0.0.1",
                           "--nthreads", "1", "--no-nanny", "--no-dashboard",
                           "--local-directory", str(folder / f"w{i}"),
                           "--preload", str(ROOT / "tests" / "dask_fault_preload.py")], log,
                          WORKER_ENV)
            self.procs.append(proc)
            address = _wait_for(lambda: re.search(r"Start worker at:\s+(tcp://\S+)",
                                                  log.read_text()), 60, "a worker")
            self.workers[address.group(1)] = (proc, log)
        with distributed.Client(self.address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)

    def close(self):
        for proc in reversed(self.procs):
            _stop(proc)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield c
    finally:
        c.close()
    assert all(p.poll() is not None for p in c.procs)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same plan run locally with --jobs 1: the numbers a cluster run must reproduce."""
    root = tmp_path_factory.mktemp("local")
    proc = subprocess.run([sys.executable, "-m", "numser.cv", *PLAN, "--jobs", "1",
                           "--out", str(root / "out"), "--cache", str(root / "cache")],
                          env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "out", root / "cache"


def _same_numbers(reference_out, out, tasks=TASKS):
    names = sorted(p.name for p in (out / "tasks").iterdir())
    assert names == [t + ".json" for t in tasks]       # one result per task, no temporary files
    for name in names:
        a = json.loads((reference_out / "tasks" / name).read_text())
        b = json.loads((out / "tasks" / name).read_text())
        assert a["y_pred"] == b["y_pred"], name
        assert [h["loss"] for h in a["history"]] == [h["loss"] for h in b["history"]], name
        assert [h["val_ua"] for h in a["history"]] == [h["val_ua"] for h in b["history"]], name


@pytest.mark.slow
def test_a_worker_killed_mid_task_loses_nothing(cluster, reference, tmp_path):
    out = tmp_path / "out"
    client = _start(["numser.cv", *PLAN, "--scheduler", cluster.address, "--out", str(out),
                     "--cache", str(reference[1])], tmp_path / "client.log")
    try:
        def training_worker():
            for address, (proc, log) in cluster.workers.items():
                m = re.search(r"\[(\S+)\] epoch  1/4", log.read_text())
                if m:
                    return address, proc, m.group(1)
        killed, proc, task = _wait_for(training_worker, 120, "a worker to finish an epoch")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert client.wait(timeout=180) == 0, (tmp_path / "client.log").read_text()[-3000:]
    finally:
        _stop(client)
    log = (tmp_path / "client.log").read_text()
    assert "3/3 tasks done" in log
    # the second copy of the sent arrays was kept (the AMM paused), and the AMM runs again after
    assert "Active Memory Manager paused for this run" in log
    with distributed.Client(cluster.address, timeout="30s") as c:
        assert c.amm.running()
    # the killed task ran again on the other worker and resumed from its shared checkpoint
    (survivor,) = [a for a in cluster.workers if a != killed]
    assert re.search(rf"{task} on {re.escape(survivor)}", log), log
    survivor_log = cluster.workers[survivor][1].read_text()
    assert re.search(rf"\[{task}\] resumed from \S+ after epoch [1-3]\b", survivor_log)
    _same_numbers(reference[0], out)
    assert not list((out / "tasks").glob(".*"))
    del cluster.workers[killed]                          # the other tests have one worker left


@pytest.mark.slow
def test_a_failing_task_is_reported_and_the_others_finish(cluster, reference, tmp_path):
    out = tmp_path / "inject-fault"                      # dask_fault_preload.py fails fold 1 here
    proc = subprocess.run([sys.executable, "-m", "numser.cv", *PLAN, "--scheduler",
                           cluster.address, "--out", str(out), "--cache", str(reference[1])],
                          env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert ("numser.cv: error: task dnn-elm__context1__fold1 failed on the cluster: "
            "RuntimeError: injected fault in dnn-elm__context1__fold1") in proc.stderr
    assert "1 of 3 tasks failed" in proc.stderr
    assert sorted(p.name for p in (out / "tasks").iterdir()) == \
        ["dnn-elm__context1__fold0.json", "dnn-elm__context1__fold2.json"]


def _interrupt(args, log, ready, what):
    """Start ``python -m numser.cv args``, Ctrl-C it once ``ready(log text)``; check it stopped."""
    proc = _start(["numser.cv", *args], log)
    try:
        _wait_for(lambda: ready(log.read_text()), 120, what)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130, log.read_text()[-3000:]
    finally:
        _stop(proc)
    assert "interrupted; finished tasks are saved" in log.read_text()


@pytest.mark.slow
def test_ctrl_c_and_resume_between_local_and_cluster(cluster, reference, tmp_path):
    out = tmp_path / "out"
    args = [*PLAN, "--out", str(out), "--cache", str(reference[1])]
    # 1. start locally; Ctrl-C in the middle of fold 1
    _interrupt([*args, "--jobs", "1"], tmp_path / "local.log",
               lambda text: re.search(r"fold1\] epoch  1/4", text), "fold 1 to train")
    assert sorted(p.name for p in (out / "tasks").iterdir()) == [TASKS[0] + ".json"]
    # 2. go on on the cluster: fold 1 resumes on a worker from the checkpoint left locally;
    #    Ctrl-C on the client once a result is in: it stops and keeps what finished
    log = tmp_path / "cluster.log"
    _interrupt([*args, "--scheduler", cluster.address], log,
               lambda text: "1/2 tasks done" in text, "a result from the cluster")
    assert "1 already done, 2 to run" in log.read_text()
    assert any(re.search(rf"\[{TASKS[1]}\] resumed from \S+ after epoch [1-3]\b",
                         w[1].read_text()) for w in cluster.workers.values())
    done = list((out / "tasks").iterdir())
    assert len(done) >= 2
    # 3. finish locally, without Dask
    proc = subprocess.run([sys.executable, "-m", "numser.cv", *args, "--jobs", "1"],
                          env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{len(done)} already done" in proc.stderr
    _same_numbers(reference[0], out)


@pytest.mark.slow
def test_local_cluster_gives_the_same_numbers(reference, tmp_path):
    # a 3D CNN: its Numba kernels run on 2 threads here and on 1 in each of the 2 workers
    plan = ["--corpus", "synthetic=10", "--max-per-speaker", "12", "--methods", "3d-cnn-dnn",
            "--kernels", "2x2x2", "--folds", "3", "--epochs", "2", "--patience", "0",
            "--cache", str(reference[1])]             # the corpus is generated already
    runs = {}
    for name, how in (("local", ["--jobs", "1"]), ("dask", ["--scheduler", "local", "--jobs", "2"])):
        runs[name] = subprocess.run([sys.executable, "-m", "numser.cv", *plan, *how,
                                     "--out", str(tmp_path / name)],
                                    env=ENV, capture_output=True, text=True, timeout=300)
        assert runs[name].returncode == 0, runs[name].stderr[-3000:]
    log = runs["dask"].stderr
    assert f"LocalCluster of 2 worker processes ({max(1, os.cpu_count() // 2)} Numba threads" in log
    assert re.search(r"tasks done  \(\S+ on tcp://127\.0\.0\.1:\d+", log)
    _same_numbers(tmp_path / "local", tmp_path / "dask",
                  [f"3d-cnn-dnn__depth3__kernel2x2x2__fold{f}" for f in range(3)])


def test_scheduler_without_dask_says_what_to_install(tmp_path):
    # a stand-in `distributed` package that fails to import, as when Dask is not installed
    fake = tmp_path / "site" / "distributed"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named distributed')\n")
    env = dict(ENV, PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), str(ROOT)]))
    proc = subprocess.run([sys.executable, "-m", "numser.cv", *PLAN, "--scheduler", "local",
                           "--out", str(tmp_path / "o"), "--cache", str(tmp_path / "c")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "numser.cv: error: --scheduler needs Dask, which is not installed: "
        "pip install 'numser[dask]' (or pip install 'dask[distributed]')")
    assert "Traceback" not in proc.stderr

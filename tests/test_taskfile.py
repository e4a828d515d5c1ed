"""read_task: every committed task file reads; a damaged one is refused naming file and field."""
import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from numser import FileFormatError
from numser.taskfile import read_task

ROOT = Path(__file__).resolve().parents[1]


def test_every_committed_task_file_reads():
    files = sorted(glob.glob(str(ROOT / "results" / "*" / "tasks" / "*.json")))
    if not files:
        pytest.skip("no committed results/*/tasks/*.json")
    for path in files:
        task = read_task(path)
        assert len(task["y_true"]) == len(task["y_pred"])


def _task(tmp_path, **change):
    files = sorted(glob.glob(str(ROOT / "results" / "*" / "tasks" / "dnn-elm*.json")))
    if not files:
        pytest.skip("no committed results/*/tasks/dnn-elm*.json")
    task = json.loads(Path(files[0]).read_text())
    task.update(change)
    path = tmp_path / "tasks" / "t.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(task))
    return path


@pytest.mark.parametrize("change, message", [
    ({"test_ua": "x"}, r"field 'test_ua': must be a number in \[0, 1\], found 'x'"),
    ({"test_ua": float("nan")}, r"field 'test_ua': must be a number in \[0, 1\], found nan"),
    ({"y_pred": [0]}, r"field 'y_pred': has 1 entries but y_true has"),
    ({"fold": True}, r"field 'fold': must be an integer >= 0"),
    ({"kwargs": {"kernel": [2, 2]}}, r"field 'kwargs'"),
    ({"machine": {"host": "vm", "cpu": "x", "llvm_cpu": "znver4", "cores": 0}},
     r"field 'machine': must be an object of host, cpu and llvm_cpu"),
])
def test_a_wrong_field_is_named(tmp_path, change, message):
    path = _task(tmp_path, **change)
    with pytest.raises(FileFormatError, match=message) as info:
        read_task(path)
    assert str(info.value).startswith(str(path))


def test_a_missing_field_and_a_cut_off_file(tmp_path):
    path = _task(tmp_path)
    task = json.loads(path.read_text())
    del task["confusion"]
    path.write_text(json.dumps(task))
    with pytest.raises(FileFormatError, match=r"field\(s\) confusion missing"):
        read_task(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(FileFormatError, match=r"t.json: damaged task result: .*cut off, or not JSON"):
        read_task(path)


def test_report_command_names_a_damaged_task_in_one_line(tmp_path):
    """numser.report leaves a damaged task out of the tables with one warning line naming it."""
    good = _task(tmp_path)
    bad = good.with_name("u.json")
    bad.write_bytes(good.read_bytes()[:50])
    proc = subprocess.run([sys.executable, "-m", "numser.report", str(tmp_path)],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and warnings[0].startswith(
        f"numser.report: warning: {bad}: damaged task result: ")
    assert warnings[0].endswith("(cut off, or not JSON); left out of the tables")

"""docs/extending.md's script, run as the page shows: a method of one's own through cv and report.

The page's Python block is written to a file and run with ``--quick --jobs 2`` (so the worker
processes must find the method too); its rows are checked in the task files, in tables.md, and
in the report rebuilt here, where the method is not registered.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from numser import methods
from numser.results import build_results
from numser.tables import tables_markdown

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "extending.md"


def page_script():
    """The first ```python block of docs/extending.md."""
    return re.search(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S).group(1)


@pytest.mark.slow
def test_a_method_of_ones_own_runs_through_cv_and_the_report(tmp_path):
    script = tmp_path / "my_methods.py"
    script.write_text(page_script(), encoding="utf-8")
    out, cache = tmp_path / "out", tmp_path / "cache"
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--methods", "lld-mlp", "--cells", "16",
         "--jobs", "2", "--out", str(out), "--cache", str(cache)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = sorted(p.name for p in (out / "tasks").glob("*.json"))
    assert names == [f"lld-mlp__cells16__fold{f}.json" for f in range(5)]
    n_params = 198 * 32 * 16 + 16 + 16 * 4 + 4
    for name in names:
        task = json.loads((out / "tasks" / name).read_text())
        assert (task["method"], task["config"], task["kwargs"]) == (
            "lld-mlp", "FC 16 on all frames", {"cells": 16})
        assert task["n_params"] == n_params and task["paper_params_k"] is None
        assert len(task["history"]) == 2 and len(task["y_pred"]) == task["n_test"] > 0
    tables = (out / "tables.md").read_text()
    row = [line for line in tables.splitlines() if line.startswith("| lld-mlp | FC 16 on all")]
    assert row and row[0].split(" | ")[2] == f"{n_params:,}", tables
    assert "No proposed model (3D-CNN) in this run" in tables
    # the report from the task files alone, in a process that does not know the method
    assert methods.find("lld-mlp") is None
    results = build_results(str(out))
    assert results["table4_rows"] == ["lld-mlp (FC 16 on all frames)"]
    assert results["proposed"] == [] and results["tests"] == []
    assert tables_markdown(results) == tables

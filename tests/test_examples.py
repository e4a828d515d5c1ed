"""Every script in examples/ runs to the end and draws at least one figure.

Each ``examples/*.py`` (found by glob, so new examples are covered without editing this file) runs
in a fresh Python process with ``--out <tmp_path>``, plus ``--quick`` when its ``--help`` offers
that option. It must exit with status 0, print what it shows, and write at least one new PNG.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow        # each example is a fresh process that compiles or trains

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))
TIMEOUT = 300   # seconds per script; a normal run takes under a minute, --quick seconds


def _env():
    env = dict(os.environ, MPLBACKEND="Agg")
    # The repository's numser, whether or not it is pip-installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _offers_quick(script):
    """True when the script's --help mentions --quick (only asked if its source mentions it)."""
    if "quick" not in script.read_text(encoding="utf-8"):
        return False
    help_text = subprocess.run([sys.executable, str(script), "--help"], cwd=ROOT, env=_env(),
                               capture_output=True, text=True, timeout=TIMEOUT)
    assert help_text.returncode == 0, f"{script.name} --help failed:\n{help_text.stderr[-2000:]}"
    return "--quick" in help_text.stdout


def test_examples_found():
    assert len(EXAMPLES) >= 3, f"expected the example scripts in {ROOT / 'examples'}"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_and_draws(script, tmp_path):
    args = [sys.executable, str(script), "--out", str(tmp_path)]
    if _offers_quick(script):
        args.append("--quick")
    start = time.time()
    proc = subprocess.run(args, cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, (
        f"{' '.join(args[1:])} exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
    assert proc.stdout.strip(), f"{script.name} printed nothing; examples say what they show"
    new_pngs = [p for p in tmp_path.rglob("*.png") if p.stat().st_mtime >= start - 1]
    assert new_pngs, (f"{script.name} wrote no PNG to --out {tmp_path}; found "
                      f"{sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob('*'))[:20]}")

"""The thread policy: one BLAS thread at import unless the user chose, cores // jobs per worker."""
import os
import subprocess
import sys
from pathlib import Path

from numser.thread_policy import (BLAS_THREAD_VARS, WORKER_THREAD_VARS, single_thread_blas,
                                  threads_per_worker, worker_environment)

ROOT = Path(__file__).resolve().parents[1]
SHOW = "import os, numser; print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['MKL_NUM_THREADS'])"


def _import_numser(**env):
    """The BLAS variables a fresh ``import numser`` leaves, with ``env`` set before it."""
    base = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARS}
    out = subprocess.run([sys.executable, "-c", SHOW], env=dict(base, PYTHONPATH=str(ROOT), **env),
                         capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_import_numser_gives_blas_one_thread():
    assert _import_numser() == ["1", "1"]


def test_a_users_setting_wins():
    assert _import_numser(OPENBLAS_NUM_THREADS="2") == ["2", "1"]


def test_single_thread_blas_uses_setdefault(monkeypatch):
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    single_thread_blas()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1" and os.environ["MKL_NUM_THREADS"] == "3"


def test_worker_threads_share_the_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert [threads_per_worker(j) for j in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]
    monkeypatch.setattr(os, "cpu_count", lambda: None)          # unknown: one core
    assert threads_per_worker(2) == 1
    assert worker_environment(4) == {var: "4" for var in WORKER_THREAD_VARS}
    assert "NUMBA_NUM_THREADS" in WORKER_THREAD_VARS and set(BLAS_THREAD_VARS) <= set(WORKER_THREAD_VARS)

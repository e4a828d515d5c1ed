"""The thread policy: one BLAS thread at import unless the user chose, cores // jobs per worker."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


POOL = """
import ctypes, sys
import numpy
if sys.argv[1] == "numser":
    import numser
with open("/proc/self/maps") as maps:      # not numser's loaded_openblas: no numser import
    paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower()})
sizes = []
for path in paths:
    lib = ctypes.CDLL(path)
    for name in ("openblas_get_num_threads", "scipy_openblas_get_num_threads64_",
                 "scipy_openblas_get_num_threads", "openblas_get_num_threads64_"):
        if hasattr(lib, name):
            sizes.append(getattr(lib, name)())
            break
print(*sizes)
"""


def _pool_sizes(then, **env):
    """Thread-pool size of each OpenBLAS NumPy loaded, in a process that imported NumPy first,
    then (``then='numser'``) numser or (``'nothing'``) not; with ``env`` set."""
    base = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARS}
    out = subprocess.run([sys.executable, "-c", POOL, then], capture_output=True, text=True,
                         env=dict(base, PYTHONPATH=str(ROOT), **env), check=True)
    return [int(n) for n in out.stdout.split()]


@pytest.mark.skipif(not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2,
                    reason="the loaded OpenBLAS is found through /proc/self/maps (Linux), and "
                           "one core leaves nothing to limit")
def test_numpy_imported_first_still_gets_one_blas_thread():
    before = _pool_sizes("nothing")
    if not before:
        pytest.skip("this NumPy does not use OpenBLAS")
    assert max(before) > 1                           # NumPy alone: a thread per core
    assert _pool_sizes("numser") == [1] * len(before)
    assert _pool_sizes("numser", OPENBLAS_NUM_THREADS="2") == [2] * len(before)  # the user's


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

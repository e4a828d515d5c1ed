"""numser's thread policy: the cores go to the Numba kernels, BLAS gets one thread.

numser runs its hot loops in parallel Numba kernels. A second thread pool inside OpenBLAS/MKL
fighting for the same cores made training steps 1.3-4x slower on 2 cores (docs/performance.md,
"Thread policy"), and a one-thread BLAS also sums its matrix products in one order
(docs/performance.md, "Reproducibility"). Thread pools read their size from the environment
once, when the library starts, so the policy is a set of environment variables:

- ``import numser`` calls :func:`single_thread_blas` before anything of numser imports NumPy:
  ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` default to 1 (``setdefault``: a user's own
  setting wins). A script that imports NumPy first (``import numpy as np`` then ``import
  numser``, as most do) has an OpenBLAS that read the environment already and started a thread
  per core; on Linux each OpenBLAS loaded by then is asked for one thread through its C API
  (:func:`limit_loaded_openblas`). Elsewhere, or with MKL, import numser first.
- ``cv --jobs J`` runs J worker processes with :func:`threads_per_worker` (cores // J) threads
  each, set by :func:`worker_environment` before the worker imports anything; a Dask
  ``LocalCluster`` gives its workers the same Numba thread count (numser/distributed.py).

How a layer then uses the threads a process has (its pieces of work on Python threads, with
the same bits on any count) is the other half, ``numser/nn/threads.py``.

This module imports nothing but ``os`` and ``sys`` at the top: it must run before NumPy is loaded.
"""
import os
import sys

#: The BLAS libraries' thread-count variables (NumPy and SciPy link OpenBLAS or MKL).
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

#: Every pool a worker process sizes: Numba's kernels, OpenMP, BLAS.
WORKER_THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS") + BLAS_THREAD_VARS


#: The C function that sizes OpenBLAS's pool, under the names builds give it: plain, and the
#: NumPy and SciPy wheels' (symbol prefix ``scipy_``, ``64_`` for 64-bit integers).
OPENBLAS_SETTERS = tuple(prefix + "openblas_set_num_threads" + suffix
                         for prefix in ("", "scipy_") for suffix in ("", "64_"))


def single_thread_blas():
    """Default every BLAS pool to one thread, unless the user set its variable; when NumPy was
    imported first, also tell the OpenBLAS it loaded (:func:`limit_loaded_openblas`)."""
    user_chose = "OPENBLAS_NUM_THREADS" in os.environ
    for var in BLAS_THREAD_VARS:
        os.environ.setdefault(var, "1")
    if "numpy" in sys.modules and not user_chose:
        limit_loaded_openblas(1)


def loaded_openblas():
    """Paths of the OpenBLAS libraries mapped into this process (Linux; elsewhere none)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if line.count(" ") >= 5}
    except OSError:
        return []
    return sorted(p for p in paths if "openblas" in os.path.basename(p).lower())


def limit_loaded_openblas(threads):
    """Set the pool of every loaded OpenBLAS to ``threads``; returns the paths it set."""
    import ctypes                  # here: only a process that imported NumPy first needs it
    done = []
    for path in loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in OPENBLAS_SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(threads)
                done.append(path)
                break
    return done


def threads_per_worker(jobs):
    """Threads of each of ``jobs`` parallel workers: the cores shared evenly, at least 1."""
    return max(1, (os.cpu_count() or 1) // jobs)


def worker_environment(threads):
    """{variable: value} that sizes every pool of a fresh worker process to ``threads``."""
    return {var: str(threads) for var in WORKER_THREAD_VARS}

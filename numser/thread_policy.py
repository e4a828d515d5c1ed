"""numser's thread policy: the cores go to the Numba kernels, BLAS gets one thread.

numser runs its hot loops in parallel Numba kernels. A second thread pool inside OpenBLAS/MKL
fighting for the same cores made training steps 1.3-4x slower on 2 cores (docs/performance.md,
"Thread policy"), and a one-thread BLAS also sums its matrix products in one order
(docs/performance.md, "Reproducibility"). Thread pools read their size from the environment
once, when the library starts, so the policy is a set of environment variables:

- ``import numser`` calls :func:`single_thread_blas` before anything of numser imports NumPy:
  ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` default to 1 (``setdefault``: a user's own
  setting wins; it has no effect when NumPy was imported first).
- ``cv --jobs J`` runs J worker processes with :func:`threads_per_worker` (cores // J) threads
  each, set by :func:`worker_environment` before the worker imports anything; a Dask
  ``LocalCluster`` gives its workers the same Numba thread count (numser/distributed.py).

How a layer then uses the threads a process has (its pieces of work on Python threads, with
the same bits on any count) is the other half, ``numser/nn/threads.py``.

This module imports nothing but ``os``: it must run before NumPy is loaded.
"""
import os

#: The BLAS libraries' thread-count variables (NumPy and SciPy link OpenBLAS or MKL).
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

#: Every pool a worker process sizes: Numba's kernels, OpenMP, BLAS.
WORKER_THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS") + BLAS_THREAD_VARS


def single_thread_blas():
    """Default every BLAS pool to one thread, unless the user set its variable."""
    for var in BLAS_THREAD_VARS:
        os.environ.setdefault(var, "1")


def threads_per_worker(jobs):
    """Threads of each of ``jobs`` parallel workers: the cores shared evenly, at least 1."""
    return max(1, (os.cpu_count() or 1) // jobs)


def worker_environment(threads):
    """{variable: value} that sizes every pool of a fresh worker process to ``threads``."""
    return {var: str(threads) for var in WORKER_THREAD_VARS}

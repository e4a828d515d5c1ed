"""Independent pieces of one layer's work on numser's threads; the numbers never depend on how many.

numser's BLAS runs on one thread (the process-level policy: ``numser/thread_policy.py``), so a matrix product alone keeps one
core busy. The layers whose time is mostly matrix products (LSTM, Dense) instead cut their work
into pieces that write disjoint outputs and run the pieces on :func:`n_threads` threads: NumPy's ``matmul`` and ufuncs and ``nogil`` Numba kernels release the GIL, so Python
threads run them side by side. A piece is never a partial sum that is added to another piece
afterwards: no sum is reordered.

One thing needs checking rather than reasoning. Cutting a product ``a @ b`` into blocks of rows
(or of columns) gives each output element the same dot product, but the BLAS may pick another
code path for a smaller product (OpenBLAS has separate kernels for small matrices and for a
single row), and another path may sum in another order. :func:`exact_blocks` therefore computes
the product of random matrices of the same shapes and memory layouts once whole and once in
blocks, and allows the blocks only if every element agrees bit for bit; otherwise the product
stays whole. The answer is cached per (shapes, layouts, dtype, axis, number of blocks). So a
product gives the bits of the unsplit ``a @ b`` on any number of threads.

Equation: for blocks R_1..R_k of the rows, (a @ b)[R_j] = a[R_j] @ b; for blocks C_1..C_k of the
columns, (a @ b)[:, C_j] = a @ b[:, C_j].
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numba
import numpy as np

_pool = None            # (pid, workers, ThreadPoolExecutor)
_local = threading.local()
_exact = {}             # probe results of exact_blocks


_override = None          # set by using()


def n_threads():
    """Threads a layer may use: ``NUMBA_NUM_THREADS`` (``cv --jobs J``: cores // J), else the cores.

    Read from the environment on each call rather than from Numba: a cv worker sets the
    variable after numba was imported, and Numba's pool keeps the size it read at import;
    asking Numba for its count would also start that pool before Numba re-read its
    environment, and its next compile would then fail. :func:`using` overrides it.
    """
    if _override is not None:
        return _override
    value = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    return max(1, int(value)) if value.isdigit() else numba.config.NUMBA_DEFAULT_NUM_THREADS


@contextmanager
def using(k):
    """Run the ``with`` block on ``k`` threads (numser's layers and ``numba.set_num_threads``).

    ``k`` may not exceed the size of Numba's pool (``NUMBA_NUM_THREADS`` at import).
    """
    global _override
    before, numba_before = _override, numba.get_num_threads()
    numba.set_num_threads(k)
    _override = k
    try:
        yield
    finally:
        _override = before
        numba.set_num_threads(numba_before)


def _executor(workers):
    global _pool
    if _pool is None or _pool[0] != os.getpid() or _pool[1] != workers:
        if _pool is not None and _pool[0] == os.getpid():
            _pool[2].shutdown(wait=True)
        _pool = (os.getpid(), workers, ThreadPoolExecutor(workers, thread_name_prefix="numser"))
    return _pool[2]


def run(jobs):
    """Call every job (a function of no arguments) once, on up to :func:`n_threads` threads.

    The calling thread takes part; jobs are handed out in list order to whichever thread is free,
    so put the big ones first. Returns when all have finished; re-raises the first exception.
    The jobs must write disjoint outputs and must not call parallel Numba kernels. Called from
    inside a job, it runs its jobs on that thread (no nested pools).
    """
    jobs = list(jobs)
    workers = min(n_threads(), len(jobs))
    if workers <= 1 or getattr(_local, "inside", False):
        for job in jobs:
            job()
        return
    lock = threading.Lock()
    todo = iter(jobs)

    def worker():
        _local.inside = True
        try:
            while True:
                with lock:
                    job = next(todo, None)
                if job is None:
                    return
                job()
        finally:
            _local.inside = False

    futures = [_executor(workers - 1).submit(worker) for _ in range(workers - 1)]
    try:
        worker()
    finally:
        errors = [f.exception() for f in futures]   # waits for every helper
    for error in errors:
        if error is not None:
            raise error


def blocks(n, parts):
    """``parts`` near-equal consecutive ranges (start, stop) covering 0..n (empty ones dropped)."""
    edges = [n * k // parts for k in range(parts + 1)]
    return [(edges[k], edges[k + 1]) for k in range(parts) if edges[k] < edges[k + 1]]


def _layout(a):
    """'C' (unit column stride), 'F' (unit row stride) or None (BLAS cannot take it as it is)."""
    if a.ndim != 2:
        return None
    (r, c), size = a.strides, a.itemsize
    if c == size and r >= a.shape[1] * size and r % size == 0:
        return "C"
    if r == size and c >= a.shape[0] * size and c % size == 0:
        return "F"
    return None


def _random(rng, shape, layout, dtype):
    """Probe data: signs and magnitudes spread over many binades, so that summing the same
    products in another order almost surely rounds differently somewhere."""
    spread = 12 if np.dtype(dtype).itemsize == 4 else 40
    a = rng.standard_normal(shape) * np.exp2(rng.integers(-spread, spread + 1, shape))
    a = a.astype(dtype)
    return np.asfortranarray(a) if layout == "F" else a


def _probe(a_shape, la, b_shape, lb, dtype, axis, cut, seed):
    rng = np.random.default_rng(seed)
    pa, pb = _random(rng, a_shape, la, dtype), _random(rng, b_shape, lb, dtype)
    full = pa @ pb
    split = np.empty_like(full)
    for s, e in cut:
        if axis == 0:
            np.matmul(pa[s:e], pb, out=split[s:e])
        else:
            np.matmul(pa, pb[:, s:e], out=split[:, s:e])
    return np.array_equal(full, split)


#: Products smaller than this (multiply-adds) or blocks narrower than MIN_ROWS stay whole: they
#: are too small to gain from a second thread.
MIN_WORK = 1 << 20
MIN_ROWS = 8


def exact_blocks(a, b, axis, parts):
    """Blocks of ``a @ b`` along ``axis`` (0: rows, 1: columns) that reproduce it bit for bit.

    Returns ``blocks(n, parts)`` (n = rows of a or columns of b) if the BLAS computes every
    block as it computes the rows or columns of the whole product, else one block (the whole
    product). Decided once per shapes, layouts, dtype, axis and parts by products of random
    matrices of the same shapes and layouts (two draws, from generators of their own), each
    computed both ways. Small products stay whole without a probe.
    """
    n = a.shape[0] if axis == 0 else b.shape[1]
    whole = [(0, n)]
    cut = blocks(n, parts)
    la, lb = _layout(a), _layout(b)
    if (len(cut) < 2 or la is None or lb is None or a.dtype != b.dtype
            or a.shape[0] * a.shape[1] * b.shape[1] < MIN_WORK or n // parts < MIN_ROWS):
        return whole
    key = (a.shape, la, b.shape, lb, a.dtype.str, axis, parts)
    if key not in _exact:
        _exact[key] = all(_probe(a.shape, la, b.shape, lb, a.dtype, axis, cut, seed)
                          for seed in (1, 2))
    return cut if _exact[key] else whole


def matmul_jobs(a, b, out, axis=0, then=None):
    """Jobs that write ``a @ b`` into ``out`` in blocks along ``axis`` (see :func:`exact_blocks`).

    ``then(s, e)``, if given, runs in the same job after block [s, e) is written (e.g. a bias
    add on those rows), so it also runs in parallel.
    """
    def job(s, e):
        if axis == 0:
            np.matmul(a[s:e], b, out=out[s:e])
        else:
            np.matmul(a, b[:, s:e], out=out[:, s:e])
        if then is not None:
            then(s, e)
    return [lambda s=s, e=e: job(s, e) for s, e in exact_blocks(a, b, axis, n_threads())]


#: Fewer elements than this per thread are not worth a hand-off to another thread (≈ 50 µs).
MIN_BLOCK = 1 << 15


def run_blocks(n, job, min_block=MIN_BLOCK):
    """Call ``job(s, e)`` on consecutive blocks [s, e) covering range(n), on the threads.

    For element-wise work on flattened arrays: each block writes only its own elements, so the
    result is the same whatever the number of blocks.
    """
    parts = max(1, min(n_threads(), n // min_block))
    run([lambda s=s, e=e: job(s, e) for s, e in blocks(n, parts)])


def multiply(a, b):
    """``a * b`` for two C-contiguous arrays of one shape (b may be bool), in blocks on the threads."""
    if a.shape != b.shape or not (a.flags.c_contiguous and b.flags.c_contiguous):
        return a * b
    out = np.empty(a.shape, dtype=np.result_type(a, b))
    af, bf, of = a.reshape(-1), b.reshape(-1), out.reshape(-1)
    run_blocks(a.size, lambda s, e: np.multiply(af[s:e], bf[s:e], out=of[s:e]))
    return out

"""numser.nn.threads: jobs on threads, and matrix products in blocks that keep every bit."""
import threading

import numba
import numpy as np
import pytest

from numser.nn import threads

TWO = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                         reason="needs NUMBA_NUM_THREADS >= 2 (a machine with 2+ cores)")


@pytest.mark.parametrize("n, parts", [(10, 2), (7, 3), (1, 2), (0, 2), (5, 8), (25344, 2)])
def test_blocks_cover_the_range_once_in_near_equal_parts(n, parts):
    cut = threads.blocks(n, parts)
    assert [i for s, e in cut for i in range(s, e)] == list(range(n))
    assert all(e > s for s, e in cut) and len(cut) == min(n, parts)
    if cut:
        sizes = [e - s for s, e in cut]
        assert max(sizes) - min(sizes) <= 1


@TWO
def test_run_calls_every_job_once_on_two_threads():
    seen, names = [], set()
    lock = threading.Lock()

    def job(k):
        with lock:
            seen.append(k)
            names.add(threading.current_thread().name)

    with threads.using(2):
        threads.run([lambda k=k: job(k) for k in range(50)])
    assert sorted(seen) == list(range(50))
    # two jobs that each wait for the other finish only if two threads run them at once
    barrier = threading.Barrier(2, timeout=20)
    with threads.using(2):
        threads.run([barrier.wait, barrier.wait])


@TWO
def test_run_reraises_after_all_jobs_finished_and_nested_runs_are_serial():
    done = []

    def fails():
        raise ValueError("boom")

    def nested():
        threads.run([lambda: done.append("a"), lambda: done.append("b")])

    with threads.using(2), pytest.raises(ValueError, match="boom"):
        threads.run([fails, nested, lambda: done.append("c")])
    assert sorted(done) == ["a", "b", "c"]


def test_run_on_one_thread_runs_in_order_on_the_caller():
    order = []
    with threads.using(1):
        threads.run([lambda k=k: order.append((k, threading.current_thread().name)) for k in range(3)])
    assert order == [(k, threading.current_thread().name) for k in range(3)]


# (rows, inner, columns, layout of a, layout of b): the products of the LSTM and Dense layers,
# small and odd ones, float32 and float64
SHAPES = [(128, 128, 512, "C", "C"), (64, 512, 128, "C", "C"), (25344 // 8, 32, 512, "C", "C"),
          (3168, 512, 32, "C", "F"), (128, 3168, 512, "F", "C"), (37, 128, 512, "C", "C"),
          (3, 32, 512, "C", "C"), (2, 512, 128, "C", "C"), (1, 5, 7, "C", "C"), (9, 4, 256, "C", "F"),
          (1, 4096, 512, "C", "C"), (16, 512, 128, "C", "C"), (3168, 256, 4, "C", "F")]


def _matrix(rng, shape, layout, dtype):
    a = rng.standard_normal(shape).astype(dtype)
    return np.asfortranarray(a) if layout == "F" else a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("M, K, F, la, lb", SHAPES)
def test_matmul_jobs_reproduce_the_whole_product_bit_for_bit(M, K, F, la, lb, axis, dtype):
    rng = np.random.default_rng(M + K + F)
    a, b = _matrix(rng, (M, K), la, dtype), _matrix(rng, (K, F), lb, dtype)
    whole = a @ b
    for parts in (2, 3):
        cut = threads.exact_blocks(a, b, axis, parts)
        n = M if axis == 0 else F
        assert cut in ([(0, n)], threads.blocks(n, parts))
        out = np.full_like(whole, np.nan)
        for s, e in cut:                       # what the jobs compute, one after the other
            if axis == 0:
                np.matmul(a[s:e], b, out=out[s:e])
            else:
                np.matmul(a, b[:, s:e], out=out[:, s:e])
        assert np.array_equal(out, whole)

@TWO
def test_matmul_jobs_on_two_threads_with_a_bias_step():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3000, 64)).astype(np.float32), rng.standard_normal((64, 96)).astype(np.float32)
    bias = rng.standard_normal(96).astype(np.float32)
    out = np.empty((3000, 96), dtype=np.float32)

    def add_bias(s, e):
        out[s:e] += bias

    with threads.using(2):
        jobs = threads.matmul_jobs(a, b, out, then=add_bias)
        threads.run(jobs)
    assert len(jobs) == 2                      # split: this product's blocks are exact here
    assert np.array_equal(out, a @ b + bias)


def test_exact_blocks_refuses_layouts_blas_cannot_take():
    a = np.ones((8, 6), dtype=np.float32)[:, ::2]          # neither unit stride
    assert threads.exact_blocks(a, np.ones((3, 4), np.float32), 0, 2) == [(0, 8)]


@pytest.mark.filterwarnings("ignore:invalid value encountered")     # nan · 0, inf · 0
@pytest.mark.parametrize("k", [1, 2])
def test_run_blocks_and_multiply_match_numpy(k):
    if k > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("needs NUMBA_NUM_THREADS >= 2")
    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 257)).astype(np.float32)
    a[0, :4] = [np.nan, np.inf, -0.0, -np.inf]
    mask = rng.random((300, 257)) > 0.5
    with threads.using(k):
        got, got_f = threads.multiply(a, mask), threads.multiply(a, a)
        seen = np.zeros(a.size, dtype=int)

        def mark(s, e):
            seen[s:e] += 1

        threads.run_blocks(a.size, mark, min_block=1000)
    for x, y in ((got, a * mask), (got_f, a * a), (threads.multiply(a.T, mask.T), a.T * mask.T)):
        assert x.dtype == y.dtype and np.array_equal(x.view(np.uint32), y.view(np.uint32))
    assert (seen == 1).all()


def test_a_worker_that_sets_numba_num_threads_after_import_gets_that_pool(tmp_path):
    """cv's workers set NUMBA_NUM_THREADS after numba is imported (numser.local_workers._worker_init).
    The layers must not start Numba's pool before Numba re-read its environment (a later
    compile would raise RuntimeError), and must use the worker's count (Numba's pool keeps
    the size it read at import)."""
    import os
    import subprocess
    import sys
    code = ("import os, numpy as np, numba\n"
            "from numser.nn.dense import dense_forward\n"
            "from numser.nn.conv import Conv3D\n"
            "os.environ['NUMBA_NUM_THREADS'] = '1'\n"
            "dense_forward(np.ones((4, 3), np.float32), np.ones((3, 2), np.float32), np.zeros(2, np.float32))\n"
            "Conv3D(1, 2, (1, 1, 2), padding='same').forward(np.ones((1, 1, 2, 2, 4), np.float32))\n"
            "from numser.nn import threads\n"
            "print(threads.n_threads())\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    env.update(PYTHONPATH=root, NUMBA_CACHE_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300, cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == "1"

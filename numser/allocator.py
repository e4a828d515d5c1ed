"""A speed trick: glibc allocator settings (mallopt) that keep freed memory in the process for reuse,
so a training step does not fault its pages in anew.

A training step allocates the same large temporaries every time: spectra, padded volumes,
activations and their gradients, up to about 0.5 GB each for the 1D-CNN-LSTM. glibc's ``malloc``
serves every block over its mmap threshold (at most 32 MiB) with a fresh ``mmap`` and returns it
with ``munmap`` on free, so the next step touches brand-new pages and the kernel zero-fills each
one on its first write. In the real run on 2 cores, 25-28 % of a training worker's CPU time was
system time; with the settings below a 1D-CNN-LSTM step needs 21-23 % less CPU time and a
3D-CNN-DNN 2x2x128 step 11 % less (``benchmarks/bench_malloc.py``, docs/performance.md, "Freed
memory is kept for reuse").

The fix is two ``mallopt`` settings, both process-wide and effective for later allocations:

    M_MMAP_MAX = 0            every block comes from the heap (brk), never from its own mmap
    M_TRIM_THRESHOLD = -1     free heap at the top is never given back to the kernel

Trimming must be off entirely, not just above some size: with a 1 GiB threshold, the end of a
1D-CNN-LSTM step freed more than 1 GiB at the top of the heap, glibc returned it, and the next
step took 2 400 page faults to map it in again; with no trimming 330, and the step needed 43 %
less CPU time (14.6 -> 8.3 s with one Numba thread, under load; benchmarks/bench_1d_cnn_lstm.py,
docs/performance.md). The price is a resident set that stays at its peak: freed blocks stay
mapped for the next step, or the next task. Set ``NUMSER_KEEP_FREED_MEMORY=0`` to leave malloc
alone. Only glibc has ``mallopt``; elsewhere (macOS, musl) this does nothing.
"""
import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD = -1      # glibc's <malloc.h> parameter numbers
M_MMAP_MAX = -4
TRIM_THRESHOLD = -1        # glibc's mallopt(3): -1 disables trimming completely

_done = False


def keep_freed_memory():
    """Make glibc reuse freed large blocks instead of unmapping them (once per process).

    Returns
    -------
    bool
        True when the settings are in effect (now or from an earlier call), False when they were
        turned off by ``NUMSER_KEEP_FREED_MEMORY=0`` or the C library has no ``mallopt``.
    """
    global _done
    if _done:
        return True
    if os.environ.get("NUMSER_KEEP_FREED_MEMORY", "1") == "0":
        return False
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        return False                # not glibc: nothing to tune
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    # mallopt returns 1 on success, 0 on error.
    _done = mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return _done

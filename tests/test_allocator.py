"""keep_freed_memory: large arrays come from the reusable heap, not from their own mmap."""
import os
import subprocess
import sys
import textwrap

import pytest

# In a fresh interpreter, so the test process's own malloc stays as it was. It prints where a
# 64 MiB array lives: inside the brk heap ('[heap]' in /proc/self/maps) or in an anonymous mmap.
PROBE = textwrap.dedent("""
    import numpy as np
    from numser.allocator import keep_freed_memory
    print(keep_freed_memory())
    a = np.empty(1 << 26, dtype=np.uint8)
    address = a.ctypes.data
    for line in open("/proc/self/maps"):
        span, *rest = line.split()
        lo, hi = (int(v, 16) for v in span.split("-"))
        if lo <= address < hi:
            print(rest[-1] if len(rest) == 5 else "anonymous")
""")


def _probe(env_value):
    env = dict(os.environ, NUMSER_KEEP_FREED_MEMORY=env_value)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0] == "True", out[1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/maps is Linux-only")
def test_large_arrays_come_from_the_heap():
    active, region = _probe("1")
    if not active:
        pytest.skip("this C library has no mallopt (not glibc)")
    assert region == "[heap]"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/maps is Linux-only")
def test_can_be_turned_off():
    active, region = _probe("0")
    assert not active
    assert region == "anonymous"        # glibc's default: a block this large gets its own mmap


# Touches 1.25 GiB twice: freed, the first array's pages must serve the second without faulting
# in anew. glibc's trimming would return a free top of the heap over its threshold to the kernel.
REUSE_PROBE = textwrap.dedent("""
    import resource
    import numpy as np
    from numser.allocator import keep_freed_memory
    faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    active = keep_freed_memory()
    f0 = faults()
    a = np.ones(5 << 28, dtype=np.uint8)
    f1 = faults()
    del a
    b = np.ones(5 << 28, dtype=np.uint8)
    print(active, f1 - f0, faults() - f1)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_a_freed_gigabyte_is_reused_without_page_faults():
    active, first, second = subprocess.run([sys.executable, "-c", REUSE_PROBE],
                                           capture_output=True, text=True, check=True
                                           ).stdout.split()
    if active != "True":
        pytest.skip("this C library has no mallopt (not glibc)")
    first, second = int(first), int(second)
    assert first > 100                  # the first touch maps the pages in (4 KiB or 2 MiB each)
    assert second < max(10, first // 20), (first, second)

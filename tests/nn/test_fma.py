"""numser.nn.fma.fma rounds a * b + c once, in float32 and float64, inside a Numba kernel."""
from fractions import Fraction

import numpy as np
from numba import njit

from numser.nn.fma import fma


@njit(cache=True)
def _fma_all(a, b, c, out):
    for i in range(a.size):
        out[i] = fma(a[i], b[i], c[i])


def test_float32_is_fused_where_separate_rounding_loses_the_low_bits():
    a = np.array([1 + 2.0 ** -12], dtype=np.float32)           # a * a = 1 + 2^-11 + 2^-24
    c = np.array([-(1 + 2.0 ** -11)], dtype=np.float32)
    out = np.empty(1, dtype=np.float32)
    _fma_all(a, a, c, out)
    assert a[0] * a[0] + c[0] == 0.0                             # two roundings lose 2^-24
    assert out[0] == np.float32(2.0 ** -24)                      # one rounding keeps it


def test_float64_equals_the_exact_result_rounded_once():
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(500) * 10.0 ** rng.integers(-3, 4, 500) for _ in range(3))
    out = np.empty(500)
    _fma_all(a, b, c, out)
    exact = [float(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in zip(a, b, c)]
    assert out.tolist() == exact
    assert (out != a * b + c).any()                              # the test can tell the two apart

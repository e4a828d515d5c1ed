"""The LSTM kernels' scalar tanh and σ: accuracy bounds and the facts the module docstring states."""
import numpy as np
from numba import njit

from numser.nn.activations import sigmoid
from numser.nn.rational_tanh import CLAMP, scalar_sigmoid, scalar_tanh, tanh_f32_numpy


@njit(cache=False)
def _apply(fn_id, x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = scalar_tanh(x[i]) if fn_id == 0 else scalar_sigmoid(x[i])
    return out


def test_float32_tanh_approximation_error():
    """Within 4e-7 of the exact value on [-12, 12] (np.tanh in float32: ~6e-8)."""
    x = np.linspace(-12, 12, 480_001)
    err = np.abs(tanh_f32_numpy(x).astype(np.float64) - np.tanh(x)).max()
    assert err < 4e-7, err


def test_numpy_version_is_the_kernel_function_bit_for_bit():
    x = np.linspace(-12, 12, 100_001, dtype=np.float32)
    np.testing.assert_array_equal(_apply(0, x), tanh_f32_numpy(x))
    x64 = np.linspace(-12, 12, 1001)
    # float64: libm's tanh, which may differ from NumPy's vectorised one in the last bit
    np.testing.assert_allclose(_apply(0, x64), np.tanh(x64), rtol=4e-16, atol=0)


def test_clamp_is_where_the_approximation_reaches_one():
    c = np.float32(CLAMP)
    assert tanh_f32_numpy(c) == 1.0 and tanh_f32_numpy(np.nextafter(c, np.float32(0))) < 1.0
    assert 2.7e-7 < 1 - np.tanh(np.float64(CLAMP)) < 2.8e-7               # exact tanh: not yet 1,
    assert np.float32(np.tanh(np.float64(c))) < 1.0 and np.tanh(c) < 1.0  # not even in float32
    # The exact tanh rounds to 1.0 in float32 only from artanh(1 - 2**-25) = 9.0109.
    edge = np.arctanh(1 - 2.0 ** -25)
    assert 9.0109 < edge < 9.0110
    assert np.float32(np.tanh(edge - 1e-3)) < 1.0 and np.float32(np.tanh(edge + 1e-3)) == 1.0


def test_kernel_sigmoid_absolute_error():
    """σ = 1/2 + tanh(x/2)/2 loses relative precision for x << 0 but keeps a small absolute error."""
    x = np.linspace(-40, 40, 400_001)
    exact = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    for dtype, bound, careful in ((np.float32, 2.5e-7, 1e-7), (np.float64, 2e-16, 2e-16)):
        xs = x.astype(dtype)
        exact = 1 / (1 + np.exp(-xs.astype(np.longdouble)))
        kernel = _apply(1, xs).astype(np.longdouble)
        assert float(np.abs(kernel - exact).max()) < bound, dtype
        assert float(np.abs(sigmoid(xs).astype(np.longdouble) - exact).max()) < careful, dtype
        upper = exact >= 0.5
        assert float((np.abs(kernel - exact)[upper] / exact[upper]).max()) < bound, dtype
    assert _apply(1, np.array([-16.0], dtype=np.float32))[0] == 0.0        # cancelled to 0

"""ReLU, Sigmoid, Tanh: values, dtype, stability, finite differences."""
import warnings

import numba
import numpy as np
import pytest
from scipy.special import expit

from numser import ParameterError
from numser.nn import threads
from numser.nn.activations import ReLU, Sigmoid, Tanh, relu_backward, relu_forward, sigmoid
from numser.nn.gradcheck import check_layer


def away_from_zero(shape, seed=0):
    """Inputs with |x| >= 0.1, so a 1e-6 finite-difference step never crosses ReLU's kink."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.where(np.abs(x) < 0.1, np.sign(x) * 0.1 + x, x)


@pytest.mark.parametrize("layer, reference", [(ReLU(), lambda x: np.maximum(x, 0)),
                                              (Sigmoid(), expit), (Tanh(), np.tanh)])
def test_values_match_direct_formula(layer, reference):
    x = np.linspace(-30, 30, 603).reshape(3, 201)
    np.testing.assert_allclose(layer.forward(x), reference(x), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("cls", [ReLU, Sigmoid, Tanh])
def test_dtype_and_shape_preserved(cls):
    x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    layer = cls()
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32 and y.shape == dx.shape == x.shape


@pytest.mark.parametrize("cls", [ReLU, Sigmoid, Tanh])
def test_gradient_check_float64(cls):
    errors = check_layer(cls(), away_from_zero((4, 5, 3)))
    assert errors["x"] < 1e-6, errors


def test_relu_gradient_is_zero_at_zero_and_below():
    layer = ReLU()
    layer.forward(np.array([[-1.0, 0.0, 2.0]]))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3))), [[0.0, 0.0, 1.0]])


def test_sigmoid_extremes_float32_no_overflow_warning():
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = sigmoid(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y[[0, 2, 3, 4]], [0.0, 0.5, 1.0, 1.0])
    assert 0 < y[1] < 1e-43                           # σ(-100) = 3.7e-44, a float32 subnormal


def test_non_float_input_raises():
    with pytest.raises(ParameterError, match="not a floating type"):
        ReLU().forward(np.arange(3))


@pytest.mark.filterwarnings("ignore:invalid value encountered")     # nan · 0, inf · 0
@pytest.mark.parametrize("k", [1, 2])
def test_relu_in_blocks_keeps_numpys_bits_for_nan_inf_and_signed_zero(k):
    """relu_forward/backward run their ufuncs in blocks on the threads; the bits must be those of
    np.maximum(x, 0.0), x > 0 and dout * mask (np.maximum keeps -0.0 and NaN)."""
    if k > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("needs NUMBA_NUM_THREADS >= 2")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((400, 300)).astype(np.float32)
    x[0, :5] = [np.nan, np.inf, -np.inf, -0.0, 0.0]
    dout = rng.standard_normal(x.shape).astype(np.float32)
    dout[0, 5:8] = [np.nan, np.inf, -0.0]
    with threads.using(k):
        for a in (x, x.T):                                  # C-contiguous and not
            d = dout if a is x else dout.T
            y, mask = relu_forward(a)
            dx = relu_backward(d, mask)
            assert np.array_equal(y.view(np.uint32), np.maximum(a, 0.0).view(np.uint32))
            assert np.array_equal(mask, a > 0)
            assert np.array_equal(dx.view(np.uint32), (d * (a > 0)).view(np.uint32))

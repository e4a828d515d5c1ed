"""Flatten, Reshape, Transpose: shapes, values, exact backward, bad arguments."""
import numpy as np
import pytest

from numser import ParameterError
from numser.nn.gradcheck import check_layer
from numser.nn.shape import Flatten, Reshape, Transpose

X = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)


def test_flatten_row_major_and_back():
    layer = Flatten()
    y = layer.forward(X)
    assert y.shape == (2, 60) and y.dtype == np.float32
    np.testing.assert_array_equal(y[1], X[1].ravel())
    np.testing.assert_array_equal(layer.backward(y), X)


@pytest.mark.parametrize("shape, out", [((12, 5), (2, 12, 5)), ((-1, 10), (2, 6, 10)), (60, (2, 60))])
def test_reshape_keeps_batch(shape, out):
    layer = Reshape(shape)
    y = layer.forward(X)
    assert y.shape == out
    np.testing.assert_array_equal(y.reshape(X.shape), X)
    np.testing.assert_array_equal(layer.backward(y), X)


def test_transpose_per_sample_axes_and_inverse():
    layer = Transpose((2, 0, 1))
    y = layer.forward(X)
    np.testing.assert_array_equal(y, X.transpose(0, 3, 1, 2))
    assert y.flags.c_contiguous
    np.testing.assert_array_equal(layer.backward(y), X)


def test_conv_volume_to_steps():
    """(N, C, L, T, S) → (N, L, C·T·S): the 3D-CNN-DNN-ELM reading of its last volume (docs/spec.md §3)."""
    x = np.random.default_rng(0).standard_normal((2, 4, 10, 2, 64)).astype(np.float32)
    y = Reshape((10, -1)).forward(Transpose((1, 0, 2, 3)).forward(x))
    assert y.shape == (2, 10, 512)
    np.testing.assert_array_equal(y[1, 3], x[1, :, 3].ravel())


@pytest.mark.parametrize("layer", [Flatten(), Reshape((4, 15)), Transpose((1, 2, 0))])
def test_gradient_check(layer):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    assert check_layer(layer, x)["x"] < 1e-6


def test_reshape_size_mismatch_raises():
    with pytest.raises(ParameterError, match="cannot be reshaped"):
        Reshape((7, 9)).forward(X)


@pytest.mark.parametrize("shape", [(-1, -1), (0, 5), (2.0, 3)])
def test_bad_reshape_argument_raises(shape):
    with pytest.raises(ParameterError, match="at most one -1"):
        Reshape(shape)


def test_bad_transpose_axes_raise():
    with pytest.raises(ParameterError, match="permutation"):
        Transpose((0, 0, 1))


def test_transpose_wrong_rank_raises():
    with pytest.raises(ParameterError, match="expected 3 axes"):
        Transpose((1, 0)).forward(X)

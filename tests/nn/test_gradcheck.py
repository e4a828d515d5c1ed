"""The gradient checker itself: exact on known functions, restores x, and fails when it must."""
import numpy as np
import pytest

from numser import ParameterError
from numser.nn.dense import Dense, dense_backward
from numser.nn.gradcheck import check_layer, check_model, numerical_gradient, relative_error
from numser.nn.loss import softmax_cross_entropy
from numser.nn.conv import Conv3D, conv3d_backward


def test_numerical_gradient_of_a_cubic():
    x = np.random.default_rng(0).standard_normal((3, 4))
    num = numerical_gradient(lambda z: np.sum(z ** 3), x)
    assert relative_error(num, 3 * x ** 2) < 1e-9


def test_numerical_gradient_restores_x_exactly_and_handles_views():
    x = np.random.default_rng(1).standard_normal((4, 3)).T          # not C-contiguous
    before = x.copy()
    numerical_gradient(lambda z: np.sum(np.sin(z)), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_sparse_index():
    x = np.arange(6.0)
    num = numerical_gradient(lambda z: np.sum(z ** 2), x, index=[1, 4])
    np.testing.assert_allclose(num, [0, 2, 0, 0, 8, 0], atol=1e-8)


def test_numerical_gradient_rejects_float32():
    with pytest.raises(ParameterError, match="float64"):
        numerical_gradient(np.sum, np.zeros(3, dtype=np.float32))


def test_relative_error_definition():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    # max|a−b| = 0.5, max(|a|+|b|) = 4.5
    assert relative_error([1.0, 2.0], [1.5, 2.5]) == pytest.approx(0.5 / 4.5)
    assert relative_error([1.0], [-1.0]) == 1.0
    with pytest.raises(ParameterError, match="differ"):
        relative_error(np.zeros(2), np.zeros(3))


def test_check_layer_leaves_the_layer_untouched():
    layer = Dense(3, 2)
    W = layer.params["W"].copy()
    check_layer(layer, np.ones((2, 3)))
    assert layer.params["W"].dtype == np.float32
    np.testing.assert_array_equal(layer.params["W"], W)


class SignFlippedDense(Dense):
    """A deliberately wrong backward: dW has the wrong sign."""

    def backward(self, dy):
        dx = super().backward(dy)
        self.grads["W"] *= -1
        return dx


class TransposedDense(Dense):
    """A deliberately wrong backward: dx uses W in place of Wᵀ (square layer, so shapes fit)."""

    def backward(self, dy):
        dx, dW, db = dense_backward(dy, self.cache)
        self.grads["W"][...], self.grads["b"][...] = dW, db
        return dy @ self.params["W"]


def test_catches_sign_flipped_weight_gradient():
    errors = check_layer(SignFlippedDense(4, 3), np.random.default_rng(2).standard_normal((5, 4)))
    assert errors["W"] == pytest.approx(1.0)        # a = −b gives exactly 1
    assert errors["x"] < 1e-6 and errors["b"] < 1e-6


def test_catches_transposed_input_gradient():
    errors = check_layer(TransposedDense(4, 4), np.random.default_rng(3).standard_normal((5, 4)))
    assert errors["x"] > 0.1, errors
    assert errors["W"] < 1e-6


def test_check_model_names_the_broken_parameter():
    rng = np.random.default_rng(4)
    model = [Dense(4, 5, rng=rng), SignFlippedDense(5, 3, rng=rng)]
    errors = check_model(model, rng.standard_normal((6, 4)), rng.integers(0, 3, 6),
                         softmax_cross_entropy)
    assert errors["1.W"] > 0.5
    # dW is a leaf: the error stays in layer 1 and does not reach layer 0 or the input
    assert max(errors["0.W"], errors["0.b"], errors["1.b"], errors["x"]) < 1e-6, errors


def test_catches_conv_with_flipped_kernel_in_backward():
    class FlippedConv(Conv3D):
        """dx computed with the kernel flipped along every axis: a classic convolution bug."""

        def backward(self, dy):
            cache = dict(self.cache, w=np.ascontiguousarray(self.cache["w"][:, :, ::-1, ::-1, ::-1]))
            dx, dw, db = conv3d_backward(dy, cache)
            self.grads["W"][...], self.grads["b"][...] = dw, db
            return dx

    x = np.random.default_rng(5).standard_normal((2, 2, 3, 4, 5))
    good = check_layer(Conv3D(2, 3, (2, 3, 2), method="direct"), x)
    bad = check_layer(FlippedConv(2, 3, (2, 3, 2), method="direct"), x)
    assert max(good.values()) < 1e-6, good
    assert bad["x"] > 0.1, bad
    assert bad["W"] < 1e-6

"""Element-wise nonlinearities of docs/spec.md §3–4 (ReLU after every conv/FC layer; sigmoid, tanh)."""
import numpy as np

from numser.nn import threads
from numser.nn._checks import check_input
from numser.nn.layer import Layer


def relu_forward(x):
    """Rectified linear unit.

    Equation
    --------
    Forward y = max(x, 0); backward ∂ℓ/∂x = ∂ℓ/∂y · [x > 0] (the subgradient 0 is used at x = 0).

    Parameters
    ----------
    x : np.ndarray, any shape, float32 or float64

    Returns
    -------
    out : np.ndarray, shape and dtype of x
    cache : np.ndarray of bool, the mask x > 0
    """
    if not x.flags.c_contiguous:
        return np.maximum(x, 0.0), x > 0
    out, mask = np.empty_like(x), np.empty(x.shape, dtype=bool)
    xf, of, mf = x.reshape(-1), out.reshape(-1), mask.reshape(-1)

    def block(s, e):                                # the same ufuncs on a block of elements
        np.greater(xf[s:e], 0, out=mf[s:e])
        np.maximum(xf[s:e], 0.0, out=of[s:e])

    threads.run_blocks(x.size, block)
    return out, mask


def relu_backward(dout, cache):
    """Gradient of :func:`relu_forward`: dout where x > 0, else 0."""
    return threads.multiply(dout, cache)


def sigmoid(x):
    """Logistic function σ(x) = 1 / (1 + e^(-x)), without overflow and in the dtype of x.

    With z = e^(-|x|) ≤ 1: σ(x) = 1 / (1 + z) for x ≥ 0 and z / (1 + z) for x < 0. The exponent is
    never positive (e^(-x) overflows for x < -88 in float32), and small σ keep full relative
    precision (the form (1 + tanh(x/2)) / 2 would cancel). The LSTM kernels use that form all the
    same, for speed, where only its absolute error matters: :mod:`numser.nn.rational_tanh`.
    """
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, z) / (1.0 + z)


def sigmoid_forward(x):
    """Logistic sigmoid.

    Equation
    --------
    Forward y = σ(x) = 1 / (1 + e^(-x)); backward ∂ℓ/∂x = ∂ℓ/∂y · y (1 − y).

    Returns
    -------
    out : np.ndarray, shape and dtype of x
    cache : np.ndarray, the output y
    """
    y = sigmoid(x)
    return y, y


def sigmoid_backward(dout, cache):
    """Gradient of :func:`sigmoid_forward`: dout · y (1 − y)."""
    return dout * cache * (1.0 - cache)


def tanh_forward(x):
    """Hyperbolic tangent.

    Equation
    --------
    Forward y = tanh(x); backward ∂ℓ/∂x = ∂ℓ/∂y · (1 − y²).

    Returns
    -------
    out : np.ndarray, shape and dtype of x
    cache : np.ndarray, the output y
    """
    y = np.tanh(x)
    return y, y


def tanh_backward(dout, cache):
    """Gradient of :func:`tanh_forward`: dout · (1 − y²)."""
    return dout * (1.0 - cache * cache)


class _Elementwise(Layer):
    """A parameter-free layer made of a (forward, backward) pair of functions."""

    _forward = _backward = None

    def forward(self, x, train=False):
        check_input(type(self).__name__, x, ndim=1)
        out, self.cache = type(self)._forward(x)
        return out

    def backward(self, dy):
        return type(self)._backward(dy, self.cache)

    def __repr__(self):
        return f"{type(self).__name__}()"


class ReLU(_Elementwise):
    """y = max(x, 0), see :func:`relu_forward`."""
    _forward, _backward = relu_forward, relu_backward


class Sigmoid(_Elementwise):
    """y = σ(x), see :func:`sigmoid_forward`."""
    _forward, _backward = sigmoid_forward, sigmoid_backward


class Tanh(_Elementwise):
    """y = tanh(x), see :func:`tanh_forward`."""
    _forward, _backward = tanh_forward, tanh_backward

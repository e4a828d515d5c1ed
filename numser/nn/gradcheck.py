"""Finite-difference gradient checks of layers and whole models, in float64 (docs/spec.md; gradients are checked, never trusted)."""
import copy

import numpy as np

from numser.errors import ParameterError
from numser.nn.layer import backward, forward


def relative_error(a, b):
    """max|a − b| / max(|a| + |b|, tiny): one number for how far two gradients are apart.

    Equation
    --------
    e = max_k |a_k − b_k| / max( max_k (|a_k| + |b_k|), tiny ), tiny = the smallest normal float64.
    Normalising by the largest entry (not entry by entry) keeps tiny entries, whose finite
    differences are pure rounding noise, from dominating. e = 0 when both are all zero.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ParameterError(f"relative_error: shapes {a.shape} and {b.shape} differ")
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a) + np.abs(b))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b))) / scale


def numerical_gradient(f, x, *, h=1e-6, index=None):
    """Central-difference gradient of the scalar f(x) with respect to every entry of x.

    Equation
    --------
    ∂f/∂x_k ≈ ( f(x + h e_k) − f(x − h e_k) ) / (2h), with truncation error O(h²) and rounding
    error about ε|f|/h (ε = 2.2e-16): h = 1e-6 balances the two in float64.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``. It may also read x through a closure: x is modified in place.
    x : np.ndarray, float64
        Perturbed one entry at a time in place, and restored exactly afterwards.
    h : float > 0, default 1e-6
    index : sequence of int, optional
        Flat indices to differentiate; the others are left at 0 (a sparse check).

    Returns
    -------
    np.ndarray, shape of x, float64

    Raises
    ------
    ParameterError
        If x is not a float64 array: a step of 1e-6 is below float32 resolution.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise ParameterError(f"numerical_gradient: x must be a float64 array, got "
                             f"{getattr(x, 'dtype', type(x).__name__)}; float32 cannot resolve "
                             f"a step of h={h}. Use x.astype(np.float64) / layer.astype(np.float64)")
    grad = np.zeros_like(x)
    for k in (range(x.size) if index is None else index):
        i = np.unravel_index(k, x.shape)             # works for any memory layout of x
        old = x[i]
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def named_parameters(model, prefix=""):
    """Yield ``(name, layer, key)`` for every parameter of a list of layers, depth first.

    Names are ``"<position>.<key>"``, with ``"<position>.layers."`` in front for sublayers, in the
    order of :func:`numser.nn.layer.parameters`.
    """
    for i, layer in enumerate(model):
        for key in layer.params:
            yield f"{prefix}{i}.{key}", layer, key
        yield from named_parameters(getattr(layer, "layers", []), f"{prefix}{i}.layers.")


def _compare(loss, model, x, analytic, *, h, max_entries, rng):
    """Relative error of the analytic gradients (input 'x' and every parameter) vs finite ones."""
    errors = {}
    targets = [("x", x, analytic["x"])]
    targets += [(name, layer.params[key], analytic[name])
                for name, layer, key in named_parameters(model)]
    for name, array, grad in targets:
        index = None
        if max_entries is not None and array.size > max_entries:
            index = np.sort(rng.choice(array.size, size=max_entries, replace=False))
        num = numerical_gradient(lambda _: loss(), array, h=h, index=index)
        if index is None:
            errors[name] = relative_error(grad, num)
        else:
            errors[name] = relative_error(grad.reshape(-1)[index], num.reshape(-1)[index])
    return errors


def check_layer(layer, x, *, seed=0, train=False, h=1e-6, max_entries=None):
    """Compare a layer's backward with finite differences, in float64, on input x.

    Equation
    --------
    With a fixed random upstream gradient g (standard normal, shaped like y = layer(x)), the
    scalar ℓ = Σ g ⊙ y has ∂ℓ/∂x = layer.backward(g) and ∂ℓ/∂θ = layer.grads[θ]; each is
    compared with :func:`numerical_gradient` of ℓ by :func:`relative_error`.

    Parameters
    ----------
    layer : Layer
        Not modified: a deep copy is cast to float64 (``astype``).
    x : np.ndarray
        The input (cast to a float64 copy). For ReLU and max-pooling keep entries away from kinks
        and ties by more than h.
    seed : int, default 0
        Seeds g (and the entries of a sparse check).
    train : bool, default False
        Passed to ``forward``; a Dropout layer needs a fixed mask (``fix_mask``) for train=True.
    h : float, default 1e-6
    max_entries : int, optional
        Check at most this many random entries per array (all when None).

    Returns
    -------
    dict
        ``{"x": e_x, "<key>": e_key, ...}``: the relative error of dx and of every parameter
        gradient (sublayer params as ``"layers.<i>.<key>"``).
    """
    layer = copy.deepcopy(layer).astype(np.float64)
    x = np.array(x, dtype=np.float64, copy=True)
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(np.shape(layer.forward(x, train=train)))

    def loss():
        return float(np.sum(g * layer.forward(x, train=train)))

    loss()
    analytic = {"x": layer.backward(g).copy()}
    for name, sub, key in named_parameters([layer]):
        analytic[name] = sub.grads[key].copy()
    errors = _compare(loss, [layer], x, analytic, h=h, max_entries=max_entries, rng=rng)
    return {("x" if k == "x" else k[2:]): v for k, v in errors.items()}   # drop the "0." prefix


def check_model(model, x, y, loss_fn, *, seed=0, train=False, h=1e-6, max_entries=None):
    """Compare a whole model's backpropagation with finite differences of its loss, in float64.

    Parameters
    ----------
    model : list of Layer
        Not modified: a deep copy is cast to float64.
    x : np.ndarray
        The model input (cast to a float64 copy).
    y : np.ndarray
        Labels handed to ``loss_fn``.
    loss_fn : callable
        ``loss_fn(outputs, y) -> (loss, doutputs)``, e.g. :func:`numser.nn.loss.softmax_cross_entropy`.
    seed, train, h, max_entries
        As in :func:`check_layer`.

    Returns
    -------
    dict
        ``{"x": e_x, "<position>.<key>": e, ...}`` for the input and every parameter.
    """
    model = [copy.deepcopy(layer).astype(np.float64) for layer in model]
    x = np.array(x, dtype=np.float64, copy=True)
    rng = np.random.default_rng(seed)

    def loss():
        return loss_fn(forward(model, x, train=train), y)[0]

    _, dout = loss_fn(forward(model, x, train=train), y)
    analytic = {"x": backward(model, dout).copy()}
    for name, sub, key in named_parameters(model):
        analytic[name] = sub.grads[key].copy()
    return _compare(loss, model, x, analytic, h=h, max_entries=max_entries, rng=rng)

"""The fully connected (dense) layer of every FC stack of docs/spec.md §3–4: y = x W + b."""
import numpy as np

from numser.errors import ParameterError
from numser.nn import threads
from numser.nn._checks import check_input, default_rng, glorot_uniform
from numser.nn.layer import Layer


def dense_forward(x, W, b):
    """Affine map of the last axis: y = x W + b.

    Equation
    --------
    Let x ∈ R^(M×D) be the input rows (M = product of the leading axes), W ∈ R^(D×F) the weights
    and b ∈ R^F the bias. Forward, for every row m and output unit j:

        y[m, j] = Σ_d x[m, d] W[d, j] + b[j]                       y = x W + 1 bᵀ

    Backward, given the upstream gradient g = ∂ℓ/∂y ∈ R^(M×F):

        ∂ℓ/∂x = g Wᵀ        ∂ℓ/∂W = xᵀ g        ∂ℓ/∂b = Σ_m g[m, :]

    Parameters
    ----------
    x : np.ndarray, shape (..., D), float32 or float64
        Leading axes are batch axes: (N, D) or (N, T, D).
    W : np.ndarray, shape (D, F), same dtype as x
    b : np.ndarray, shape (F,), same dtype as x

    Returns
    -------
    out : np.ndarray, shape (..., F), dtype of x
    cache : tuple
        (x, W), all that :func:`dense_backward` needs.
    """
    x2 = x.reshape(-1, W.shape[0])                  # (M, D), M = N or N·T
    if not x2.dtype == W.dtype == b.dtype:
        out = x2 @ W + b                            # (M, F), NumPy's type promotion
    else:                                           # the same arithmetic in blocks of rows
        out = np.empty((x2.shape[0], W.shape[1]), dtype=W.dtype)

        def add_bias(s, e):
            out[s:e] += b

        threads.run(threads.matmul_jobs(x2, W, out, then=add_bias))
    return out.reshape(x.shape[:-1] + (W.shape[1],)), (x, W)


def dense_backward(dout, cache):
    """Gradients of :func:`dense_forward`: returns (dx, dW, db) shaped like (x, W, b)."""
    x, W = cache
    g = dout.reshape(-1, W.shape[1])                # (M, F)
    x2 = x.reshape(-1, W.shape[0])                  # (M, D)
    if not x2.dtype == W.dtype == g.dtype:
        return (g @ W.T).reshape(x.shape), x2.T @ g, g.sum(axis=0)
    # each product whole or in blocks of its output (numser.nn.threads), all on the threads
    dx = np.empty((g.shape[0], W.shape[0]), dtype=g.dtype)        # g Wᵀ (M, D)
    dW = np.empty(W.shape, dtype=g.dtype)                         # x2ᵀ g (D, F)
    db = np.empty(W.shape[1], dtype=g.dtype)

    def bias_grad():
        db[...] = g.sum(axis=0)

    threads.run(threads.matmul_jobs(x2.T, g, dW, axis=1) + threads.matmul_jobs(g, W.T, dx)
                + [bias_grad])
    return dx.reshape(x.shape), dW, db


class Dense(Layer):
    """Fully connected layer; params ``W`` (in_features, out_features) and ``b`` (out_features,).

    Parameters
    ----------
    in_features, out_features : int > 0
    rng : np.random.Generator, optional
        Draws the Glorot-uniform weights; None means ``np.random.default_rng(0)``.
    dtype : np.dtype, default np.float32

    Notes
    -----
    Glorot-uniform W and zero b are the Keras defaults the paper's code most likely used (docs/spec.md §3).
    The equations are in :func:`dense_forward`.
    """

    def __init__(self, in_features, out_features, *, rng=None, dtype=np.float32):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ParameterError(f"Dense: {name}={value!r} must be a positive integer")
        rng = default_rng(rng)
        self.params["W"] = glorot_uniform(rng, in_features, out_features,
                                          (in_features, out_features), dtype)
        self.params["b"] = np.zeros(out_features, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x, train=False):
        W, b = self.params["W"], self.params["b"]
        check_input(f"Dense({W.shape[0]}->{W.shape[1]})", x, ndim=2, last=W.shape[0],
                    dtype=W.dtype)
        out, self.cache = dense_forward(x, W, b)
        return out

    def backward(self, dy):
        dx, dW, db = dense_backward(dy, self.cache)
        self.grads["W"][...] = dW
        self.grads["b"][...] = db
        return dx

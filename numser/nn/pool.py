"""3D max-pooling with stride equal to the window (docs/spec.md §3, §4): NumPy reference, Numba kernels, layer.

To read first: the same pooling as plain loops, :mod:`numser.nn.pool_naive`.
"""
import numpy as np
from numba import njit, prange

from numser.errors import ParameterError
from numser.nn.layer import Layer

AXES = ("L", "T", "S")


def pool_size(size):
    """An int or a 3-sequence of ints >= 1 as a tuple (pL, pT, pS)."""
    triple = (size,) * 3 if isinstance(size, (int, np.integer)) else tuple(size)
    if len(triple) != 3 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in triple):
        raise ParameterError(f"MaxPool3D size {size!r}; expected an int >= 1 or a 3-tuple "
                             f"(pL, pT, pS) of them, e.g. (2, 2, 2) or (1, 2, 2)")
    return tuple(int(v) for v in triple)


def _check(x, size):
    if x.ndim != 5:
        raise ParameterError(f"maxpool3d: x has shape {x.shape}, expected 5 axes (N, C, L, T, S); "
                             f"give 1-D or 2-D inputs size-1 axes and pool size 1 along them")
    for axis, n, p in zip(AXES, x.shape[2:], size):
        if p > n:
            raise ParameterError(
                f"maxpool3d: pool size {size} is larger than the input along {axis} ({p} > {n}) "
                f"for x of shape {x.shape}; use a size of at most {n} along {axis} (1 keeps the axis)")


# ----------------------------------------------------------------------------------------------
# NumPy reference: cut the volume into windows with one reshape, then max/argmax per window.
# ----------------------------------------------------------------------------------------------

def _windows(x, size):
    """(N, C, L, T, S) -> (N, C, Lo, To, So, pL*pT*pS): the windows, in C order inside each."""
    N, C = x.shape[:2]
    (pL, pT, pS), (Lo, To, So) = size, [n // p for n, p in zip(x.shape[2:], size)]
    x = x[:, :, :Lo * pL, :To * pT, :So * pS]                       # drop the trailing remainder
    x = x.reshape(N, C, Lo, pL, To, pT, So, pS)
    return x.transpose(0, 1, 2, 4, 6, 3, 5, 7).reshape(N, C, Lo, To, So, pL * pT * pS)


def maxpool_reference(x, size):
    """Max per window and its flat index in the window (first maximum in C order): NumPy reference.

    Returns
    -------
    y : ndarray, shape (N, C, L//pL, T//pT, S//pS), dtype of x
    arg : ndarray of int, same shape: index i*pT*pS + j*pS + k of the maximum in its window
    """
    windows = _windows(x, size)
    arg = windows.argmax(axis=-1)                        # argmax returns the first maximum
    return np.take_along_axis(windows, arg[..., None], axis=-1)[..., 0], arg


def maxpool_backward_reference(dout, arg, x_shape, size):
    """Route each dout value to the arg-max position of its window; zeros elsewhere: NumPy reference."""
    N, C, Lo, To, So = dout.shape
    pL, pT, pS = size
    onehot = np.zeros((N, C, Lo, To, So, pL * pT * pS), dtype=dout.dtype)
    np.put_along_axis(onehot, arg[..., None], dout[..., None], axis=-1)
    blocks = onehot.reshape(N, C, Lo, To, So, pL, pT, pS).transpose(0, 1, 2, 5, 3, 6, 4, 7)
    dx = np.zeros(x_shape, dtype=dout.dtype)
    dx[:, :, :Lo * pL, :To * pT, :So * pS] = blocks.reshape(N, C, Lo * pL, To * pT, So * pS)
    return dx


# ----------------------------------------------------------------------------------------------
# Numba kernels.
# ----------------------------------------------------------------------------------------------

@njit(parallel=True, cache=True)
def maxpool_kernel(x, pL, pT, pS, y, arg):
    """Numba twin of :func:`maxpool_reference`; writes y and arg (N, C, Lo, To, So)."""
    N, C = x.shape[0], x.shape[1]
    Lo, To, So = y.shape[2], y.shape[3], y.shape[4]
    for nc in prange(N * C):
        n, c = nc // C, nc % C
        for l in range(Lo):
            for t in range(To):
                for s in range(So):
                    best = x[n, c, l * pL, t * pT, s * pS]
                    where = 0
                    for i in range(pL):
                        for j in range(pT):
                            row = x[n, c, l * pL + i, t * pT + j]
                            for k in range(pS):
                                v = row[s * pS + k]
                                if v > best:           # strict: ties keep the first in C order
                                    best = v
                                    where = (i * pT + j) * pS + k
                    y[n, c, l, t, s] = best
                    arg[n, c, l, t, s] = where


@njit(parallel=True, cache=True)
def maxpool_backward_kernel(dout, arg, pL, pT, pS, dx):
    """Numba twin of :func:`maxpool_backward_reference`; overwrites dx (N, C, L, T, S).

    Walks dx row by row in memory order and writes every element once (the routed gradient or
    zero), which is faster than zero-filling dx and then scattering into it.
    """
    N, C, Lo, To, So = dout.shape
    L, T, S = dx.shape[2], dx.shape[3], dx.shape[4]
    for nc in prange(N * C):
        n, c = nc // C, nc % C
        for li in range(L):
            l, i = li // pL, li % pL
            for tj in range(T):
                t, j = tj // pT, tj % pT
                row = dx[n, c, li, tj]
                if l >= Lo or t >= To:
                    row[:] = 0.0                # trailing remainder: no window, no gradient
                    continue
                first = (i * pT + j) * pS       # window index of (i, j, 0)
                for s in range(So):
                    where = arg[n, c, l, t, s] - first
                    value = dout[n, c, l, t, s]
                    for k in range(pS):
                        row[s * pS + k] = value if where == k else 0.0
                for s in range(So * pS, S):
                    row[s] = 0.0


def maxpool3d_forward(x, size):
    """Max-pooling over non-overlapping (pL, pT, pS) windows, stride = size, floor.

    Equation
    --------
        y[n, c, l, t, s] = max_{i < pL, j < pT, k < pS} x[n, c, l*pL + i, t*pT + j, s*pS + k]

    Parameters
    ----------
    x : ndarray, shape (N, C, L, T, S), float32 or float64
    size : int or tuple (pL, pT, pS)

    Returns
    -------
    y : ndarray, shape (N, C, L//pL, T//pT, S//pS), dtype of x
        Trailing elements that do not fill a window are dropped (floor).
    cache : tuple (arg, x_shape, size)
        arg (N, C, Lo, To, So) int32: flat index (i*pT + j)*pS + k of the first maximum.

    Raises
    ------
    ParameterError
        x without 5 axes, or a pool size larger than the input along an axis.

    Notes
    -----
    docs/spec.md §3: pooling (2,2,2) in the 3D-CNN-DNN, (1,2,2) in the -ELM variant; docs/spec.md §4 uses
    (1,2,2), (1,4,4), (1,1,2) and (1,1,40).
    """
    size = pool_size(size)
    _check(x, size)
    x = np.ascontiguousarray(x)
    out_shape = x.shape[:2] + tuple(n // p for n, p in zip(x.shape[2:], size))
    y = np.empty(out_shape, dtype=x.dtype)
    arg = np.empty(out_shape, dtype=np.int32)
    maxpool_kernel(x, *size, y, arg)
    return y, (arg, x.shape, size)


def maxpool3d_backward(dout, cache):
    """Gradient of :func:`maxpool3d_forward`: dout goes to the arg-max of its window.

    Equation
    --------
        dx[n, c, l*pL + i, t*pT + j, s*pS + k] = dout[n, c, l, t, s]  if (i, j, k) is the arg-max
                                                 0                    otherwise (and in the remainder)

    Parameters
    ----------
    dout : ndarray, shape (N, C, Lo, To, So)
    cache : tuple
        From :func:`maxpool3d_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, L, T, S), dtype of dout

    Raises
    ------
    ParameterError
        If dout does not have the shape of the forward output.
    """
    arg, x_shape, size = cache
    if dout.shape != arg.shape:
        raise ParameterError(f"maxpool3d_backward: dout has shape {dout.shape}, expected {arg.shape} "
                             f"like the forward output; pass the gradient of that output")
    dout = np.ascontiguousarray(dout)
    dx = np.empty(x_shape, dtype=dout.dtype)
    maxpool_backward_kernel(dout, arg, *size, dx)
    return dx


class MaxPool3D(Layer):
    """Max-pooling layer, stride = size, floor; no parameters.

    Parameters
    ----------
    size : int or tuple (pL, pT, pS)
        An int means the same on all axes; 1 leaves an axis unpooled.

    Notes
    -----
    See :func:`maxpool3d_forward` for the equation and docs/spec.md references.
    """

    def __init__(self, size):
        super().__init__()
        self.size = pool_size(size)

    def forward(self, x, train=False):
        """y (N, C, L//pL, T//pT, S//pS) from x (N, C, L, T, S)."""
        y, self.cache = maxpool3d_forward(x, self.size)
        return y

    def backward(self, dy):
        """dx (N, C, L, T, S): dy routed to each window's arg-max."""
        return maxpool3d_backward(dy, self.cache)

    def __repr__(self):
        return f"MaxPool3D(size={self.size})"

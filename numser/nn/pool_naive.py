"""3D max-pooling as plain loops over output positions: the naive twin of numser.nn.pool's kernels.

:func:`numser.nn.pool.maxpool3d_forward` and :func:`~numser.nn.pool.maxpool3d_backward` run Numba
kernels written for speed (the backward one walks dx in memory order and writes every element
once). The two functions here say the same thing the way docs/conv3d.md does: for every output
position, cut out its window, take the maximum and remember where it was; backward, send each
upstream gradient to that one position. Tests compare them (``tests/nn/test_pool_naive.py``);
``examples/12_naive_vs_fast.py`` prints the speed-up of the kernels over these loops.

Equation
--------
    y[n, c, l, t, s] = max_{i < pL, j < pT, k < pS} x[n, c, l*pL + i, t*pT + j, s*pS + k]
    dx[n, c, l*pL + i, t*pT + j, s*pS + k] = dout[n, c, l, t, s]   at the window's arg-max (i, j, k),
                                             0                     elsewhere and in the remainder

The arg-max is the first maximum in C order, as ``np.argmax`` returns it: flat index
(i*pT + j)*pS + k inside the window.
"""
import numpy as np


def maxpool_naive_forward(x, size):
    """Max over every non-overlapping (pL, pT, pS) window (stride = size, floor), by loops.

    Parameters
    ----------
    x : ndarray, shape (N, C, L, T, S)
    size : tuple (pL, pT, pS)

    Returns
    -------
    y : ndarray, shape (N, C, L//pL, T//pT, S//pS), dtype of x
    arg : ndarray of int, same shape: flat index (i*pT + j)*pS + k of the maximum in its window
    """
    N, C, L, T, S = x.shape
    pL, pT, pS = size
    y = np.empty((N, C, L // pL, T // pT, S // pS), dtype=x.dtype)
    arg = np.empty(y.shape, dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for l in range(y.shape[2]):
                for t in range(y.shape[3]):
                    for s in range(y.shape[4]):
                        window = x[n, c, l * pL:(l + 1) * pL, t * pT:(t + 1) * pT, s * pS:(s + 1) * pS]
                        arg[n, c, l, t, s] = np.argmax(window)      # first maximum, C order
                        y[n, c, l, t, s] = window.max()
    return y, arg


def maxpool_naive_backward(dout, arg, x_shape, size):
    """Gradient of :func:`maxpool_naive_forward`: each dout value goes to its window's arg-max.

    Parameters
    ----------
    dout : ndarray, shape (N, C, Lo, To, So)
    arg : ndarray of int, shape (N, C, Lo, To, So), from the forward pass
    x_shape : (N, C, L, T, S)
    size : tuple (pL, pT, pS)

    Returns
    -------
    dx : ndarray, shape ``x_shape``, dtype of dout (zero in the remainder that fills no window)
    """
    pL, pT, pS = size
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for n, c, l, t, s in np.ndindex(dout.shape):
        i, j, k = np.unravel_index(arg[n, c, l, t, s], (pL, pT, pS))
        dx[n, c, l * pL + i, t * pT + j, s * pS + k] = dout[n, c, l, t, s]
    return dx

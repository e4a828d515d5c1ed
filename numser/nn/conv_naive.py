"""The 3D convolution as plain loops: the code to read first, and the naive twin of the fast paths.

:func:`numser.nn.conv.conv3d_forward` and :func:`~numser.nn.conv.conv3d_backward` compute this
layer with Numba kernels (:mod:`numser.nn.conv_kernels`) or through the FFT
(:mod:`numser.nn.conv_fft`); both are written for speed. The two functions here compute the same
numbers the way the equations read: one multiply-add at a time, a loop over every output
position and, inside it, every kernel tap. They are thousands of times slower (``examples/
12_naive_vs_fast.py`` prints by how much) and meant for small shapes in float64: tests compare
both fast paths with them (``tests/nn/test_conv_naive.py``). docs/conv3d.md derives the equations.

Equation
--------
With xp the input zero-padded by (bL, aL), (bT, aT), (bS, aS) and g = dL/dy:

    y[n, f, l, t, s]  = b[f] + sum_{c, i, j, k} w[f, c, i, j, k] * xp[n, c, l+i, t+j, s+k]
    dxp[n, c, l+i, t+j, s+k] += w[f, c, i, j, k] * g[n, f, l, t, s]      for every output and tap
    dw[f, c, i, j, k]        += xp[n, c, l+i, t+j, s+k] * g[n, f, l, t, s]
    db[f]                     = sum_{n, l, t, s} g[n, f, l, t, s]

The backward loops *scatter*: each output position hands its gradient back to the kL*kT*kS
inputs it read, weighted by the tap that read them. Collected per input position instead, the
same sum is a full correlation of g with the flipped kernel (docs/conv3d.md, "Backward";
``examples/04_conv3d_by_hand.py`` computes it both ways).
"""
import numpy as np


def _padded(x, pad):
    """x (N, C, L, T, S) with zeros added before/after each of L, T, S: ((bL, aL), (bT, aT), (bS, aS))."""
    return np.pad(x, ((0, 0), (0, 0)) + tuple(tuple(p) for p in pad))


def conv3d_naive_forward(x, w, b, pad):
    """Stride-1 3D cross-correlation plus bias, one multiply-add at a time.

    Parameters
    ----------
    x : ndarray, shape (N, C, L, T, S)
    w : ndarray, shape (F, C, kL, kT, kS)
    b : ndarray, shape (F,)
    pad : ((bL, aL), (bT, aT), (bS, aS))
        Zeros before/after each axis (:func:`numser.nn.conv.same_padding` for 'same').

    Returns
    -------
    y : ndarray, shape (N, F, Lo, To, So), dtype of x; Lo = L + bL + aL - kL + 1, etc.
    """
    xp = _padded(x, pad)
    N, C, Lp, Tp, Sp = xp.shape
    F, _, kL, kT, kS = w.shape
    y = np.zeros((N, F, Lp - kL + 1, Tp - kT + 1, Sp - kS + 1), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for l in range(y.shape[2]):                   # every output position ...
                for t in range(y.shape[3]):
                    for s in range(y.shape[4]):
                        total = b[f]
                        for c in range(C):                # ... sums every tap's product
                            for i in range(kL):
                                for j in range(kT):
                                    for k in range(kS):
                                        total += w[f, c, i, j, k] * xp[n, c, l + i, t + j, s + k]
                        y[n, f, l, t, s] = total
    return y


def conv3d_naive_backward(g, x, w, pad):
    """Gradients of :func:`conv3d_naive_forward`, by the chain rule read off the forward loops.

    Parameters
    ----------
    g : ndarray, shape (N, F, Lo, To, So)
        The upstream gradient dL/dy.
    x : ndarray, shape (N, C, L, T, S)
        The forward input.
    w : ndarray, shape (F, C, kL, kT, kS)
    pad : ((bL, aL), (bT, aT), (bS, aS))

    Returns
    -------
    dx : ndarray, shape (N, C, L, T, S)
        dxp with the padding cut off (zeros added by the padding have no gradient to pass on).
    dw : ndarray, shape (F, C, kL, kT, kS)
    db : ndarray, shape (F,)
    """
    xp = _padded(x, pad)
    N, F, Lo, To, So = g.shape
    _, C, kL, kT, kS = w.shape
    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros(F, dtype=g.dtype)
    for n in range(N):
        for f in range(F):
            for l in range(Lo):                           # every output position ...
                for t in range(To):
                    for s in range(So):
                        grad = g[n, f, l, t, s]
                        db[f] += grad
                        for c in range(C):                # ... goes back through every tap
                            for i in range(kL):
                                for j in range(kT):
                                    for k in range(kS):
                                        dxp[n, c, l + i, t + j, s + k] += w[f, c, i, j, k] * grad
                                        dw[f, c, i, j, k] += xp[n, c, l + i, t + j, s + k] * grad
    (bL, _), (bT, _), (bS, _) = pad
    L, T, S = x.shape[2:]
    return dxp[:, :, bL:bL + L, bT:bT + T, bS:bS + S], dw, db

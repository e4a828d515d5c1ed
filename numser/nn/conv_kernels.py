"""Direct 3D cross-correlation (docs/spec.md §3, §4): NumPy references and the Numba kernels they check.

The NumPy references work on an input that is already zero-padded, ``xp`` of shape
(N, C, Lp, Tp, Sp), and a kernel ``w`` of shape (F, C, kL, kT, kS); the output has
(Lo, To, So) = (Lp - kL + 1, Tp - kT + 1, Sp - kS + 1). The Numba kernels compute the same
numbers from the *unpadded* x (N, C, L, T, S) and the leading pads (bL, bT, bS): they skip the
taps that fall on zeros instead of building xp, which saves a copy of the input in the forward
pass and a cropped copy of dxp in the backward pass. The public entry points are
:func:`numser.nn.conv.conv3d_forward` and :func:`numser.nn.conv.conv3d_backward`.

Equation
--------
Forward (cross-correlation, as PyTorch):

    y[n, f, l, t, s] = b[f] + sum_{c, i, j, k} w[f, c, i, j, k] * xp[n, c, l+i, t+j, s+k]

Backward, with g = dL/dy of shape (N, F, Lo, To, So):

    dxp[n, c, l', t', s'] = sum_{f, i, j, k} w[f, c, i, j, k] * g[n, f, l'-i, t'-j, s'-k]
    dw[f, c, i, j, k]     = sum_{n, l, t, s} g[n, f, l, t, s] * xp[n, c, l+i, t+j, s+k]
    db[f]                 = sum_{n, l, t, s} g[n, f, l, t, s]

(g is zero outside its range, so dxp is a *full* correlation of g with the flipped kernel.)

Notes
-----
The Numba kernels put the spectral axis S innermost: for one output row y[n, f, l, t, :] and one
tap (c, i, j, k) the update is ``row[s] += w * xrow[s + k]`` over contiguous memory, which LLVM
turns into SIMD fused multiply-adds (:func:`numser.nn.fma.fma`, fused where the code says, so
the same on every compile). The inner loops index slices with plain ``range`` indices: an
index that might be negative (``s + k - bS``) makes Numba emit a wraparound check per element,
which blocked vectorisation and measured several times slower. They cost C*kL*kT*kS
multiply-adds per output, so they are the right tool for short spectral kernels only; long
ones go through :mod:`numser.nn.conv_fft`.

Reproducibility: every sum is done in an order fixed by the code, never by the thread count or
the compiler. No kernel uses ``fastmath``: with it LLVM may reassociate and fuse sums, and it
did so differently in a freshly compiled and in a cache-loaded kernel (the first run after a
cache miss gave other losses than the runs after it). Sums over the batch use a fixed number of
partials (:data:`numser.nn.conv.BATCH_PARTIALS`). See docs/performance.md, "Reproducibility".
"""
import numpy as np
from numba import njit, prange

from numser.nn.fma import fma


# ----------------------------------------------------------------------------------------------
# NumPy references: one einsum per kernel tap. Slow but short enough to check by eye.
# ----------------------------------------------------------------------------------------------

def correlate_reference(xp, w, b):
    """Forward pass in plain NumPy: y = b + sum over taps of w[:, :, i, j, k] applied to a window.

    Parameters
    ----------
    xp : ndarray, shape (N, C, Lp, Tp, Sp)
        Zero-padded input.
    w : ndarray, shape (F, C, kL, kT, kS)
    b : ndarray, shape (F,)

    Returns
    -------
    y : ndarray, shape (N, F, Lp-kL+1, Tp-kT+1, Sp-kS+1), dtype of ``xp``
    """
    N, C, Lp, Tp, Sp = xp.shape
    F, _, kL, kT, kS = w.shape
    Lo, To, So = Lp - kL + 1, Tp - kT + 1, Sp - kS + 1
    y = np.zeros((N, F, Lo, To, So), dtype=xp.dtype)
    for i in range(kL):
        for j in range(kT):
            for k in range(kS):
                window = xp[:, :, i:i + Lo, j:j + To, k:k + So]          # (N, C, Lo, To, So)
                y += np.einsum("nclts,fc->nflts", window, w[:, :, i, j, k])
    return y + b[None, :, None, None, None]


def input_grad_reference(g, w, padded_shape):
    """Gradient with respect to the padded input, in plain NumPy: scatter g through every tap.

    Parameters
    ----------
    g : ndarray, shape (N, F, Lo, To, So)
        Upstream gradient dL/dy.
    w : ndarray, shape (F, C, kL, kT, kS)
    padded_shape : tuple of 5 ints
        (N, C, Lp, Tp, Sp), the shape of the padded input.

    Returns
    -------
    dxp : ndarray, shape ``padded_shape``, dtype of ``g``
    """
    _, _, Lo, To, So = g.shape
    _, _, kL, kT, kS = w.shape
    dxp = np.zeros(padded_shape, dtype=g.dtype)
    for i in range(kL):
        for j in range(kT):
            for k in range(kS):
                dxp[:, :, i:i + Lo, j:j + To, k:k + So] += np.einsum(
                    "nflts,fc->nclts", g, w[:, :, i, j, k])
    return dxp


def weight_grad_reference(g, xp, kernel):
    """Gradients of the weights and bias in plain NumPy: one inner product per tap.

    Parameters
    ----------
    g : ndarray, shape (N, F, Lo, To, So)
    xp : ndarray, shape (N, C, Lp, Tp, Sp)
    kernel : tuple (kL, kT, kS)

    Returns
    -------
    dw : ndarray, shape (F, C, kL, kT, kS)
    db : ndarray, shape (F,)
    """
    _, F, Lo, To, So = g.shape
    C = xp.shape[1]
    kL, kT, kS = kernel
    dw = np.zeros((F, C, kL, kT, kS), dtype=g.dtype)
    for i in range(kL):
        for j in range(kT):
            for k in range(kS):
                window = xp[:, :, i:i + Lo, j:j + To, k:k + So]          # (N, C, Lo, To, So)
                dw[:, :, i, j, k] = np.einsum("nflts,nclts->fc", g, window)
    return dw, g.sum(axis=(0, 2, 3, 4))


# ----------------------------------------------------------------------------------------------
# Numba kernels. Each one is checked against the reference above in tests/nn/test_conv.py.
# ----------------------------------------------------------------------------------------------

@njit(parallel=True, cache=True)
def correlate_direct(x, w, b, bL, bT, bS, y):
    """Numba twin of :func:`correlate_reference` on the *unpadded* x; writes y (N, F, Lo, To, So).

    The padding (bL, bT, bS) before each axis is never materialised: taps that fall on it are
    skipped (rows along L, T) or clipped out of the s range (along S).
    """
    N, C, L, T, S = x.shape
    F, _, kL, kT, kS = w.shape
    _, _, Lo, To, So = y.shape
    for nf in prange(N * F):                    # (n, f) pairs write disjoint output blocks
        n, f = nf // F, nf % F
        for l in range(Lo):
            for t in range(To):
                row = y[n, f, l, t]
                row[:] = b[f]
                for c in range(C):
                    for i in range(kL):
                        li = l + i - bL
                        if li < 0 or li >= L:
                            continue            # the whole tap row is zero padding
                        for j in range(kT):
                            tj = t + j - bT
                            if tj < 0 or tj >= T:
                                continue
                            xrow = x[n, c, li, tj]
                            for k in range(kS):
                                wv = w[f, c, i, j, k]
                                off = k - bS    # y[s] += w * x[s + off] where 0 <= s + off < S
                                s0, s1 = max(0, -off), min(So, S - off)
                                dst, src = row[s0:s1], xrow[s0 + off:s1 + off]
                                for s in range(s1 - s0):    # range indices: no wraparound checks
                                    dst[s] = fma(wv, src[s], dst[s])


@njit(parallel=True, cache=True)
def input_grad_direct(g, w, bL, bT, bS, dx):
    """Numba twin of :func:`input_grad_reference`, cropped: overwrites dx (N, C, L, T, S).

    Scatters every g row through every tap; contributions that land on the padding are dropped.
    """
    N, F, Lo, To, So = g.shape
    _, C, L, T, S = dx.shape
    kL, kT, kS = w.shape[2], w.shape[3], w.shape[4]
    for nc in prange(N * C):                    # (n, c) pairs write disjoint input blocks
        n, c = nc // C, nc % C
        dx[n, c] = 0.0
        for f in range(F):
            for l in range(Lo):
                for t in range(To):
                    grow = g[n, f, l, t]
                    for i in range(kL):
                        li = l + i - bL
                        if li < 0 or li >= L:
                            continue
                        for j in range(kT):
                            tj = t + j - bT
                            if tj < 0 or tj >= T:
                                continue
                            drow = dx[n, c, li, tj]
                            for k in range(kS):
                                wv = w[f, c, i, j, k]
                                off = k - bS
                                s0, s1 = max(0, -off), min(So, S - off)
                                dst, src = drow[s0 + off:s1 + off], grow[s0:s1]
                                for s in range(s1 - s0):
                                    dst[s] = fma(wv, src[s], dst[s])


@njit(parallel=True, cache=True)
def weight_grad_direct(g, x, bL, bT, bS, dw, n_chunks):
    """Numba twin of the dw half of :func:`weight_grad_reference` on the unpadded x; overwrites dw.

    The batch is cut into ``n_chunks`` interleaved chunks (samples n = chunk, chunk + n_chunks,
    ...). Each (chunk, f, c) sums its products in a fixed order into its own partial, so no two
    threads write the same memory; the partials are then added in chunk order. ``n_chunks`` is a
    constant (:data:`numser.nn.conv.BATCH_PARTIALS`), never the thread count, so dw is
    bit-identical whatever ``NUMBA_NUM_THREADS`` is: the threads only decide who computes what.

    Each tap's inner product over s is first accumulated lane-wise over the chunk's samples and
    rows, ``lanes[s] += g[n, f, l, t, s] * x[n, c, l+i-bL, t+j-bT, s+k-bS]`` (independent lanes,
    one explicit fma each: SIMD without reordering any sum); the lanes are added in s order at
    the end. No fastmath: LLVM reordered sums differently in a fresh and a cache-loaded compile.
    """
    N, F, Lo, To, So = g.shape
    _, C, L, T, S = x.shape
    kL, kT, kS = dw.shape[2], dw.shape[3], dw.shape[4]
    partial = np.empty((n_chunks,) + dw.shape, dtype=dw.dtype)
    for cfc in prange(n_chunks * F * C):         # (chunk, f, c) triples write disjoint partials
        chunk, f, c = cfc // (F * C), (cfc // C) % F, cfc % C
        lanes = np.empty(So, dtype=dw.dtype)
        for i in range(kL):
            for j in range(kT):
                for k in range(kS):
                    off = k - bS                # dw tap (i, j, k) pairs g[s] with x[s + off]
                    s0, s1 = max(0, -off), min(So, S - off)
                    lanes[:] = 0.0
                    for n in range(chunk, N, n_chunks):
                        for l in range(Lo):
                            li = l + i - bL
                            if li < 0 or li >= L:
                                continue        # the whole tap row is zero padding
                            for t in range(To):
                                tj = t + j - bT
                                if tj < 0 or tj >= T:
                                    continue
                                gs, xs = g[n, f, l, t, s0:s1], x[n, c, li, tj, s0 + off:s1 + off]
                                for s in range(s1 - s0):    # range indices: no wraparound checks
                                    lanes[s] = fma(gs[s], xs[s], lanes[s])
                    total = dw.dtype.type(0)
                    for s in range(s1 - s0):                # the lanes, in s order
                        total += lanes[s]
                    partial[chunk, f, c, i, j, k] = total
    dw[...] = 0.0
    for chunk in range(n_chunks):
        dw += partial[chunk]

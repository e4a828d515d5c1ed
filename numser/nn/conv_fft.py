"""3D cross-correlation through a real FFT along the spectral axis S, for long spectral kernels.

A kernel of shape (kL, kT, kS) with kS = 128 over S = 256 bins is, for every (n, c, l, t) row and
every channel pair (f, c), a 1-D correlation along S. Transforming each row once with a real FFT
of length P turns that correlation into a product per frequency, so the cost no longer grows with
kS: the direct loop spends C*kL*kT*kS multiply-adds per output, this path
C*kL*kT complex multiply-adds per output *frequency* plus two FFTs per row.

Equation
--------
Let x be the *unpadded* input (N, C, L, T, S), w the kernel (F, C, kL, kT, kS) and
((bL, aL), (bT, aT), (bS, aS)) the zero padding. Embed each spectral kernel row circularly in a
length-P vector, tap k going to position (k - bS) mod P:

    w~[f, c, i, j, (k - bS) mod P] = w[f, c, i, j, k]          (zero elsewhere)

With hats for the real DFT along S of length P (x zero-filled from S to P), Ω = P // 2 + 1
frequencies and conj the complex conjugate:

    Y^[n, f, l, t, ω]   = sum_{c, i, j} conj(W~^[f, c, i, j, ω]) X^[n, c, l+i-bL, t+j-bT, ω]
    y                   = irfft(Y^)[..., :So] + b                     (correlation)
    DX^[n, c, l, t, ω]  = sum_{f, i, j} W~^[f, c, i, j, ω] G^[n, f, l-i+bL, t-j+bT, ω]
    dx                  = irfft(DX^)[..., :S]                         (convolution)
    DW^[f, c, i, j, ω]  = sum_{n, l, t} conj(G^[n, f, l, t, ω]) X^[n, c, l+i-bL, t+j-bT, ω]
    dw[f, c, i, j, k]   = irfft(DW^)[f, c, i, j, (k - bS) mod P]       (correlation of x with g)

Terms whose L or T index falls outside the unpadded volume are zero padding and are skipped.
A circular correlation equals the zero-padded linear one when nothing wraps onto live data:
every index s + k - bS lies in [-bS, S + aS - 1], which is what the choice

    P >= max(S + max(bS, aS), kS, So)

guarantees (negative indices land in the zero tail [S, P); the kernel taps stay distinct; every
output index s < So exists).
P is rounded up with ``scipy.fft.next_fast_len``; for S = 256, kS = 128 'same' it is 320.

Notes
-----
The frequency products are small dense sums over (c, i, j) -- or (f, i, j), or (n, l, t) -- done
by Numba kernels with the frequency axis innermost and contiguous. Each has a NumPy reference
(``*_reference``) written as plain einsums. The FFTs are ``scipy.fft.rfft/irfft`` with
``workers=-1``; float32 stays complex64/float32 throughout (no upcast).
"""
import numpy as np
import scipy.fft
from numba import njit, prange

from numser.nn.fma import fma


def fft_length(S, kS, pad_s):
    """The real-FFT length P for a spectral axis of S bins, kernel kS and padding (bS, aS).

    Equation
    --------
    P = next_fast_len(max(S + max(bS, aS), kS, So)), So = S + bS + aS - kS + 1; see the module
    docstring for why (So matters only for padding wider than the kernel, never for 'same').

    Returns
    -------
    P : int
    """
    before, after = pad_s
    So = S + before + after - kS + 1
    return scipy.fft.next_fast_len(max(S + max(before, after), kS, So), real=True)


def kernel_spectrum(w, pad_s, P):
    """Real DFT of the circularly embedded kernel rows, W~^ of shape (F, C, kL, kT, P//2+1)."""
    F, C, kL, kT, kS = w.shape
    w_circ = np.zeros((F, C, kL, kT, P), dtype=w.dtype)
    w_circ[..., (np.arange(kS) - pad_s[0]) % P] = w
    return scipy.fft.rfft(w_circ, axis=-1, workers=-1)


def rows_spectrum(x, P):
    """Real DFT of every S-row of ``x`` zero-filled to length P: (..., S) -> (..., P//2+1)."""
    return scipy.fft.rfft(x, n=P, axis=-1, workers=-1)


def rows_inverse(spectrum, P, length):
    """Inverse real DFT of length P, keeping the first ``length`` samples: (..., Ω) -> (..., length)."""
    return scipy.fft.irfft(spectrum, n=P, axis=-1, workers=-1)[..., :length]


# ----------------------------------------------------------------------------------------------
# NumPy references of the three frequency-domain products (one einsum per (i, j) tap).
# ----------------------------------------------------------------------------------------------

def _overlap(out_len, in_len, shift):
    """Index ranges o in [o0, o1) of the output with o + shift inside [0, in_len)."""
    o0 = max(0, -shift)
    o1 = min(out_len, in_len - shift)
    return o0, max(o0, o1)


def _tap_windows(kernel_lt, out_lt, in_lt, pad_lt):
    """For every (i, j) tap: the output window and the input window it reads, as index tuples.

    Output position (l, t) reads input (l + i - bL, t + j - bT); the windows keep the positions
    where that lies inside the input. Yields (i, j, out_window, in_window), each window a tuple
    (slice over L, slice over T) to index the (L, T) axes of an (N, C, L, T, Ω) array.
    """
    (kL, kT), (Lo, To), (L, T) = kernel_lt, out_lt, in_lt
    for i in range(kL):
        si = i - pad_lt[0][0]
        l0, l1 = _overlap(Lo, L, si)
        for j in range(kT):
            sj = j - pad_lt[1][0]
            t0, t1 = _overlap(To, T, sj)
            yield (i, j, (slice(l0, l1), slice(t0, t1)),
                   (slice(l0 + si, l1 + si), slice(t0 + sj, t1 + sj)))


def forward_product_reference(Xf, Wf, pad_lt, out_lt):
    """Y^ = sum_{c,i,j} conj(W~^) X^ shifted by (i - bL, j - bT): NumPy reference.

    Parameters
    ----------
    Xf : complex ndarray, shape (N, C, L, T, Ω)
    Wf : complex ndarray, shape (F, C, kL, kT, Ω)
    pad_lt : ((bL, aL), (bT, aT))
    out_lt : (Lo, To)

    Returns
    -------
    Yf : complex ndarray, shape (N, F, Lo, To, Ω)
    """
    N, C, L, T, W = Xf.shape
    F = Wf.shape[0]
    Yf = np.zeros((N, F) + tuple(out_lt) + (W,), dtype=Xf.dtype)
    for i, j, out, inp in _tap_windows(Wf.shape[2:4], out_lt, (L, T), pad_lt):
        Yf[:, :, out[0], out[1]] += np.einsum("ncltw,fcw->nfltw", Xf[:, :, inp[0], inp[1]],
                                              np.conj(Wf[:, :, i, j]))
    return Yf


def input_product_reference(Gf, Wf, pad_lt, in_lt):
    """DX^ = sum_{f,i,j} W~^ G^ shifted back by (i - bL, j - bT): NumPy reference.

    Parameters
    ----------
    Gf : complex ndarray, shape (N, F, Lo, To, Ω)
    Wf : complex ndarray, shape (F, C, kL, kT, Ω)
    pad_lt : ((bL, aL), (bT, aT))
    in_lt : (L, T)

    Returns
    -------
    DXf : complex ndarray, shape (N, C, L, T, Ω)
    """
    N, F, Lo, To, W = Gf.shape
    C = Wf.shape[1]
    DXf = np.zeros((N, C) + tuple(in_lt) + (W,), dtype=Gf.dtype)
    for i, j, out, inp in _tap_windows(Wf.shape[2:4], (Lo, To), in_lt, pad_lt):
        DXf[:, :, inp[0], inp[1]] += np.einsum("nfltw,fcw->ncltw", Gf[:, :, out[0], out[1]],
                                               Wf[:, :, i, j])
    return DXf


def weight_product_reference(Gf, Xf, pad_lt, kernel_lt):
    """DW^ = sum_{n,l,t} conj(G^) X^ shifted by (i - bL, j - bT): NumPy reference.

    Parameters
    ----------
    Gf : complex ndarray, shape (N, F, Lo, To, Ω)
    Xf : complex ndarray, shape (N, C, L, T, Ω)
    pad_lt : ((bL, aL), (bT, aT))
    kernel_lt : (kL, kT)

    Returns
    -------
    DWf : complex ndarray, shape (F, C, kL, kT, Ω)
    """
    N, F, Lo, To, W = Gf.shape
    _, C, L, T, _ = Xf.shape
    DWf = np.zeros((F, C) + tuple(kernel_lt) + (W,), dtype=Gf.dtype)
    for i, j, out, inp in _tap_windows(kernel_lt, (Lo, To), (L, T), pad_lt):
        DWf[:, :, i, j] = np.einsum("nfltw,ncltw->fcw", np.conj(Gf[:, :, out[0], out[1]]),
                                    Xf[:, :, inp[0], inp[1]])
    return DWf


# ----------------------------------------------------------------------------------------------
# Numba kernels of the same three products. The spectra are read as split real and imaginary
# planes (made once per array by :func:`split`), so the inner loop over frequencies is plain real
# fused multiply-adds (:func:`numser.nn.fma.fma`) on contiguous memory that LLVM vectorises; a complex-typed loop measured about
# 1.7x slower. Every sum runs in an order fixed by the code: no fastmath (LLVM reordered sums
# differently in a fresh and a cache-loaded compile) and, for dw, a fixed number of partials. Each output row is summed in local planes and written once, interleaved, into
# a float view (..., Ω, 2) of a complex array that the inverse FFT reads directly.
# ----------------------------------------------------------------------------------------------

def split(spectrum):
    """Contiguous real and imaginary planes of a complex array."""
    return np.ascontiguousarray(spectrum.real), np.ascontiguousarray(spectrum.imag)


def interleaved(spectrum):
    """Float view (..., Ω, 2) of a C-contiguous complex array (shares memory)."""
    return spectrum.view(spectrum.real.dtype).reshape(spectrum.shape + (2,))


@njit(parallel=True, cache=True)
def forward_product(Xr, Xi, Wr, Wi, bL, bT, Y):
    """Numba twin of :func:`forward_product_reference`.

    Xr, Xi (N, C, L, T, Ω) and Wr, Wi (F, C, kL, kT, Ω) are real/imaginary planes; writes
    Y (N, F, Lo, To, Ω, 2), the interleaved view of Y^.
    """
    N, C, L, T, W = Xr.shape
    F, _, kL, kT, _ = Wr.shape
    Lo, To = Y.shape[2], Y.shape[3]
    for nf in prange(N * F):                    # (n, f) pairs write disjoint output blocks
        n, f = nf // F, nf % F
        yr = np.empty(W, dtype=Xr.dtype)
        yi = np.empty(W, dtype=Xr.dtype)
        for l in range(Lo):
            for t in range(To):
                yr[:] = 0.0
                yi[:] = 0.0
                for c in range(C):
                    for i in range(kL):
                        li = l + i - bL
                        if li < 0 or li >= L:
                            continue            # zero padding along L
                        for j in range(kT):
                            tj = t + j - bT
                            if tj < 0 or tj >= T:
                                continue        # zero padding along T
                            xr = Xr[n, c, li, tj]
                            xi = Xi[n, c, li, tj]
                            wr = Wr[f, c, i, j]
                            wi = Wi[f, c, i, j]
                            for w in range(W):  # += conj(w~^) * x^
                                yr[w] = fma(wi[w], xi[w], fma(wr[w], xr[w], yr[w]))
                                yi[w] = fma(-wi[w], xr[w], fma(wr[w], xi[w], yi[w]))
                out = Y[n, f, l, t]
                for w in range(W):
                    out[w, 0] = yr[w]
                    out[w, 1] = yi[w]


@njit(parallel=True, cache=True)
def input_product(Gr, Gi, Wr, Wi, bL, bT, DX):
    """Numba twin of :func:`input_product_reference`.

    Gr, Gi (N, F, Lo, To, Ω) and Wr, Wi (F, C, kL, kT, Ω) are planes; writes DX (N, C, L, T, Ω, 2).
    """
    N, F, Lo, To, W = Gr.shape
    _, C, kL, kT, _ = Wr.shape
    L, T = DX.shape[2], DX.shape[3]
    for nc in prange(N * C):                    # (n, c) pairs write disjoint input blocks
        n, c = nc // C, nc % C
        dr = np.empty(W, dtype=Gr.dtype)
        di = np.empty(W, dtype=Gr.dtype)
        for l in range(L):
            for t in range(T):
                dr[:] = 0.0
                di[:] = 0.0
                for f in range(F):
                    # Taps in flipped order (i = kL-1-ii): dx is a correlation of g with the
                    # flipped kernel, padded by kL-1-bL. Written with l - i instead, LLVM made
                    # this loop 4x slower (measured).
                    for ii in range(kL):
                        i = kL - 1 - ii
                        lo = l + ii - (kL - 1 - bL)
                        if lo < 0 or lo >= Lo:
                            continue
                        for jj in range(kT):
                            j = kT - 1 - jj
                            to = t + jj - (kT - 1 - bT)
                            if to < 0 or to >= To:
                                continue
                            gr = Gr[n, f, lo, to]
                            gi = Gi[n, f, lo, to]
                            wr = Wr[f, c, i, j]
                            wi = Wi[f, c, i, j]
                            for w in range(W):  # += w~^ * g^
                                dr[w] = fma(-wi[w], gi[w], fma(wr[w], gr[w], dr[w]))
                                di[w] = fma(wi[w], gr[w], fma(wr[w], gi[w], di[w]))
                out = DX[n, c, l, t]
                for w in range(W):
                    out[w, 0] = dr[w]
                    out[w, 1] = di[w]


@njit(parallel=True, cache=True)
def weight_product(Gr, Gi, Xr, Xi, bL, bT, DWr, DWi, n_chunks):
    """Numba twin of :func:`weight_product_reference`; writes planes DWr, DWi (F, C, kL, kT, Ω).

    The batch is cut into ``n_chunks`` interleaved chunks, each summed in a fixed order into its own
    partial planes, so no two threads write the same memory; the partials are then added in chunk
    order. ``n_chunks`` is a constant (:data:`numser.nn.conv.BATCH_PARTIALS`), never the thread
    count, so the result is bit-identical whatever ``NUMBA_NUM_THREADS`` is.
    """
    N, F, Lo, To, W = Gr.shape
    _, C, L, T, _ = Xr.shape
    kL, kT = DWr.shape[2], DWr.shape[3]
    part_r = np.zeros((n_chunks,) + DWr.shape, dtype=DWr.dtype)
    part_i = np.zeros((n_chunks,) + DWr.shape, dtype=DWr.dtype)
    for chunk in prange(n_chunks):
        for n in range(chunk, N, n_chunks):
            for f in range(F):
                for c in range(C):
                    for i in range(kL):
                        for j in range(kT):
                            ar = part_r[chunk, f, c, i, j]
                            ai = part_i[chunk, f, c, i, j]
                            for l in range(Lo):
                                li = l + i - bL
                                if li < 0 or li >= L:
                                    continue
                                for t in range(To):
                                    tj = t + j - bT
                                    if tj < 0 or tj >= T:
                                        continue
                                    gr = Gr[n, f, l, t]
                                    gi = Gi[n, f, l, t]
                                    xr = Xr[n, c, li, tj]
                                    xi = Xi[n, c, li, tj]
                                    for w in range(W):     # += conj(g^) * x^
                                        ar[w] = fma(gi[w], xi[w], fma(gr[w], xr[w], ar[w]))
                                        ai[w] = fma(-gi[w], xr[w], fma(gr[w], xi[w], ai[w]))
    DWr[...] = 0.0
    DWi[...] = 0.0
    for chunk in range(n_chunks):
        DWr += part_r[chunk]
        DWi += part_i[chunk]


# ----------------------------------------------------------------------------------------------
# The whole FFT path: forward and backward of one convolution.
# ----------------------------------------------------------------------------------------------

def correlate_fft(x, w, b, pad, out_shape):
    """Forward pass through the frequency domain.

    Parameters
    ----------
    x : ndarray, shape (N, C, L, T, S), float32 or float64
        Unpadded input.
    w : ndarray, shape (F, C, kL, kT, kS), dtype of x
    b : ndarray, shape (F,), dtype of x
    pad : ((bL, aL), (bT, aT), (bS, aS))
    out_shape : (N, F, Lo, To, So)

    Returns
    -------
    y : ndarray, shape ``out_shape``, dtype of x
        A view into the (..., P) inverse transform, so strided along S: cropping it would cost a
        full copy, and the next layer (ReLU) makes a contiguous array anyway.
    spectra : tuple (Xr, Xi, Wr, Wi, P)
        Real/imaginary planes of X^ (N, C, L, T, Ω) and W~^ (F, C, kL, kT, Ω), and the FFT length;
        the backward pass reuses them.
    """
    N, F, Lo, To, So = out_shape
    P = fft_length(x.shape[4], w.shape[4], pad[2])
    Xr, Xi = split(rows_spectrum(x, P))                  # (N, C, L, T, Ω) each
    Wr, Wi = split(kernel_spectrum(w, pad[2], P))       # (F, C, kL, kT, Ω) each
    Yf = np.empty((N, F, Lo, To, P // 2 + 1), dtype=np.result_type(x.dtype, np.complex64))
    forward_product(Xr, Xi, Wr, Wi, pad[0][0], pad[1][0], interleaved(Yf))
    Yf[..., 0] += P * b[None, :, None, None]           # the bias, as the DC term (irfft divides by P)
    y = rows_inverse(Yf, P, So)                          # a view: no copy to crop P -> So
    return y, (Xr, Xi, Wr, Wi, P)


def correlate_fft_backward(g, spectra, x_shape, w_shape, pad, n_chunks):
    """Backward pass through the frequency domain: dx, dw, db from g = dL/dy.

    Parameters
    ----------
    g : ndarray, shape (N, F, Lo, To, So)
    spectra : tuple
        As returned by :func:`correlate_fft`.
    x_shape : (N, C, L, T, S)
    w_shape : (F, C, kL, kT, kS)
    pad : ((bL, aL), (bT, aT), (bS, aS))
    n_chunks : int
        Batch chunks summed in parallel for dw, each into its own partial (a constant, not the
        number of threads: see :data:`numser.nn.conv.BATCH_PARTIALS`).

    Returns
    -------
    dx : ndarray, shape ``x_shape``
        A view into the (..., P) inverse transform (strided along S), like y of the forward pass.
    dw : ndarray, shape ``w_shape``
    db : ndarray, shape (F,)
    """
    Xr, Xi, Wr, Wi, P = spectra
    N, C, L, T, S = x_shape
    F, _, kL, kT, kS = w_shape
    W = P // 2 + 1
    Gr, Gi = split(rows_spectrum(g, P))                  # (N, F, Lo, To, Ω) each
    DXf = np.empty((N, C, L, T, W), dtype=np.result_type(g.dtype, np.complex64))
    input_product(Gr, Gi, Wr, Wi, pad[0][0], pad[1][0], interleaved(DXf))
    dx = rows_inverse(DXf, P, S)                         # a view: no copy to crop P -> S
    DWr = np.empty((F, C, kL, kT, W), dtype=g.dtype)
    DWi = np.empty_like(DWr)
    weight_product(Gr, Gi, Xr, Xi, pad[0][0], pad[1][0], DWr, DWi, n_chunks)
    DWf = np.empty(DWr.shape, dtype=DXf.dtype)
    DWf.real, DWf.imag = DWr, DWi
    lags = scipy.fft.irfft(DWf, n=P, axis=-1)           # (F, C, kL, kT, P): dw at every lag
    dw = np.ascontiguousarray(lags[..., (np.arange(kS) - pad[2][0]) % P])
    return dx, dw, g.sum(axis=(0, 2, 3, 4))

"""1-D convolution along S (kernels (1, 1, kS)) through the FFT, the channel mixing as per-frequency GEMMs.

The 1D-CNN-LSTM's convolutions (docs/spec.md §4) have kL = kT = 1, so in the frequency domain
of :mod:`numser.nn.conv_fft` nothing is left of the L and T taps: for every frequency ω the
forward pass, the input gradient and the weight gradient are each one dense complex matrix
product over the channels,

    Y^[ω]  (M × F) = X^[ω] (M × C) · conj(W^[ω])ᵀ (C × F)           forward
    DX^[ω] (M × C) = G^[ω] (M × F) · W^[ω]        (F × C)           input gradient
    DW^[ω] (F × C) = conj(G^[ω])ᵀ (F × M) · X^[ω] (M × C)           weight gradient

with M = N·L·T rows (n, l, t), X^[ω][m, c] = rfft(x)[n, c, l, t, ω] and W^ the spectrum of the
circularly embedded kernel (``conv_fft.kernel_spectrum``; the same P, padding and equations as
there). A product per frequency is what BLAS (cgemm/zgemm) computes near its peak, while the
Numba loops of ``conv_fft`` stream a whole kernel spectrum per output row (docs/conv3d.md).

Layout and blocking: BLAS needs each ω's matrix with unit stride along one axis, the FFTs want
ω innermost. The spectra are therefore kept **sample-major with the channels innermost**,
(N, L, T, Ω, K): for a fixed ω, the rows (n, l, t) are a matrix with row stride Ω·K and unit
stride along K, which BLAS takes as it is. The batch is cut into blocks of ``ROWS_PER_BLOCK``
rows; each block runs the whole pipeline while its data is in cache: rfft along S → transpose
(K, Ω) → (Ω, K) → one GEMM per ω → transpose back → irfft → crop (+ bias) into the output. No
full-size complex temporary is made; X^ (sample-major) is kept for the weight gradient, whose
sum over the batch is done per block, DW^ += conj(G^_block)ᵀ · X^_block, in a fixed number of
partials (``n_chunks``, :data:`numser.nn.conv.BATCH_PARTIALS`: chunk k holds blocks k,
k + n_chunks, ... in order; the partials are added in chunk order).

Reproducibility (docs/performance.md, "Reproducibility"): the blocks and the partials are fixed
by the shapes, never by the thread count; the threads (``numba.get_num_threads()`` Python
threads, NumPy and SciPy release the GIL) only decide who computes which chunk of blocks. Each
GEMM is one BLAS call, which runs one thread (``numser/thread_policy.py``) and whose result does not
depend on that count either (tests/nn/test_conv_gemm.py). So the results are bit-identical on
any ``NUMBA_NUM_THREADS``; they differ from the 'fft' path's Numba products by float rounding
(another summation order), which is why only the 1D-CNN-LSTM, whose layers ask for it with
``method='fft-gemm'``, takes this path.

The NumPy references of the three products are ``conv_fft.forward_product_reference``,
``input_product_reference`` and ``weight_product_reference`` with kL = kT = 1; the whole layer
is checked against ``numser.nn.conv.conv3d_reference`` and by finite differences
(tests/nn/test_conv_gemm.py).
"""
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import scipy.fft

from numser.errors import ParameterError
from numser.nn.conv_fft import fft_length, kernel_spectrum

#: Rows (n, l, t) per block of the FFT-transpose-GEMM pipeline: 64 rows of the 1D-CNN-LSTM's
#: second convolution are 64 × 40 channels × 601 frequencies = 12 MB of complex64 spectrum,
#: enough rows for an efficient GEMM (M = 64: measured 0.32 s per forward product against 0.49 s
#: with 16 rows and 0.27 s unblocked, CPU time under load), small enough to stay in cache.
#: It fixes the blocks, and so the order of dw's sum: changing it changes the rounding.
ROWS_PER_BLOCK = 64


def check_kernel(w_shape):
    """Raise ParameterError unless the kernel is (F, C, 1, 1, kS): a 1-D convolution along S."""
    if tuple(w_shape[2:4]) != (1, 1):
        raise ParameterError(
            f"conv3d method 'fft-gemm' computes 1-D convolutions along S only (kernel (1, 1, kS)), "
            f"got kernel {tuple(w_shape[2:])}; use method 'fft' or 'auto'")


def _parallel(job, items):
    """Run ``job`` on every item with ``numba.get_num_threads()`` Python threads, in any order.

    Each item writes its own disjoint output, so the order and the thread count do not matter.
    NumPy's matmul and copies and SciPy's FFTs release the GIL. A fresh pool per call: a pool
    kept across calls would hang in a child forked after it was created.
    """
    threads = min(numba.get_num_threads(), len(items))
    if threads <= 1:
        for item in items:
            job(item)
        return
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(job, items):      # re-raises the first exception of a job
            pass


def _sample_blocks(N, rows_per_sample):
    """(n0, n1) slices of the batch holding about ROWS_PER_BLOCK rows each (fixed by the shape)."""
    step = max(1, ROWS_PER_BLOCK // rows_per_sample)
    return [(n0, min(n0 + step, N)) for n0 in range(0, N, step)]


def _sample_major(spectrum_block, out):
    """(nb, K, L, T, Ω) → out (nb, L, T, Ω, K): channels innermost, one block still in cache."""
    out[...] = spectrum_block.transpose(0, 2, 3, 4, 1)


def _by_frequency(sample_major):
    """The (Ω, rows, K) matrices of a (nb, L, T, Ω, K) array: a view, unit stride along K."""
    nb, L, T, W, K = sample_major.shape
    return sample_major.reshape(nb * L * T, W, K).transpose(1, 0, 2)


def _inverse_into(spectrum, P, out, bias=None):
    """irfft of a (nb, L, T, Ω, K) spectrum, cropped, into out (nb, K, L, T, length) (+ bias[k])."""
    rows = np.ascontiguousarray(spectrum.transpose(0, 4, 1, 2, 3))   # (nb, K, L, T, Ω)
    signal = scipy.fft.irfft(rows, n=P, axis=-1, workers=1)[..., :out.shape[-1]]
    if bias is None:
        out[...] = signal
    else:
        np.add(signal, bias[:, None, None, None], out=out)


def gemm_correlate(x, w, b, pad, out_shape):
    """Forward pass: y = x ⋆ w + b along S, through the FFT and one GEMM per frequency.

    Parameters
    ----------
    x : ndarray, shape (N, C, L, T, S), float32 or float64
    w : ndarray, shape (F, C, 1, 1, kS), dtype of x
    b : ndarray, shape (F,), dtype of x
    pad : ((0, 0), (0, 0), (bS, aS))
    out_shape : (N, F, L, T, So)

    Returns
    -------
    y : ndarray, shape ``out_shape``, C-contiguous
    saved : tuple (Xs, Wf, P)
        X^ sample-major (N, L, T, Ω, C), the kernel spectrum W^ as (Ω, F, C), and the FFT
        length; :func:`gemm_correlate_backward` reuses them.
    """
    check_kernel(w.shape)
    N, C, L, T, S = x.shape
    F = w.shape[0]
    P = fft_length(S, w.shape[4], pad[2])
    W = P // 2 + 1
    Wf = np.ascontiguousarray(kernel_spectrum(w, pad[2], P)[:, :, 0, 0].transpose(2, 0, 1))
    Wc = np.ascontiguousarray(np.conj(Wf).transpose(0, 2, 1))       # (Ω, C, F): conj(W^[ω])ᵀ
    Xs = np.empty((N, L, T, W, C), dtype=np.result_type(x.dtype, np.complex64))
    y = np.empty(out_shape, dtype=x.dtype)

    def block(span):
        n0, n1 = span
        _sample_major(scipy.fft.rfft(x[n0:n1], n=P, axis=-1, workers=1), Xs[n0:n1])
        Yb = np.empty((n1 - n0, L, T, W, F), dtype=Xs.dtype)
        np.matmul(_by_frequency(Xs[n0:n1]), Wc, out=_by_frequency(Yb))   # (Ω, rows, F)
        _inverse_into(Yb, P, y[n0:n1], bias=b)

    _parallel(block, _sample_blocks(N, L * T))
    return y, (Xs, Wf, P)


def gemm_correlate_backward(g, saved, x_shape, w_shape, pad, n_chunks):
    """Backward pass of :func:`gemm_correlate`: dx, dw, db from g = dL/dy.

    Parameters
    ----------
    g : ndarray, shape (N, F, L, T, So)
    saved : tuple
        As returned by :func:`gemm_correlate`.
    x_shape : (N, C, L, T, S)
    w_shape : (F, C, 1, 1, kS)
    pad : ((0, 0), (0, 0), (bS, aS))
    n_chunks : int
        Partial sums of DW^ over the blocks of the batch (fewer if there are fewer blocks): a
        constant (:data:`numser.nn.conv.BATCH_PARTIALS`), never the number of threads.

    Returns
    -------
    dx : ndarray, shape ``x_shape``
    dw : ndarray, shape ``w_shape``
    db : ndarray, shape (F,)
    """
    Xs, Wf, P = saved
    N, C, L, T, S = x_shape
    F, kS = w_shape[0], w_shape[4]
    W = P // 2 + 1
    dx = np.empty(x_shape, dtype=g.dtype)
    blocks = _sample_blocks(N, L * T)
    n_chunks = min(len(blocks), n_chunks)                            # never the thread count
    partial = np.zeros((n_chunks, W, F, C), dtype=Xs.dtype)

    def chunk(k):
        """Blocks k, k + n_chunks, ... in order: dx of each, and their DW^ summed into partial[k]."""
        term = np.empty((W, F, C), dtype=Xs.dtype)
        for n0, n1 in blocks[k::n_chunks]:
            Gb = np.empty((n1 - n0, L, T, W, F), dtype=Xs.dtype)
            _sample_major(scipy.fft.rfft(g[n0:n1], n=P, axis=-1, workers=1), Gb)
            DXb = np.empty((n1 - n0, L, T, W, C), dtype=Xs.dtype)
            np.matmul(_by_frequency(Gb), Wf, out=_by_frequency(DXb))      # (Ω, rows, C)
            _inverse_into(DXb, P, dx[n0:n1])
            np.conjugate(Gb, out=Gb)
            np.matmul(_by_frequency(Gb).transpose(0, 2, 1), _by_frequency(Xs[n0:n1]), out=term)
            partial[k] += term                                           # (Ω, F, C), block order

    _parallel(chunk, list(range(n_chunks)))
    DW = partial[0]
    for k in range(1, n_chunks):                                       # partials in chunk order
        DW += partial[k]
    lags = scipy.fft.irfft(DW, n=P, axis=0, workers=-1)               # (P, F, C): dw at every lag
    taps = lags[(np.arange(kS) - pad[2][0]) % P]                       # (kS, F, C)
    dw = np.ascontiguousarray(taps.transpose(1, 2, 0)).reshape(w_shape)
    return dx, dw, g.sum(axis=(0, 2, 3, 4))

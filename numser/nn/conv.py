"""The 3D convolution layer of docs/spec.md §3 (also conv1d/conv2d through size-1 axes, docs/spec.md §4).

Two interchangeable paths compute the same function: the direct Numba loops of
:mod:`numser.nn.conv_kernels` and the spectral-axis FFT of :mod:`numser.nn.conv_fft`.
:func:`choose_method` picks one from the kernel shape. A third, :mod:`numser.nn.conv_gemm`
(``method='fft-gemm'``), computes 1-D convolutions along S (kernels (1, 1, kS)) with the same FFT
and one BLAS matrix product per frequency; it is chosen explicitly (the 1D-CNN-LSTM's layers do),
never by 'auto', because it rounds differently from the 'fft' path. To read first: the same layer
as plain loops, :mod:`numser.nn.conv_naive`.
"""
import numpy as np

from numser.errors import ParameterError
from numser.nn import conv_fft, conv_gemm, conv_kernels
from numser.nn.layer import Layer

#: Spectral kernel length from which the FFT path is used (see :func:`choose_method`).
FFT_MIN_KS = 16

AXES = ("L", "T", "S")

#: Number of partial sums the weight-gradient kernels split the batch into (fewer when the batch
#: is smaller). Reduction policy: a sum over the batch is cut into this many fixed chunks, each
#: summed in a fixed order, and the partials are added in chunk order; threads only decide who
#: computes which chunk. It must not follow ``numba.get_num_threads()``: the rounding of a float
#: sum depends on its order, and a thread-count-dependent order made results differ between
#: NUMBA_NUM_THREADS=1 and 2 from the second epoch on (issue 11). 8 keeps up to 8 threads busy.
BATCH_PARTIALS = 8


def same_padding(kernel):
    """Zero padding that keeps (L, T, S): PyTorch's ``padding='same'`` rule.

    Equation
    --------
    For a kernel length k along one axis: before = (k - 1) // 2, after = k - 1 - before; so an odd
    k pads (k-1)/2 on both sides and an even k pads k/2 - 1 before and k/2 after.

    Parameters
    ----------
    kernel : tuple (kL, kT, kS) of int >= 1

    Returns
    -------
    pad : ((bL, aL), (bT, aT), (bS, aS))
    """
    return tuple(((k - 1) // 2, k - 1 - (k - 1) // 2) for k in kernel)


def output_shape(x_shape, w_shape, pad):
    """Shape (N, F, Lo, To, So) of a stride-1 convolution; Lo = L + bL + aL - kL + 1, etc."""
    N, _, L, T, S = x_shape
    F, _, kL, kT, kS = w_shape
    return (N, F) + tuple(n + before + after - k + 1
                          for n, k, (before, after) in zip((L, T, S), (kL, kT, kS), pad))


def choose_method(w_shape):
    """The faster path for a kernel shape: 'fft' when kS >= FFT_MIN_KS, else 'direct'.

    The direct loops cost C*kL*kT*kS multiply-adds per output; the FFT path costs
    C*kL*kT complex multiply-adds per output frequency plus a forward and an inverse real FFT
    per row, nearly independent of kS. Both scale with kL*kT, so the crossover is a spectral
    kernel length. ``benchmarks/bench_conv.py`` measures it on the model's layer shapes
    (docs/performance.md): the two paths were level at kS = 8, the FFT path 1.3-2.5x faster at
    kS = 16 (level on a first layer with C = 1) and 3.4x at kS = 32; hence FFT_MIN_KS = 16.
    """
    return "fft" if w_shape[4] >= FFT_MIN_KS else "direct"


def _check(x, w, b, pad):
    """Raise ParameterError unless x, w, b and pad describe a valid convolution."""
    if x.ndim != 5:
        raise ParameterError(
            f"conv3d: x has shape {x.shape}, expected 5 axes (N, C, L, T, S); give 1-D or 2-D "
            f"inputs size-1 axes, e.g. x[:, :, None, None, :] for (N, C, S)")
    if w.ndim != 5 or w.shape[1] != x.shape[1]:
        raise ParameterError(
            f"conv3d: kernel shape {w.shape} does not fit x of shape {x.shape}; expected "
            f"(F, {x.shape[1]}, kL, kT, kS) with C = {x.shape[1]} input channels")
    if b.shape != (w.shape[0],):
        raise ParameterError(f"conv3d: bias shape {b.shape}, expected ({w.shape[0]},), one per filter")
    if x.dtype not in (np.float32, np.float64) or w.dtype != x.dtype or b.dtype != x.dtype:
        raise ParameterError(
            f"conv3d: dtypes x {x.dtype}, w {w.dtype}, b {b.dtype}; all three must be the same "
            f"float32 or float64 (numser never upcasts silently): cast x, or call layer.astype()")
    if len(pad) != 3 or any(len(p) != 2 or min(p) < 0 for p in pad):
        raise ParameterError(f"conv3d: pad {pad}, expected ((bL, aL), (bT, aT), (bS, aS)) of ints >= 0")
    for axis, n, k, (before, after) in zip(AXES, x.shape[2:], w.shape[2:], pad):
        if n + before + after < k:
            raise ParameterError(
                f"conv3d: kernel {tuple(w.shape[2:])} is longer than the padded input along {axis} "
                f"({k} > {n} + {before} + {after}) for x of shape {x.shape}; use padding='same' or "
                f"a kernel of at most {n + before + after} along {axis}")


def conv3d_forward(x, w, b, pad, *, method="auto"):
    """Stride-1 3D cross-correlation with zero padding, plus bias.

    Equation
    --------
        y[n, f, l, t, s] = b[f] + sum_{c, i, j, k} w[f, c, i, j, k] * xp[n, c, l+i, t+j, s+k]

    with xp the input zero-padded by (bL, aL), (bT, aT), (bS, aS) before/after each axis; n
    indexes the batch, c the C input and f the F output channels, (l, t, s) the output volume and
    (i, j, k) the kernel taps.

    Parameters
    ----------
    x : ndarray, shape (N, C, L, T, S), float32 or float64
    w : ndarray, shape (F, C, kL, kT, kS), dtype of x
    b : ndarray, shape (F,), dtype of x
    pad : ((bL, aL), (bT, aT), (bS, aS))
        Zeros added before/after along L, T and S (:func:`same_padding` for 'same').
    method : {'auto', 'direct', 'fft', 'fft-gemm'}
        'auto' uses :func:`choose_method`; all paths compute the same function. 'fft-gemm'
        (:mod:`numser.nn.conv_gemm`) takes kernels (F, C, 1, 1, kS) only.

    Returns
    -------
    y : ndarray, shape (N, F, Lo, To, So), dtype of x
        Lo = L + bL + aL - kL + 1, To = T + bT + aT - kT + 1, So = S + bS + aS - kS + 1.
        The FFT path returns a view strided along S (it saves a copy); the values are the same.
    cache : dict
        What :func:`conv3d_backward` needs: the path and its saved arrays.

    Raises
    ------
    ParameterError
        Wrong number of axes, channel mismatch, mixed or non-float dtypes, a malformed pad, or a
        kernel longer than the padded input.

    Notes
    -----
    docs/spec.md §3: stride 1, 'same' zero padding, bias; it is cross-correlation, as in PyTorch.
    """
    _check(x, w, b, pad)
    x = np.ascontiguousarray(x)
    pad = tuple((int(before), int(after)) for before, after in pad)
    if method == "auto":
        method = choose_method(w.shape)
    y_shape = output_shape(x.shape, w.shape, pad)
    if method == "direct":
        y = np.empty(y_shape, dtype=x.dtype)
        conv_kernels.correlate_direct(x, w, b, pad[0][0], pad[1][0], pad[2][0], y)
        return y, {"method": "direct", "x": x, "w": w, "pad": pad, "x_shape": x.shape}
    if method == "fft":
        y, spectra = conv_fft.correlate_fft(x, w, b, pad, y_shape)
        return y, {"method": "fft", "spectra": spectra, "w": w, "pad": pad, "x_shape": x.shape}
    if method == "fft-gemm":
        y, saved = conv_gemm.gemm_correlate(x, w, b, pad, y_shape)
        return y, {"method": "fft-gemm", "saved": saved, "w": w, "pad": pad, "x_shape": x.shape}
    raise ParameterError(f"conv3d: method {method!r}; expected 'auto', 'direct', 'fft' or 'fft-gemm'")


def conv3d_backward(dout, cache):
    """Gradients of :func:`conv3d_forward` with respect to x, w and b.

    Equation
    --------
    With g = dL/dy (zero outside the output volume):

        dxp[n, c, l, t, s] = sum_{f, i, j, k} w[f, c, i, j, k] * g[n, f, l-i, t-j, s-k]
        dw[f, c, i, j, k]  = sum_{n, l, t, s} g[n, f, l, t, s] * xp[n, c, l+i, t+j, s+k]
        db[f]              = sum_{n, l, t, s} g[n, f, l, t, s]

    dx is dxp with the padding cropped: a full correlation of g with the flipped kernel.

    Parameters
    ----------
    dout : ndarray, shape (N, F, Lo, To, So), dtype of the forward x
    cache : dict
        From :func:`conv3d_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, L, T, S)
    dw : ndarray, shape (F, C, kL, kT, kS)
    db : ndarray, shape (F,)

    Raises
    ------
    ParameterError
        If dout does not have the shape and dtype of the forward output.
    """
    w, pad, x_shape = cache["w"], cache["pad"], cache["x_shape"]
    y_shape = output_shape(x_shape, w.shape, pad)
    if dout.shape != y_shape or dout.dtype != w.dtype:
        raise ParameterError(
            f"conv3d_backward: dout is {dout.dtype} {dout.shape}, expected {w.dtype} {y_shape} "
            f"like the forward output; pass the gradient of that output, in its dtype")
    dout = np.ascontiguousarray(dout)
    n_chunks = min(dout.shape[0], BATCH_PARTIALS)      # never the thread count: see BATCH_PARTIALS
    if cache["method"] == "fft-gemm":
        saved = cache.pop("saved", None)   # freed here: the spectrum of x is as big as x (0.5 GB
        if saved is None:                  # in the 1D-CNN-LSTM), and the layers below need room
            raise ParameterError(
                "conv3d_backward: this 'fft-gemm' forward cache was already used by a backward "
                "pass (it frees its saved spectrum); run the forward pass again first")
        return conv_gemm.gemm_correlate_backward(dout, saved, x_shape, w.shape, pad, n_chunks)
    if cache["method"] == "fft":
        return conv_fft.correlate_fft_backward(dout, cache["spectra"], x_shape, w.shape, pad,
                                               n_chunks)
    x = cache["x"]
    (bL, _), (bT, _), (bS, _) = pad
    dx = np.empty_like(x)
    conv_kernels.input_grad_direct(dout, w, bL, bT, bS, dx)
    dw = np.empty_like(w)
    conv_kernels.weight_grad_direct(dout, x, bL, bT, bS, dw, n_chunks)
    return dx, dw, dout.sum(axis=(0, 2, 3, 4))


def conv3d_reference(x, w, b, pad):
    """:func:`conv3d_forward` in plain NumPy (pad, then one einsum per tap); for tests and reading."""
    return conv_kernels.correlate_reference(np.pad(x, ((0, 0), (0, 0)) + tuple(pad)), w, b)


def conv3d_backward_reference(dout, x, w, pad):
    """:func:`conv3d_backward` in plain NumPy; returns dx, dw, db."""
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pad))
    dxp = conv_kernels.input_grad_reference(dout, w, xp.shape)
    dw, db = conv_kernels.weight_grad_reference(dout, xp, w.shape[2:])
    (bL, _), (bT, _), (bS, _) = pad
    L, T, S = x.shape[2:]
    return dxp[:, :, bL:bL + L, bT:bT + T, bS:bS + S], dw, db


def _triple(value, name):
    """An int or a 3-sequence of ints >= 1 as a tuple (kL, kT, kS)."""
    triple = (value,) * 3 if isinstance(value, (int, np.integer)) else tuple(value)
    if len(triple) != 3 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in triple):
        raise ParameterError(f"{name} {value!r}; expected an int >= 1 or a 3-tuple (L, T, S) of them")
    return tuple(int(v) for v in triple)


class Conv3D(Layer):
    """3D convolution layer: F filters of shape (C, kL, kT, kS), stride 1, 'same' or 'valid'.

    Equation
    --------
    y = conv3d_forward(x, W, b, pad) with pad = same_padding(kernel) or zeros ('valid').
    Glorot-uniform init: W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)),
    fan_in = C*kL*kT*kS, fan_out = F*kL*kT*kS; b = 0.

    Parameters
    ----------
    in_channels : int
        C.
    out_channels : int
        F.
    kernel : int or tuple (kL, kT, kS)
        An int means the same length on all three axes; use 1 on unused axes for conv1d/conv2d.
    padding : {'same', 'valid'}
    rng : numpy.random.Generator, optional
        Source of the initial weights; None uses ``np.random.default_rng(0)``.
    dtype : float32 or float64
    method : {'auto', 'direct', 'fft', 'fft-gemm'}, keyword-only
        Path of :func:`conv3d_forward`; 'auto' picks by kernel shape; 'fft-gemm' needs a
        kernel (1, 1, kS).

    Notes
    -----
    docs/spec.md §3 (3D-CNN-DNN and -ELM convolutions) and §4 (conv1d/conv2d via size-1 axes).
    """

    def __init__(self, in_channels, out_channels, kernel, padding="same", *, rng=None,
                 dtype=np.float32, method="auto"):
        super().__init__()
        kernel = _triple(kernel, "Conv3D kernel")
        if padding not in ("same", "valid"):
            raise ParameterError(f"Conv3D padding {padding!r}; expected 'same' or 'valid'")
        if method not in ("auto", "direct", "fft", "fft-gemm"):
            raise ParameterError(
                f"Conv3D method {method!r}; expected 'auto', 'direct', 'fft' or 'fft-gemm'")
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ParameterError(f"Conv3D dtype {dtype!r}; expected float32 or float64")
        if method == "fft-gemm":
            conv_gemm.check_kernel((out_channels, in_channels) + kernel)
        self.kernel, self.padding, self.method = kernel, padding, method
        self.pad = same_padding(kernel) if padding == "same" else ((0, 0),) * 3
        rng = np.random.default_rng(0) if rng is None else rng
        fan_in = in_channels * np.prod(kernel)
        fan_out = out_channels * np.prod(kernel)
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        shape = (out_channels, in_channels) + kernel
        self.params["W"] = rng.uniform(-limit, limit, size=shape).astype(dtype)
        self.params["b"] = np.zeros(out_channels, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x, train=False):
        """y (N, F, Lo, To, So) from x (N, C, L, T, S); keeps the cache for backward."""
        y, self.cache = conv3d_forward(x, self.params["W"], self.params["b"], self.pad,
                                       method=self.method)
        return y

    def backward(self, dy):
        """dx (N, C, L, T, S) from dy; writes grads['W'] and grads['b'] in place."""
        dx, dw, db = conv3d_backward(dy, self.cache)
        self.grads["W"][...] = dw
        self.grads["b"][...] = db
        return dx

    def __repr__(self):
        F, C = self.params["W"].shape[:2]
        return f"Conv3D({C}->{F}, kernel={self.kernel}, padding={self.padding!r})"

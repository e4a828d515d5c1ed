"""Long short-term memory layer with full backpropagation through time (LSTM baselines, docs/spec.md §4).

To read first: one step as plain loops, :mod:`numser.nn.lstm_naive`.
"""
from collections import namedtuple

import numpy as np
from numba import njit

from numser.errors import ParameterError
from numser.nn._checks import check_input, default_rng, glorot_uniform
from numser.nn import threads
from numser.nn.activations import sigmoid
from numser.nn.layer import Layer
# The kernels' scalar tanh and σ: a rational tanh in float32, so the loops vectorise (a speed trick
# with its own module, where its accuracy and the σ form are measured and explained).
from numser.nn.rational_tanh import scalar_sigmoid as _sigmoid, scalar_tanh as _tanh

# ---------------------------------------------------------------------------------------------
# One time step, point-wise part (everything except the two matmuls). A plain NumPy reference
# and a fused Numba kernel of the same function; tests check that they agree.
# ---------------------------------------------------------------------------------------------


def cell_forward_numpy(a, hu, c_prev, c, tc, h):
    """One step's gates, cell and hidden state, in place.

    Parameters
    ----------
    a : np.ndarray, shape (N, 4H)
        In: x_t W + b, the input part of the pre-activations [a_i a_f a_g a_o].
        Out: the gates [i f g o] (overwritten).
    hu : np.ndarray, shape (N, 4H)
        h_(t-1) U, the recurrent part of the pre-activations.
    c_prev : np.ndarray, shape (N, H)
        c_(t-1).
    c, tc, h : np.ndarray, shape (N, H)
        Out: c_t, tanh(c_t), h_t.
    """
    H = c.shape[1]
    a += hu                                        # a_t = x_t W + b + h_(t-1) U
    a[:, :2 * H] = sigmoid(a[:, :2 * H])           # i, f
    a[:, 2 * H:3 * H] = np.tanh(a[:, 2 * H:3 * H])  # g
    a[:, 3 * H:] = sigmoid(a[:, 3 * H:])           # o
    i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
    c[...] = f * c_prev + i * g
    tc[...] = np.tanh(c)
    h[...] = o * tc


def cell_backward_numpy(dy, dh_rec, dc, gates, c_prev, tc, da):
    """One step of BPTT, point-wise part, in place.

    Parameters
    ----------
    dy : np.ndarray, shape (N, H)
        ∂ℓ/∂h_t from the layer above (zeros when only h_T is returned and t < T).
    dh_rec : np.ndarray, shape (N, H)
        δa_(t+1) Uᵀ, the gradient reaching h_t through step t+1 (zeros at t = T).
        δh_t = dy + dh_rec.
    dc : np.ndarray, shape (N, H)
        In: f_(t+1) ⊙ δc_(t+1) (zeros at t = T). Out: f_t ⊙ δc_t, to hand to step t−1.
    gates : np.ndarray, shape (N, 4H)
        [i f g o] of step t.
    c_prev, tc : np.ndarray, shape (N, H)
        c_(t-1) and tanh(c_t).
    da : np.ndarray, shape (N, 4H)
        Out: δa_t = ∂ℓ/∂a_t, the pre-activation gradient [δa_i δa_f δa_g δa_o].
    """
    H = dy.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dh = dy + dh_rec                               # δh_t
    dct = dc + dh * o * (1 - tc * tc)              # δc_t
    da[:, :H] = dct * g * i * (1 - i)
    da[:, H:2 * H] = dct * c_prev * f * (1 - f)
    da[:, 2 * H:3 * H] = dct * i * (1 - g * g)
    da[:, 3 * H:] = dh * tc * o * (1 - o)
    dc[...] = dct * f


# error_model="numpy": no zero-division check in the loop, so LLVM can vectorise it. The
# expressions avoid integer literals (1 - i would promote float32 to float64 in Numba). nogil:
# the two halves of a batch run their time loops on two threads (numser.nn.threads).
@njit(cache=True, error_model="numpy", nogil=True)
def cell_forward_numba(a, hu, c_prev, c, tc, h):
    """Numba kernel of :func:`cell_forward_numpy` (same arguments, one fused pass)."""
    N, H = c.shape
    for n in range(N):
        # one view per gate keeps every inner-loop index a plain j, which LLVM vectorises
        ai, af, ag, ao = a[n, :H], a[n, H:2 * H], a[n, 2 * H:3 * H], a[n, 3 * H:]
        ui, uf, ug, uo = hu[n, :H], hu[n, H:2 * H], hu[n, 2 * H:3 * H], hu[n, 3 * H:]
        cp, cn, tn, hn = c_prev[n], c[n], tc[n], h[n]
        for j in range(H):
            i = _sigmoid(ai[j] + ui[j])
            f = _sigmoid(af[j] + uf[j])
            g = _tanh(ag[j] + ug[j])
            o = _sigmoid(ao[j] + uo[j])
            ai[j], af[j], ag[j], ao[j] = i, f, g, o
            cc = f * cp[j] + i * g
            t = _tanh(cc)
            cn[j], tn[j], hn[j] = cc, t, o * t


@njit(cache=True, error_model="numpy", nogil=True)
def cell_backward_numba(dy, dh_rec, dc, gates, c_prev, tc, da):
    """Numba kernel of :func:`cell_backward_numpy` (same arguments, one fused pass)."""
    N, H = dy.shape
    for n in range(N):
        gi, gf, gg, go = gates[n, :H], gates[n, H:2 * H], gates[n, 2 * H:3 * H], gates[n, 3 * H:]
        di, df, dg, do = da[n, :H], da[n, H:2 * H], da[n, 2 * H:3 * H], da[n, 3 * H:]
        dyn, drn, dcn, cp, tn = dy[n], dh_rec[n], dc[n], c_prev[n], tc[n]
        for j in range(H):
            i, f, g, o, t = gi[j], gf[j], gg[j], go[j], tn[j]
            dh = dyn[j] + drn[j]
            dct = dcn[j] + dh * (o - o * t * t)
            di[j] = dct * g * (i - i * i)
            df[j] = dct * cp[j] * (f - f * f)
            dg[j] = dct * (i - i * g * g)
            do[j] = dh * t * (o - o * o)
            dcn[j] = dct * f


_KERNELS = {"numpy": (cell_forward_numpy, cell_backward_numpy),
            "numba": (cell_forward_numba, cell_backward_numba)}


def _kernels(kernel):
    if kernel not in _KERNELS:
        raise ParameterError(f"LSTM: kernel={kernel!r}; choose one of {sorted(_KERNELS)}")
    return _KERNELS[kernel]


# ---------------------------------------------------------------------------------------------
# The whole sequence.
# ---------------------------------------------------------------------------------------------


#: What :func:`lstm_backward` needs, time-major: xt (T, N, D) the input, W, U, gates (T, N, 4H)
#: the activated [i f g o], c (T+1, N, H) with c[0] = 0, tanh_c (T, N, H), h (T+1, N, H) with
#: h[0] = 0, and the kernel name.
LSTMCache = namedtuple("LSTMCache", "xt W U gates c tanh_c h kernel")


def lstm_forward(x, W, U, b, *, kernel="numba"):
    """Run an LSTM over all T steps from zero initial states.

    Equation
    --------
    Symbols: x_t ∈ R^D the input at step t (a row of x[:, t]); h_t, c_t ∈ R^H the hidden and
    cell states, h_0 = c_0 = 0; W ∈ R^(D×4H) input weights, U ∈ R^(H×4H) recurrent weights,
    b ∈ R^(4H) one bias per gate unit; columns of W, U, b are in gate order i, f, g, o (input gate,
    forget gate, candidate, output gate; the order of Keras and ``torch.nn.LSTM``); σ the logistic
    function; ⊙ the element-wise product. For t = 1..T:

        a_t = x_t W + h_(t-1) U + b = [a_i a_f a_g a_o]
        i_t = σ(a_i)   f_t = σ(a_f)   g_t = tanh(a_g)   o_t = σ(a_o)
        c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t
        h_t = o_t ⊙ tanh(c_t)

    Backward through time, given ∂ℓ/∂h_t from the layer above (zero for t < T when only h_T is
    returned), for t = T..1, starting from δa_(T+1) = 0 and δc_(T+1) = 0:

        δh_t = ∂ℓ/∂h_t + δa_(t+1) Uᵀ
        δc_t = δh_t ⊙ o_t ⊙ (1 − tanh²(c_t)) + δc_(t+1) ⊙ f_(t+1)
        δa_o = δh_t ⊙ tanh(c_t) ⊙ o_t (1 − o_t)     δa_i = δc_t ⊙ g_t ⊙ i_t (1 − i_t)
        δa_f = δc_t ⊙ c_(t-1) ⊙ f_t (1 − f_t)        δa_g = δc_t ⊙ i_t ⊙ (1 − g_t²)

    and, summed over steps (one matmul each over all N·T rows):

        ∂ℓ/∂W = Σ_t x_tᵀ δa_t    ∂ℓ/∂U = Σ_t h_(t-1)ᵀ δa_t    ∂ℓ/∂b = Σ_t Σ_n δa_t    ∂ℓ/∂x_t = δa_t Wᵀ

    Parameters
    ----------
    x : np.ndarray, shape (N, T, D), float32 or float64
    W : np.ndarray, shape (D, 4H), dtype of x
    U : np.ndarray, shape (H, 4H), dtype of x
    b : np.ndarray, shape (4H,), dtype of x
    kernel : {'numba', 'numpy'}
        Which implementation of the point-wise step to use. They agree to rounding in float64;
        in float32 the Numba kernel's rational tanh differs from np.tanh by less than 4e-7.

    Returns
    -------
    h : np.ndarray, shape (N, T, H), dtype of x
        h_1..h_T. A transposed view of time-major (T, N, H) storage, not C-contiguous.
    cache : LSTMCache
        What :func:`lstm_backward` needs: the input, gates (T, N, 4H), states (T+1, N, H).

    Notes
    -----
    Speed: the input projection of all steps is one (T·N × D)·(D × 4H) matmul before the loop;
    inside the loop there is one (N × H)·(H × 4H) matmul and one fused point-wise kernel per
    step, all on preallocated time-major arrays. ``benchmarks/bench_lstm.py`` compares with
    ``torch.nn.LSTM``.
    """
    step, _ = _kernels(kernel)
    N, T, D = x.shape
    H = U.shape[0]
    xt = np.ascontiguousarray(x.transpose(1, 0, 2))          # (T, N, D), time-major
    gates = np.empty((T, N, 4 * H), dtype=x.dtype)
    g2 = gates.reshape(T * N, 4 * H)

    def add_bias(s, e):
        g2[s:e] += b

    # x_t W + b for all t at once, in blocks of rows (the bias added per block)
    threads.run(threads.matmul_jobs(xt.reshape(T * N, D), W, g2, then=add_bias))
    h = np.empty((T + 1, N, H), dtype=x.dtype)
    c = np.empty((T + 1, N, H), dtype=x.dtype)
    h[0] = 0                                                  # h_0 = 0
    c[0] = 0                                                  # c_0 = 0
    tc = np.empty((T, N, H), dtype=x.dtype)                   # tanh(c_t)

    def recurrence(n0, n1):                                   # rows n0..n1-1 of the batch
        hu = np.empty((n1 - n0, 4 * H), dtype=x.dtype)
        for t in range(T):
            np.matmul(h[t, n0:n1], U, out=hu)                 # h_(t-1) U
            step(gates[t, n0:n1], hu, c[t, n0:n1], c[t + 1, n0:n1], tc[t, n0:n1], h[t + 1, n0:n1])

    # the sequences of a batch are independent: its row blocks run their loops side by side
    threads.run([lambda s=s, e=e: recurrence(s, e)
                 for s, e in threads.exact_blocks(h[0], U, 0, threads.n_threads())])
    return h[1:].transpose(1, 0, 2), LSTMCache(xt, W, U, gates, c, tc, h, kernel)


def lstm_backward(dh_out, cache):
    """BPTT through :func:`lstm_forward` (equations there).

    Parameters
    ----------
    dh_out : np.ndarray, shape (N, T, H) or (N, H)
        ∂ℓ/∂h_t for every step, or ∂ℓ/∂h_T only (when the layer returned the last state).
    cache : LSTMCache from :func:`lstm_forward`

    Returns
    -------
    dx : np.ndarray, shape (N, T, D) (a transposed view of time-major storage)
    dW, dU, db : np.ndarray shaped like W (D, 4H), U (H, 4H), b (4H,)
    """
    xt, W, U, gates, c, tc, h, kernel = cache
    _, step_back = _kernels(kernel)
    T, N, D = xt.shape
    H = U.shape[0]
    dtype = gates.dtype
    da = np.empty_like(gates)                                 # (T, N, 4H): δa_t
    if dh_out.ndim == 3:
        dyt = np.ascontiguousarray(dh_out.transpose(1, 0, 2), dtype=dtype)  # (T, N, H)
    else:                                                     # only h_T receives a gradient
        dyt = None
        last = np.ascontiguousarray(dh_out, dtype=dtype)
    Ut = np.ascontiguousarray(U.T)                            # (4H, H); BLAS is faster on C order

    def bptt(n0, n1):                                         # rows n0..n1-1 of the batch
        dc = np.zeros((n1 - n0, H), dtype=dtype)              # f_(t+1) ⊙ δc_(t+1)
        dh_rec = np.zeros((n1 - n0, H), dtype=dtype)          # δa_(t+1) Uᵀ
        zeros = np.zeros((n1 - n0, H), dtype=dtype)
        for t in range(T - 1, -1, -1):
            dy = dyt[t, n0:n1] if dyt is not None else (last[n0:n1] if t == T - 1 else zeros)
            step_back(dy, dh_rec, dc, gates[t, n0:n1], c[t, n0:n1], tc[t, n0:n1], da[t, n0:n1])
            np.matmul(da[t, n0:n1], Ut, out=dh_rec)           # δa_t Uᵀ, for step t−1

    threads.run([lambda s=s, e=e: bptt(s, e)
                 for s, e in threads.exact_blocks(da[0], Ut, 0, threads.n_threads())])
    # Sums over all T·N rows, each one whole matrix product as before; only the blocks of dW
    # and dU's columns and of dx's rows go to different threads (numser.nn.threads).
    da2 = da.reshape(T * N, 4 * H)                            # (T·N, 4H)
    x2, h2 = xt.reshape(T * N, D), h[:-1].reshape(T * N, H)
    dW = np.empty((D, 4 * H), dtype=dtype)
    dU = np.empty((H, 4 * H), dtype=dtype)
    dx = np.empty((T * N, D), dtype=dtype)
    db = np.empty(4 * H, dtype=dtype)

    def bias_grad():
        db[...] = da2.sum(axis=0)

    threads.run(threads.matmul_jobs(h2.T, da2, dU, axis=1) + threads.matmul_jobs(x2.T, da2, dW, axis=1)
                + threads.matmul_jobs(da2, W.T, dx) + [bias_grad])
    return dx.reshape(T, N, D).transpose(1, 0, 2), dW, dU, db     # dx (N, T, D)


def orthogonal(rng, shape, dtype):
    """A matrix with orthonormal rows or columns (Keras ``Orthogonal``, gain 1).

    QR of a standard normal matrix of shape (max, min), columns' signs fixed by diag(R) so the
    distribution is uniform (Haar); transposed when there are fewer rows than columns.
    """
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    return np.ascontiguousarray((q.T if rows < cols else q).astype(dtype))


class LSTM(Layer):
    """LSTM over (N, T, D) sequences; params ``W`` (D, 4H), ``U`` (H, 4H), ``b`` (4H,), gates i, f, g, o.

    Parameters
    ----------
    input_size : int > 0
        D, features per step.
    hidden_size : int > 0
        H, the number of cells.
    return_sequences : bool, default True
        True: output h_1..h_T (N, T, H); False: the last state h_T (N, H).
    rng : np.random.Generator, optional
        Draws the initial weights; None means ``np.random.default_rng(0)``.
    dtype : np.dtype, default np.float32
    kernel : {'numba', 'numpy'}, default 'numba'
        Implementation of the point-wise step (see :func:`lstm_forward`).

    Notes
    -----
    Initialisation (Keras defaults): Glorot-uniform W, orthogonal U, b = 0 except the forget
    gate's block b[H:2H] = 1. One bias per gate unit: 4H·(D + H + 1) parameters, so
    LSTM(32→128) + LSTM(128→128) + Dense(128→4) = 214 532 (docs/spec.md §4, LSTM-ELM). PyTorch's two
    biases (bias_ih, bias_hh) only ever enter as their sum, so b = bias_ih + bias_hh maps one
    onto the other. Equations: :func:`lstm_forward`.
    """

    def __init__(self, input_size, hidden_size, return_sequences=True, *, rng=None,
                 dtype=np.float32, kernel="numba"):
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ParameterError(f"LSTM: {name}={value!r} must be a positive integer")
        _kernels(kernel)
        rng = default_rng(rng)
        D, H = input_size, hidden_size
        self.return_sequences = bool(return_sequences)
        self.kernel = kernel
        self.params["W"] = glorot_uniform(rng, D, 4 * H, (D, 4 * H), dtype)
        self.params["U"] = orthogonal(rng, (H, 4 * H), dtype)
        b = np.zeros(4 * H, dtype=dtype)
        b[H:2 * H] = 1.0                                       # forget gate starts open
        self.params["b"] = b
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x, train=False):
        W, U, b = self.params["W"], self.params["U"], self.params["b"]
        check_input(repr(self), x, ndim=(3,), last=W.shape[0], dtype=W.dtype)
        h, self.cache = lstm_forward(x, W, U, b, kernel=self.kernel)
        return h if self.return_sequences else h[:, -1]

    def backward(self, dy):
        dx, dW, dU, db = lstm_backward(dy, self.cache)
        self.grads["W"][...] = dW
        self.grads["U"][...] = dU
        self.grads["b"][...] = db
        return dx

    def __repr__(self):
        D, H = self.params["W"].shape[0], self.params["U"].shape[0]
        return f"LSTM({D}->{H}, return_sequences={self.return_sequences})"

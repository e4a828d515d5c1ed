"""One LSTM time step as plain loops, forward and backward: the naive twin of numser.nn.lstm.

:func:`numser.nn.lstm.lstm_forward` and :func:`~numser.nn.lstm.lstm_backward` are written for
speed: all input projections in one matmul before the time loop, one matmul and one fused Numba
kernel per step, time-major buffers. The step functions here compute the same numbers one
scalar at a time, in the order docs/lstm.md derives them; :func:`lstm_naive_forward` and
:func:`lstm_naive_backward` chain them over the T steps (backpropagation through time is the
step backward run from t = T down to 1). Tests compare them with the fast layer
(``tests/nn/test_lstm_naive.py``); ``examples/12_naive_vs_fast.py`` prints the speed-up.

Equation (gate order i, f, g, o; columns q = 0..4H-1 of W, U, b)
--------
Forward, for each sample n and cell j (the gate blocks are columns j, H+j, 2H+j, 3H+j):

    a[n, q] = b[q] + sum_d x[n, d] W[d, q] + sum_k h_prev[n, k] U[k, q]
    i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)
    c[n, j] = f c_prev[n, j] + i g          h[n, j] = o tanh(c[n, j])

Backward, given dh = dL/dh_t and dc = the part of dL/dc_t that arrives from step t+1:

    δc = dc + dh o (1 - tanh²c)
    δa_i = δc g i(1-i)   δa_f = δc c_prev f(1-f)   δa_g = δc i (1-g²)   δa_o = dh tanh(c) o(1-o)
    dx = δa Wᵀ   dh_prev = δa Uᵀ   dc_prev = δc f   dW = xᵀ δa   dU = h_prevᵀ δa   db = Σ_n δa
"""
import math

import numpy as np


def _sigma(z):
    """Logistic σ(z) of one float, with no overflow of exp for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def lstm_step_naive_forward(x, h_prev, c_prev, W, U, b):
    """One LSTM step, one scalar at a time.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        x_t.
    h_prev, c_prev : ndarray, shape (N, H)
        h_(t-1) and c_(t-1).
    W : ndarray, shape (D, 4H)
    U : ndarray, shape (H, 4H)
    b : ndarray, shape (4H,)

    Returns
    -------
    h, c : ndarray, shape (N, H)
        h_t and c_t.
    cache : tuple
        (x, h_prev, c_prev, W, U, gates (N, 4H) = [i f g o], c), for :func:`lstm_step_naive_backward`.
    """
    N, D = x.shape
    H = U.shape[0]
    gates = np.zeros((N, 4 * H))
    h, c = np.zeros((N, H)), np.zeros((N, H))
    for n in range(N):
        for q in range(4 * H):                            # pre-activation of gate unit q
            a = b[q]
            for d in range(D):
                a += x[n, d] * W[d, q]
            for k in range(H):
                a += h_prev[n, k] * U[k, q]
            gates[n, q] = math.tanh(a) if 2 * H <= q < 3 * H else _sigma(a)
        for j in range(H):
            i, f, g, o = gates[n, j], gates[n, H + j], gates[n, 2 * H + j], gates[n, 3 * H + j]
            c[n, j] = f * c_prev[n, j] + i * g
            h[n, j] = o * math.tanh(c[n, j])
    return h, c, (x, h_prev, c_prev, W, U, gates, c)


def lstm_step_naive_backward(dh, dc, cache):
    """Gradients of one :func:`lstm_step_naive_forward`, one scalar at a time.

    Parameters
    ----------
    dh : ndarray, shape (N, H)
        dL/dh_t in total: from the layer above plus from step t+1.
    dc : ndarray, shape (N, H)
        The gradient reaching c_t from step t+1 (δc_(t+1) f_(t+1); zeros at the last step).
    cache : tuple from the forward step

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev, dc_prev : ndarray, shape (N, H)
        What step t-1 receives: δa Uᵀ and δc f.
    dW, dU, db : ndarray shaped like W (D, 4H), U (H, 4H), b (4H,)
    """
    x, h_prev, c_prev, W, U, gates, c = cache
    N, D = x.shape
    H = U.shape[0]
    da = np.zeros((N, 4 * H))
    dc_prev = np.zeros((N, H))
    for n in range(N):
        for j in range(H):
            i, f, g, o = gates[n, j], gates[n, H + j], gates[n, 2 * H + j], gates[n, 3 * H + j]
            tc = math.tanh(c[n, j])
            dct = dc[n, j] + dh[n, j] * o * (1 - tc * tc)
            da[n, j] = dct * g * i * (1 - i)
            da[n, H + j] = dct * c_prev[n, j] * f * (1 - f)
            da[n, 2 * H + j] = dct * i * (1 - g * g)
            da[n, 3 * H + j] = dh[n, j] * tc * o * (1 - o)
            dc_prev[n, j] = dct * f
    dx, dh_prev = np.zeros((N, D)), np.zeros((N, H))
    dW, dU, db = np.zeros(W.shape), np.zeros(U.shape), np.zeros(4 * H)
    for n in range(N):
        for q in range(4 * H):
            db[q] += da[n, q]
            for d in range(D):
                dx[n, d] += da[n, q] * W[d, q]
                dW[d, q] += x[n, d] * da[n, q]
            for k in range(H):
                dh_prev[n, k] += da[n, q] * U[k, q]
                dU[k, q] += h_prev[n, k] * da[n, q]
    return dx, dh_prev, dc_prev, dW, dU, db


def lstm_naive_forward(x, W, U, b):
    """The naive step over all T steps from h_0 = c_0 = 0: h (N, T, H) and the steps' caches."""
    N, T, _ = x.shape
    H = U.shape[0]
    h, c = np.zeros((N, H)), np.zeros((N, H))
    out, caches = np.zeros((N, T, H)), []
    for t in range(T):
        h, c, cache = lstm_step_naive_forward(x[:, t], h, c, W, U, b)
        out[:, t] = h
        caches.append(cache)
    return out, caches


def lstm_naive_backward(dh_out, caches):
    """Backpropagation through time: the naive step backward from t = T down to 1.

    Parameters
    ----------
    dh_out : ndarray, shape (N, T, H)
        dL/dh_t from the layer above, every step.
    caches : list of T step caches from :func:`lstm_naive_forward`

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dW, dU, db : summed over the steps
    """
    N, T, H = dh_out.shape
    W, U = caches[0][3], caches[0][4]
    dx = np.zeros((N, T, W.shape[0]))
    dW, dU, db = np.zeros(W.shape), np.zeros(U.shape), np.zeros(4 * H)
    dh_rec, dc = np.zeros((N, H)), np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dx[:, t], dh_rec, dc, dW_t, dU_t, db_t = lstm_step_naive_backward(
            dh_out[:, t] + dh_rec, dc, caches[t])
        dW += dW_t
        dU += dU_t
        db += db_t
    return dx, dW, dU, db

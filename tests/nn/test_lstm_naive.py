"""The loop-level LSTM step (numser.nn.lstm_naive) against numser.nn.lstm, in float64."""
import numpy as np
import pytest

from numser.nn.lstm import lstm_backward, lstm_forward
from numser.nn.lstm_naive import (lstm_naive_backward, lstm_naive_forward, lstm_step_naive_backward,
                                  lstm_step_naive_forward)


def params(D, H, seed=0):
    rng = np.random.default_rng(seed)
    return (0.5 * rng.standard_normal((D, 4 * H)), 0.5 * rng.standard_normal((H, 4 * H)),
            0.5 * rng.standard_normal(4 * H))


@pytest.mark.parametrize("kernel", ["numba", "numpy"])
@pytest.mark.parametrize("N, T, D, H", [(1, 1, 1, 1), (3, 1, 4, 2), (2, 4, 3, 5)])
def test_naive_steps_equal_the_layer(N, T, D, H, kernel):
    """Chained naive steps (T = 1: one step from zero states) equal lstm_forward/lstm_backward."""
    W, U, b = params(D, H)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, T, D))
    dh = rng.standard_normal((N, T, H))
    h, cache = lstm_forward(x, W, U, b, kernel=kernel)
    h_naive, caches = lstm_naive_forward(x, W, U, b)
    np.testing.assert_allclose(h, h_naive, rtol=1e-12, atol=1e-13)
    for name, fast, naive in zip(("dx", "dW", "dU", "db"), lstm_backward(dh, cache),
                                 lstm_naive_backward(dh, caches)):
        np.testing.assert_allclose(fast, naive, rtol=1e-11, atol=1e-12, err_msg=name)


def test_one_step_from_nonzero_states_against_finite_differences():
    """The step backward alone, with h_prev, c_prev != 0 and both incoming gradients."""
    N, D, H = 2, 3, 2
    W, U, b = params(D, H, seed=2)
    rng = np.random.default_rng(3)
    x, h_prev, c_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    def loss():                                   # L = Σ dh·h + Σ dc·c: its gradients are dh, dc
        h, c, _ = lstm_step_naive_forward(x, h_prev, c_prev, W, U, b)
        return float(np.sum(dh * h) + np.sum(dc * c))

    _, _, cache = lstm_step_naive_forward(x, h_prev, c_prev, W, U, b)
    grads = lstm_step_naive_backward(dh, dc, cache)
    for name, array, grad in zip(("x", "h_prev", "c_prev", "W", "U", "b"),
                                 (x, h_prev, c_prev, W, U, b), grads):
        numeric = np.zeros_like(array)
        for idx in np.ndindex(array.shape):
            old = array[idx]
            array[idx] = old + 1e-6
            plus = loss()
            array[idx] = old - 1e-6
            minus = loss()
            array[idx] = old
            numeric[idx] = (plus - minus) / 2e-6
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8, err_msg=name)

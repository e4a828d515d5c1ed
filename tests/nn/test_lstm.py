"""LSTM: shapes, init, parameter count, NumPy vs Numba kernels, BPTT by finite differences, PyTorch."""
import numba
import numpy as np
import pytest

from numser import ParameterError
from numser.nn import threads
from numser.nn.dense import Dense
from numser.nn.gradcheck import check_layer, relative_error
from numser.nn.layer import backward, forward, n_params
from numser.nn.lstm import LSTM, cell_backward_numba, cell_backward_numpy, cell_forward_numba, \
    cell_forward_numpy, lstm_backward, lstm_forward


def test_parameter_count_of_the_lstm_elm_baseline():
    """docs/spec.md §4: LSTM(32→128) + LSTM(128→128) + Dense(128→4) = 214 532 (paper: 214K)."""
    model = [LSTM(32, 128), LSTM(128, 128), Dense(128, 4)]
    assert n_params(model) == 214_532


@pytest.mark.parametrize("return_sequences", [True, False])
def test_shapes_and_float32_kept(return_sequences):
    layer = LSTM(5, 7, return_sequences=return_sequences)
    x = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)
    y = layer.forward(x)
    assert y.shape == ((3, 4, 7) if return_sequences else (3, 7)) and y.dtype == np.float32
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.dtype == np.float32
    for key, shape in (("W", (5, 28)), ("U", (7, 28)), ("b", (28,))):
        assert layer.grads[key].shape == shape and layer.grads[key].dtype == np.float32


def test_init_glorot_orthogonal_forget_bias_one():
    H = 16
    layer = LSTM(8, H, rng=np.random.default_rng(1))
    W, U, b = (layer.params[k] for k in ("W", "U", "b"))
    assert np.abs(W).max() <= np.sqrt(6 / (8 + 4 * H))
    np.testing.assert_allclose(U @ U.T, np.eye(H), atol=1e-5)         # orthonormal rows
    np.testing.assert_array_equal(b[H:2 * H], 1.0)                     # forget gate, order i f g o
    assert not b[:H].any() and not b[2 * H:].any()


def test_recurrence_by_hand_for_two_steps():
    """h_1, h_2 from the gate equations written out directly (zero initial state)."""
    rng = np.random.default_rng(2)
    D, H = 3, 2
    W, U, b = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)), rng.standard_normal(4 * H)
    x = rng.standard_normal((1, 2, D))
    sig = lambda z: 1 / (1 + np.exp(-z))
    h, c = np.zeros(H), np.zeros(H)
    expected = []
    for t in range(2):
        a = x[0, t] @ W + h @ U + b
        i, f, g, o = sig(a[:H]), sig(a[H:2 * H]), np.tanh(a[2 * H:3 * H]), sig(a[3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        expected.append(h)
    for kernel in ("numpy", "numba"):
        y, _ = lstm_forward(x, W, U, b, kernel=kernel)
        np.testing.assert_allclose(y[0], np.array(expected), rtol=1e-12, err_msg=kernel)


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_bptt_gradient_check_float64(return_sequences, kernel):
    x = np.random.default_rng(3).standard_normal((3, 6, 4))
    layer = LSTM(4, 5, return_sequences=return_sequences, kernel=kernel,
                 rng=np.random.default_rng(4))
    layer.params["b"][:] = np.random.default_rng(5).standard_normal(20) * 0.5
    errors = check_layer(layer, x)
    assert set(errors) == {"x", "W", "U", "b"}
    assert max(errors.values()) < 1e-6, errors


def test_stacked_lstms_gradient_check():
    from numser.nn.gradcheck import check_model
    from numser.nn.loss import softmax_cross_entropy
    rng = np.random.default_rng(6)
    model = [LSTM(3, 4, rng=rng), LSTM(4, 4, rng=rng), Dense(4, 3, rng=rng)]
    errors = check_model(model, rng.standard_normal((2, 5, 3)), rng.integers(0, 3, 2),
                         softmax_cross_entropy)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("N, T, D, H", [(1, 1, 1, 1), (3, 7, 5, 2), (8, 4, 3, 33), (2, 3, 16, 16)])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_numba_kernels_equal_numpy_reference(N, T, D, H, dtype, tol):
    rng = np.random.default_rng(N * 100 + H)
    x = (2 * rng.standard_normal((N, T, D))).astype(dtype)
    W, U, b = (rng.standard_normal(s).astype(dtype) for s in ((D, 4 * H), (H, 4 * H), (4 * H,)))
    g = rng.standard_normal((N, T, H)).astype(dtype)
    results = {}
    for kernel in ("numpy", "numba"):
        y, cache = lstm_forward(x, W, U, b, kernel=kernel)
        results[kernel] = (y,) + lstm_backward(g, cache)
    for name, a, r in zip(("y", "dx", "dW", "dU", "db"), results["numba"], results["numpy"]):
        assert a.dtype == dtype, name
        assert relative_error(a, r) < tol, f"{name}: {relative_error(a, r)}"


def test_float32_tanh_in_the_cell_kernel():
    """The cell kernel's float32 tanh (numser.nn.rational_tanh) stays within 4e-7 of the exact one."""
    a = np.linspace(-12, 12, 4 * 1000, dtype=np.float32).reshape(1, 4000)  # (N=1, 4H), H = 1000
    c = np.zeros((1, 1000), dtype=np.float32)
    out = [np.empty_like(c) for _ in range(3)]
    cell_forward_numba(a, np.zeros_like(a), c, *out)                     # g block = tanh(a_g)
    exact = np.tanh(np.linspace(-12, 12, 4000)[2000:3000])
    assert np.abs(a[0, 2000:3000] - exact).max() < 4e-7


def test_cell_kernels_agree_in_place_semantics():
    rng = np.random.default_rng(7)
    N, H = 4, 3
    a, hu = rng.standard_normal((N, 4 * H)), rng.standard_normal((N, 4 * H))
    outs = {}
    for name, fwd, bwd in (("numpy", cell_forward_numpy, cell_backward_numpy),
                           ("numba", cell_forward_numba, cell_backward_numba)):
        gates, cp = a.copy(), np.ones((N, H))
        c, tc, h = np.empty((N, H)), np.empty((N, H)), np.empty((N, H))
        fwd(gates, hu, cp, c, tc, h)
        dy, dh_rec, dc, da = np.ones((N, H)), np.full((N, H), -0.3), np.full((N, H), 0.5), \
            np.empty((N, 4 * H))
        bwd(dy, dh_rec, dc, gates, cp, tc, da)
        outs[name] = (gates, c, tc, h, dc, da, dy, dh_rec)
    for what, r, k in zip(("gates", "c", "tanh c", "h", "dc", "da", "dy", "dh_rec"),
                          outs["numpy"], outs["numba"]):
        np.testing.assert_allclose(k, r, rtol=1e-13, err_msg=what)
    np.testing.assert_array_equal(outs["numba"][6], 1.0)          # inputs left untouched
    np.testing.assert_array_equal(outs["numba"][7], -0.3)


def _torch_lstm(layer):
    """A torch.nn.LSTM with the layer's weights: W → weight_ih (4H, D), U → weight_hh, b → bias_ih."""
    import torch
    W, U, b = (layer.params[k] for k in ("W", "U", "b"))
    ref = torch.nn.LSTM(W.shape[0], U.shape[0], batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.from_numpy(W.T.copy()))    # both use gate order i, f, g, o
        ref.weight_hh_l0.copy_(torch.from_numpy(U.T.copy()))
        ref.bias_ih_l0.copy_(torch.from_numpy(b))
        ref.bias_hh_l0.zero_()                                 # only bias_ih + bias_hh matters
    return ref


@pytest.mark.parametrize("return_sequences", [True, False])
def test_matches_torch_lstm_forward_and_gradients(return_sequences):
    torch = pytest.importorskip("torch", reason="PyTorch is the independent reference")
    rng = np.random.default_rng(8)
    layer = LSTM(6, 9, return_sequences=return_sequences, rng=rng)
    layer.params["b"][:] = rng.standard_normal(36).astype(np.float32)
    x = rng.standard_normal((5, 12, 6)).astype(np.float32)
    y = layer.forward(x)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(g)

    ref = _torch_lstm(layer)
    xt = torch.from_numpy(x).requires_grad_(True)
    out, (hT, _) = ref(xt)
    yt = out if return_sequences else hT[0]
    yt.backward(torch.from_numpy(g))
    pairs = {"y": (y, yt.detach().numpy()), "dx": (dx, xt.grad.numpy()),
             "dW": (layer.grads["W"], ref.weight_ih_l0.grad.numpy().T),
             "dU": (layer.grads["U"], ref.weight_hh_l0.grad.numpy().T),
             "db": (layer.grads["b"], ref.bias_ih_l0.grad.numpy())}
    for name, (ours, theirs) in pairs.items():
        assert relative_error(ours, theirs) < 1e-4, f"{name}: {relative_error(ours, theirs)}"


def test_stacked_float32_model_matches_torch_two_layers():
    torch = pytest.importorskip("torch", reason="PyTorch is the independent reference")
    rng = np.random.default_rng(9)
    model = [LSTM(4, 8, rng=rng), LSTM(8, 8, return_sequences=False, rng=rng)]
    x = rng.standard_normal((3, 20, 4)).astype(np.float32)
    y = forward(model, x)
    dx = backward(model, np.ones_like(y))
    refs = [_torch_lstm(layer) for layer in model]
    xt = torch.from_numpy(x).requires_grad_(True)
    h1, _ = refs[0](xt)
    _, (h2, _) = refs[1](h1)
    h2[0].sum().backward()
    assert relative_error(y, h2[0].detach().numpy()) < 1e-4
    assert relative_error(dx, xt.grad.numpy()) < 1e-4
    assert relative_error(model[0].grads["U"], refs[0].weight_hh_l0.grad.numpy().T) < 1e-4


def test_large_inputs_stay_finite_in_float32():
    layer = LSTM(2, 3)
    y = layer.forward(np.full((1, 5, 2), 1e4, dtype=np.float32))
    assert np.all(np.isfinite(y)) and np.all(np.abs(y) <= 1)


def test_wrong_input_size_raises():
    with pytest.raises(ParameterError, match="last axis must have 4"):
        LSTM(4, 3).forward(np.zeros((2, 5, 3), dtype=np.float32))


def test_input_without_time_axis_raises():
    with pytest.raises(ParameterError, match="expected 3 axes"):
        LSTM(4, 3).forward(np.zeros((2, 4), dtype=np.float32))


def test_dtype_mismatch_raises():
    with pytest.raises(ParameterError, match="float64 but the parameters are float32"):
        LSTM(4, 3).forward(np.zeros((2, 5, 4)))


def test_bad_kernel_and_sizes_raise():
    with pytest.raises(ParameterError, match="kernel="):
        LSTM(4, 3, kernel="cuda")
    with pytest.raises(ParameterError, match="positive integer"):
        LSTM(0, 3)


def _bits(a):
    return np.ascontiguousarray(a).view(np.uint8)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs NUMBA_NUM_THREADS >= 2")
@pytest.mark.parametrize("N, T, D, H, dtype", [(128, 6, 32, 128, np.float32), (37, 5, 128, 128, np.float32),
                                                (3, 4, 32, 128, np.float32), (20, 3, 16, 64, np.float64)])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_two_threads_give_the_bits_of_one(N, T, D, H, dtype, return_sequences):
    """The batch's row blocks run their time loops on two threads, and the big products go in
    blocks (numser.nn.threads); with one thread every product is whole, as before the split."""
    rng = np.random.default_rng(N)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    W, U = (0.3 * rng.standard_normal((D, 4 * H))).astype(dtype), (0.3 * rng.standard_normal((H, 4 * H))).astype(dtype)
    b = rng.standard_normal(4 * H).astype(dtype)
    dy = rng.standard_normal((N, T, H) if return_sequences else (N, H)).astype(dtype)
    results = []
    for k in (1, 2):
        with threads.using(k):
            for kernel in ("numba", "numpy"):
                h, cache = lstm_forward(x, W, U, b, kernel=kernel)
                results.append([h, *lstm_backward(dy, cache)])
    for one, two in zip(results[:2], results[2:]):
        for a, c in zip(one, two):
            assert a.shape == c.shape and a.dtype == c.dtype and np.array_equal(_bits(a), _bits(c))

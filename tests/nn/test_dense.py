"""Dense layer: shapes, dtype, init, the equation, finite differences, PyTorch, bad input."""
import numba
import numpy as np
import pytest

from numser import ParameterError
from numser.nn import threads
from numser.nn.dense import Dense, dense_backward, dense_forward
from numser.nn.gradcheck import check_layer, check_model
from numser.nn.layer import n_params
from numser.nn.loss import softmax_cross_entropy


@pytest.mark.parametrize("shape", [(5, 7), (3, 4, 7), (1, 7), (2, 1, 1, 7)])
def test_shapes_and_dtype_float32(shape):
    layer = Dense(7, 3)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    y = layer.forward(x)
    assert y.shape == shape[:-1] + (3,) and y.dtype == np.float32
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.dtype == np.float32
    assert layer.grads["W"].dtype == np.float32 and layer.grads["W"].shape == (7, 3)
    assert layer.grads["b"].shape == (3,)


def test_forward_is_x_W_plus_b_and_leading_axes_are_batch():
    rng = np.random.default_rng(1)
    x, W, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    y, _ = dense_forward(x, W, b)
    np.testing.assert_allclose(y, np.einsum("ntd,df->ntf", x, W) + b, rtol=1e-12)
    g = rng.standard_normal(y.shape)
    dx, dW, db = dense_backward(g, dense_forward(x, W, b)[1])
    np.testing.assert_allclose(dx, np.einsum("ntf,df->ntd", g, W), rtol=1e-12)
    np.testing.assert_allclose(dW, np.einsum("ntd,ntf->df", x, g), rtol=1e-12)
    np.testing.assert_allclose(db, g.sum(axis=(0, 1)), rtol=1e-12)


def test_init_glorot_uniform_zero_bias_and_seeded():
    layer = Dense(512, 256, rng=np.random.default_rng(3))
    limit = np.sqrt(6 / (512 + 256))
    W = layer.params["W"]
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.99 * limit
    assert abs(W.std() - limit / np.sqrt(3)) < 0.01 * limit      # std of U(-a, a) is a/√3
    assert not layer.params["b"].any()
    again = Dense(512, 256, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(W, again.params["W"])
    assert n_params([layer]) == 512 * 256 + 256


@pytest.mark.parametrize("shape", [(4, 6), (3, 2, 6)])
def test_gradient_check_float64(shape):
    x = np.random.default_rng(2).standard_normal(shape)
    errors = check_layer(Dense(6, 5, rng=np.random.default_rng(4)), x)
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < 1e-6, errors


def test_backward_overwrites_grads_not_accumulates():
    layer = Dense(3, 2)
    x = np.ones((4, 3), dtype=np.float32)
    layer.forward(x)
    layer.backward(np.ones((4, 2), dtype=np.float32))
    first = layer.grads["W"].copy()
    layer.forward(x)
    layer.backward(np.ones((4, 2), dtype=np.float32))
    np.testing.assert_array_equal(layer.grads["W"], first)


def test_dense_softmax_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is the independent reference")
    rng = np.random.default_rng(5)
    layer = Dense(10, 4, rng=rng)
    layer.params["b"][:] = rng.standard_normal(4)
    x = rng.standard_normal((16, 10)).astype(np.float32)
    y = rng.integers(0, 4, 16)
    loss, dlogits = softmax_cross_entropy(layer.forward(x), y)
    dx = layer.backward(dlogits)

    lin = torch.nn.Linear(10, 4)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(layer.params["W"].T.copy()))   # torch stores (out, in)
        lin.bias.copy_(torch.from_numpy(layer.params["b"]))
    xt = torch.from_numpy(x).requires_grad_(True)
    ref = torch.nn.functional.cross_entropy(lin(xt), torch.from_numpy(y))
    ref.backward()
    assert abs(loss - ref.item()) < 1e-6 * max(1, abs(ref.item()))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-4, atol=1e-7, err_msg="dx")
    np.testing.assert_allclose(layer.grads["W"], lin.weight.grad.numpy().T, rtol=1e-4, atol=1e-7,
                               err_msg="dW")
    np.testing.assert_allclose(layer.grads["b"], lin.bias.grad.numpy(), rtol=1e-4, atol=1e-7,
                               err_msg="db")


def test_two_layer_model_gradient_check():
    rng = np.random.default_rng(6)
    model = [Dense(5, 4, rng=rng, dtype=np.float64), Dense(4, 3, rng=rng, dtype=np.float64)]
    errors = check_model(model, rng.standard_normal((6, 5)), rng.integers(0, 3, 6),
                         softmax_cross_entropy)
    assert max(errors.values()) < 1e-6, errors


def test_wrong_feature_count_raises():
    with pytest.raises(ParameterError, match="last axis must have 7"):
        Dense(7, 3).forward(np.zeros((2, 6), dtype=np.float32))


def test_float64_input_to_float32_layer_raises_instead_of_upcasting():
    with pytest.raises(ParameterError, match="float64 but the parameters are float32"):
        Dense(2, 3).forward(np.zeros((1, 2)))


def test_integer_input_raises():
    with pytest.raises(ParameterError, match="not a floating type"):
        Dense(2, 3).forward(np.zeros((1, 2), dtype=np.int64))


def test_one_axis_input_raises():
    with pytest.raises(ParameterError, match="expected at least 2 axes"):
        Dense(2, 3).forward(np.zeros(2, dtype=np.float32))


@pytest.mark.parametrize("args", [(0, 3), (3, -1), (2.5, 3)])
def test_bad_sizes_raise(args):
    with pytest.raises(ParameterError, match="positive integer"):
        Dense(*args)


def test_bad_rng_raises():
    with pytest.raises(ParameterError, match="np.random.Generator"):
        Dense(2, 3, rng=42)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs NUMBA_NUM_THREADS >= 2")
@pytest.mark.parametrize("M, D, F, dtype", [(25344 // 4, 256, 256, np.float32), (6336, 32, 256, np.float32),
                                             (6336, 256, 4, np.float32), (37, 128, 4, np.float32),
                                             (900, 64, 48, np.float64)])
def test_two_threads_give_the_bits_of_the_whole_products(M, D, F, dtype):
    """Forward in blocks of rows, backward's products in blocks (numser.nn.threads): the bits
    of x W + b, g Wᵀ, xᵀ g and Σ g as single NumPy expressions."""
    rng = np.random.default_rng(M)
    x, W = rng.standard_normal((M, D)).astype(dtype), rng.standard_normal((D, F)).astype(dtype)
    b, g = rng.standard_normal(F).astype(dtype), rng.standard_normal((M, F)).astype(dtype)
    expected = [x @ W + b, g @ W.T, x.T @ g, g.sum(axis=0)]
    for k in (1, 2):
        with threads.using(k):
            y, cache = dense_forward(x, W, b)
            got = [y, *dense_backward(g, cache)]
        for a, e in zip(got, expected):
            assert a.dtype == e.dtype and np.array_equal(a, e)


def test_mixed_dtypes_keep_numpy_promotion():
    x, W, b = np.ones((3, 2), np.float32), np.ones((2, 4), np.float64), np.ones(4, np.float32)
    y, cache = dense_forward(x, W, b)
    assert y.dtype == np.float64 and np.array_equal(y, x @ W + b)
    g = np.ones((3, 4), np.float32)
    for got, expected in zip(dense_backward(g, cache), (g @ W.T, x.T @ g, g.sum(axis=0))):
        assert got.dtype == expected.dtype and np.array_equal(got, expected)

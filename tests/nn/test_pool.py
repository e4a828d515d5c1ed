"""MaxPool3D: Numba kernels vs NumPy reference, ties, finite differences, PyTorch, bad input."""
import numpy as np
import pytest

from numser import ParameterError
from numser.nn import pool
from numser.nn.gradcheck import check_layer
from numser.nn.pool import MaxPool3D, maxpool3d_backward, maxpool3d_forward

# (x shape, pool size): every size the models use, plus trailing remainders.
CASES = [
    ((2, 3, 10, 10, 256), (2, 2, 2)),      # 3D-CNN-DNN
    ((2, 4, 5, 5, 128), (2, 2, 2)),        # ... second pooling: 5 -> 2 drops a remainder
    ((2, 4, 10, 10, 256), (1, 2, 2)),      # 3D-CNN-DNN-ELM, 2D-CNN-LSTM
    ((3, 4, 1, 5, 128), (1, 4, 4)),        # 2D-CNN-LSTM second pooling
    ((2, 3, 1, 1, 1521), (1, 1, 2)),       # 1D-CNN-LSTM
    ((2, 3, 1, 1, 761), (1, 1, 40)),
    ((2, 2, 7, 5, 9), (3, 2, 4)),          # odd sizes and remainders on every axis
]
IDS = [f"{x}-{p}" for x, p in CASES]


def distinct(shape, seed=0, dtype=np.float64):
    """Random values with no ties (a permutation, scaled), so the arg-max is unambiguous."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0).astype(dtype)


@pytest.mark.parametrize("shape, size", CASES, ids=IDS)
def test_kernels_match_reference(shape, size):
    x = distinct(shape)
    y, (arg, _, _) = maxpool3d_forward(x, size)
    y_ref, arg_ref = pool.maxpool_reference(x, size)
    np.testing.assert_array_equal(y, y_ref, err_msg="y")
    np.testing.assert_array_equal(arg, arg_ref, err_msg="arg")
    g = np.random.default_rng(1).standard_normal(y.shape)
    np.testing.assert_array_equal(maxpool3d_backward(g, (arg, x.shape, size)),
                                  pool.maxpool_backward_reference(g, arg_ref, x.shape, size),
                                  err_msg="dx")


def test_ties_route_to_first_in_c_order():
    x = np.zeros((1, 1, 2, 2, 2))
    x[0, 0, 1, 0, 1] = x[0, 0, 0, 1, 0] = 5.0           # two maxima: (0,1,0) comes first
    y, cache = maxpool3d_forward(x, 2)
    dx = maxpool3d_backward(np.ones_like(y), cache)
    assert y.item() == 5.0 and dx[0, 0, 0, 1, 0] == 1.0 and dx.sum() == 1.0
    flat = np.zeros((1, 1, 2, 2, 2))                     # all equal: the very first element
    dx = maxpool3d_backward(np.ones((1, 1, 1, 1, 1)), maxpool3d_forward(flat, 2)[1])
    assert dx[0, 0, 0, 0, 0] == 1.0 and dx.sum() == 1.0
    ties = np.random.default_rng(0).integers(0, 3, (2, 3, 6, 4, 8)).astype(np.float64)
    assert np.array_equal(maxpool3d_forward(ties, (2, 2, 4))[1][0],
                          pool.maxpool_reference(ties, (2, 2, 4))[1])


def test_remainder_gets_zero_gradient():
    x = distinct((1, 1, 5, 3, 5))
    y, cache = maxpool3d_forward(x, 2)
    assert y.shape == (1, 1, 2, 1, 2)
    dx = maxpool3d_backward(np.ones_like(y), cache)
    assert not dx[:, :, 4].any() and not dx[:, :, :, 2].any() and not dx[..., 4].any()
    assert dx.sum() == y.size


@pytest.mark.parametrize("size", [(2, 2, 2), (1, 2, 3)])
def test_gradient_matches_finite_differences(size):
    x = distinct((2, 2, 4, 5, 7), seed=3)               # spacing 1/7 >> h: no arg-max flips
    errors = check_layer(MaxPool3D(size), x, seed=4)
    assert errors["x"] < 1e-6, f"dx relative error {errors['x']:.2e}"


@pytest.mark.parametrize("shape, size", CASES, ids=IDS)
def test_matches_pytorch_in_float32(shape, size):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: optional reference")
    x = distinct(shape, seed=5, dtype=np.float32)
    layer = MaxPool3D(size)
    y = layer.forward(x)
    g = np.random.default_rng(6).standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.max_pool3d(tx, size)
    ty.backward(torch.tensor(g))
    assert y.dtype == np.float32 and dx.dtype == np.float32
    np.testing.assert_array_equal(y, ty.detach().numpy(), err_msg="y")
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-6, atol=0, err_msg="dx")


def test_int_size_means_all_axes():
    assert MaxPool3D(2).size == (2, 2, 2)
    assert MaxPool3D((1, 1, 40)).n_params() == 0


def test_rejects_pool_larger_than_axis():
    with pytest.raises(ParameterError, match=r"along L \(2 > 1\)"):
        maxpool3d_forward(np.zeros((1, 1, 1, 10, 256), np.float32), (2, 2, 2))


def test_rejects_input_without_five_axes():
    with pytest.raises(ParameterError, match="expected 5 axes"):
        maxpool3d_forward(np.zeros((1, 10, 256), np.float32), (1, 2, 2))


def test_rejects_bad_size():
    for bad in (0, (2, 2), (1, 2.5, 2)):
        with pytest.raises(ParameterError, match="MaxPool3D size"):
            MaxPool3D(bad)


def test_rejects_gradient_of_wrong_shape():
    y, cache = maxpool3d_forward(np.zeros((1, 1, 4, 4, 4), np.float32), 2)
    with pytest.raises(ParameterError, match="like the forward output"):
        maxpool3d_backward(np.zeros((1, 1, 2, 2, 3), np.float32), cache)

"""Conv3D: Numba kernels vs NumPy references, direct vs FFT path, finite differences, PyTorch."""
import numpy as np
import pytest

from numser import ParameterError
from numser.nn import conv, conv_fft, conv_kernels
from numser.nn.gradcheck import check_layer
from numser.nn.conv import Conv3D, conv3d_backward, conv3d_forward, same_padding

# PyTorch warns that 'same' with an even kernel pads a copy of the input; that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

# (x shape (N, C, L, T, S), F, kernel, padding): one row per shape class the layer must serve.
CASES = [
    ((2, 3, 5, 4, 7), 2, (2, 3, 2), "same"),          # even and odd kernels, non-cubic volume
    ((3, 2, 4, 5, 9), 3, (3, 1, 4), "valid"),         # pad 0 (crop must not use a negative slice)
    ((2, 1, 1, 1, 60), 2, (1, 1, 9), "same"),         # conv1d through size-1 axes
    ((2, 1, 1, 1, 60), 2, (1, 1, 8), "valid"),
    ((2, 4, 1, 6, 40), 2, (1, 2, 16), "same"),        # conv2d (N, C, 1, T, S), kernel (1, 2, kS)
    ((2, 2, 3, 3, 256), 3, (2, 2, 128), "same"),      # kernel longer than half the axis
    ((2, 2, 4, 3, 33), 2, (4, 2, 20), "same"),        # long along L and S
]
IDS = [f"{x}-F{f}-k{k}-{p}" for x, f, k, p in CASES]


def pad_of(kernel, padding):
    return same_padding(kernel) if padding == "same" else ((0, 0),) * 3


def make(case, dtype, seed=0):
    """Random x, w, b, upstream gradient g and pad for one CASES row."""
    x_shape, F, kernel, padding = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((F, x_shape[1]) + kernel).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    pad = pad_of(kernel, padding)
    g = rng.standard_normal(conv.output_shape(x.shape, w.shape, pad)).astype(dtype)
    return x, w, b, g, pad


def rel_error(a, b):
    """Largest difference relative to the largest magnitude (a scale-free test of two tensors)."""
    return np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-30)


# ---------------------------------------------------------------- kernels vs NumPy references

@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_direct_kernels_match_reference(case):
    x, w, b, g, pad = make(case, np.float64)
    xp = np.pad(x, ((0, 0), (0, 0)) + pad)                 # the references take padded input
    lead = pad[0][0], pad[1][0], pad[2][0]                 # the kernels skip the padding
    y = np.empty(g.shape)
    conv_kernels.correlate_direct(x, w, b, *lead, y)
    np.testing.assert_allclose(y, conv_kernels.correlate_reference(xp, w, b), rtol=1e-10, atol=1e-10,
                               err_msg="correlate_direct (y)")
    dx = np.empty_like(x)
    conv_kernels.input_grad_direct(g, w, *lead, dx)
    dxp = conv_kernels.input_grad_reference(g, w, xp.shape)
    crop = tuple(slice(before, before + n) for (before, _), n in zip(pad, x.shape[2:]))
    np.testing.assert_allclose(dx, dxp[(slice(None), slice(None)) + crop],
                               rtol=1e-10, atol=1e-10, err_msg="input_grad_direct (dx)")
    for n_chunks in (1, 2):
        dw = np.empty_like(w)
        conv_kernels.weight_grad_direct(g, x, *lead, dw, n_chunks)
        np.testing.assert_allclose(dw, conv_kernels.weight_grad_reference(g, xp, w.shape[2:])[0],
                                   rtol=1e-10, atol=1e-10, err_msg="weight_grad_direct (dw)")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fft_products_match_reference(case):
    x, w, b, g, pad = make(case, np.float64)
    P = conv_fft.fft_length(x.shape[4], w.shape[4], pad[2])
    Xf = conv_fft.rows_spectrum(x, P)
    Wf = conv_fft.kernel_spectrum(w, pad[2], P)
    Gf = conv_fft.rows_spectrum(g, P)
    (Xr, Xi), (Wr, Wi), (Gr, Gi) = conv_fft.split(Xf), conv_fft.split(Wf), conv_fft.split(Gf)
    bL, bT = pad[0][0], pad[1][0]

    Yf = np.empty(Gf.shape, dtype=complex)
    conv_fft.forward_product(Xr, Xi, Wr, Wi, bL, bT, conv_fft.interleaved(Yf))
    np.testing.assert_allclose(Yf, conv_fft.forward_product_reference(Xf, Wf, pad[:2], g.shape[2:4]),
                               rtol=1e-10, atol=1e-9, err_msg="forward_product (Y^)")
    DXf = np.empty(Xf.shape, dtype=complex)
    conv_fft.input_product(Gr, Gi, Wr, Wi, bL, bT, conv_fft.interleaved(DXf))
    np.testing.assert_allclose(DXf, conv_fft.input_product_reference(Gf, Wf, pad[:2], x.shape[2:4]),
                               rtol=1e-10, atol=1e-9, err_msg="input_product (DX^)")
    DWr, DWi = np.empty(Wf.shape), np.empty(Wf.shape)
    conv_fft.weight_product(Gr, Gi, Xr, Xi, bL, bT, DWr, DWi, 2)
    np.testing.assert_allclose(DWr + 1j * DWi,
                               conv_fft.weight_product_reference(Gf, Xf, pad[:2], w.shape[2:4]),
                               rtol=1e-10, atol=1e-9, err_msg="weight_product (DW^)")


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_paths_match_reference(case, method):
    """Both paths, padding included, equal the padded-einsum reference on every shape class."""
    x, w, b, g, pad = make(case, np.float64)
    y, cache = conv3d_forward(x, w, b, pad, method=method)
    np.testing.assert_allclose(y, conv.conv3d_reference(x, w, b, pad), rtol=1e-9, atol=1e-9,
                               err_msg=f"{method} forward")
    for name, got, want in zip(("dx", "dw", "db"), conv3d_backward(g, cache),
                               conv.conv3d_backward_reference(g, x, w, pad)):
        assert got.shape == want.shape, name
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=f"{method} {name}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fft_path_agrees_with_direct_path_in_float32(case):
    """The path chosen by kernel shape may change; the float32 results must not (beyond rounding)."""
    x, w, b, g, pad = make(case, np.float32)
    y_d, cache_d = conv3d_forward(x, w, b, pad, method="direct")
    y_f, cache_f = conv3d_forward(x, w, b, pad, method="fft")
    assert rel_error(y_f, y_d) < 1e-5, "y"
    for name, got, want in zip(("dx", "dw", "db"), conv3d_backward(g, cache_f),
                               conv3d_backward(g, cache_d)):
        assert got.dtype == np.float32, f"{name} upcast to {got.dtype}"
        assert rel_error(got, want) < 1e-5, name


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_padding_wider_than_kernel(method):
    """Any pad the stateless function accepts, e.g. more zeros than the kernel is long."""
    x, w, b, _, _ = make(((2, 2, 3, 2, 10), 2, (2, 1, 3), "valid"), np.float64)
    pad = ((1, 2), (0, 3), (5, 6))
    y, cache = conv3d_forward(x, w, b, pad, method=method)
    np.testing.assert_allclose(y, conv.conv3d_reference(x, w, b, pad), rtol=1e-9, atol=1e-9)
    g = np.random.default_rng(5).standard_normal(y.shape)
    for got, want in zip(conv3d_backward(g, cache), conv.conv3d_backward_reference(g, x, w, pad)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_choose_method_follows_the_documented_threshold():
    assert conv.choose_method((4, 4, 2, 2, conv.FFT_MIN_KS - 1)) == "direct"
    assert conv.choose_method((4, 4, 2, 2, conv.FFT_MIN_KS)) == "fft"
    assert conv.choose_method((4, 4, 8, 2, 128)) == "fft"
    assert conv.choose_method((4, 4, 8, 2, 2)) == "direct"


def test_fft_length_avoids_wrap_around():
    # S + max(before, after) with the 'same' padding of kS = 128: 256 + 64 = 320 (a fast size).
    assert conv_fft.fft_length(256, 128, same_padding((2, 2, 128))[2]) == 320
    assert conv_fft.fft_length(4, 9, (0, 0)) >= 9               # room for every kernel tap


# ---------------------------------------------------------------- float64 finite differences

@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("x_shape, F, kernel, padding", [
    ((2, 2, 3, 4, 5), 2, (2, 3, 2), "same"),
    ((2, 2, 3, 2, 6), 3, (1, 2, 3), "valid"),
    ((2, 1, 1, 1, 12), 2, (1, 1, 8), "same"),
], ids=["same-even-odd", "valid", "conv1d"])
def test_gradients_match_finite_differences(x_shape, F, kernel, padding, method):
    """dx, dW and db of the layer vs central differences of sum(g * y), in float64."""
    layer = Conv3D(x_shape[1], F, kernel, padding, rng=np.random.default_rng(1), method=method)
    layer.params["b"][:] = np.random.default_rng(2).standard_normal(F)    # a non-zero bias
    x = np.random.default_rng(3).standard_normal(x_shape)
    errors = check_layer(layer, x, seed=4)
    assert set(errors) == {"x", "W", "b"}
    for name, err in errors.items():
        assert err < 1e-6, f"{method} d{name}: relative error {err:.2e}"


# ---------------------------------------------------------------- PyTorch as an independent check

@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("case", CASES + [
    ((2, 1, 1, 1, 1600), 3, (1, 1, 80), "valid"),     # 1D-CNN-LSTM first layer (docs/spec.md §4)
    ((2, 1, 1, 1, 1600), 3, (1, 1, 80), "same"),
    ((2, 4, 1, 10, 256), 4, (1, 2, 32), "same"),      # 2D-CNN-LSTM second layer
], ids=IDS + ["conv1d-1600-valid", "conv1d-1600-same", "conv2d-10x256"])
def test_matches_pytorch_in_float32(case, method):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: optional reference")
    x, w, b, g, pad = make(case, np.float32, seed=2)
    y, cache = conv3d_forward(x, w, b, pad, method=method)
    dx, dw, db = conv3d_backward(g, cache)

    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv3d(tx, tw, tb, padding="same" if case[3] == "same" else 0)
    ty.backward(torch.tensor(g))
    for name, ours, theirs in (("y", y, ty), ("dx", dx, tx.grad), ("dw", dw, tw.grad),
                               ("db", db, tb.grad)):
        assert ours.dtype == np.float32, f"{name} is {ours.dtype}"
        err = rel_error(ours, theirs.detach().numpy())
        assert err < 1e-4, f"{method} {name}: relative error {err:.2e} vs torch"


# ---------------------------------------------------------------- the layer

def test_same_padding_follows_pytorch_rule():
    assert same_padding((2, 3, 128)) == ((0, 1), (1, 1), (63, 64))
    assert same_padding((1, 8, 5)) == ((0, 0), (3, 4), (2, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_keeps_shape_dtype_and_fills_grads(dtype):
    layer = Conv3D(2, 3, (2, 2, 4), "same", rng=np.random.default_rng(0), dtype=dtype)
    x = np.random.default_rng(1).standard_normal((2, 2, 3, 4, 10)).astype(dtype)
    y = layer.forward(x, train=True)
    assert y.shape == (2, 3, 3, 4, 10) and y.dtype == dtype
    grad_w = layer.grads["W"]
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.dtype == dtype
    assert layer.grads["W"] is grad_w, "grads are overwritten in place"
    np.testing.assert_allclose(layer.grads["b"], np.full(3, y[0, 0].size * 2), rtol=1e-6)
    assert layer.n_params() == 3 * 2 * 16 + 3


def test_layer_valid_shrinks_volume():
    layer = Conv3D(1, 2, (1, 1, 80), "valid")
    y = layer.forward(np.zeros((3, 1, 1, 1, 1600), np.float32))
    assert y.shape == (3, 2, 1, 1, 1521)


def test_glorot_uniform_init():
    layer = Conv3D(4, 4, (2, 2, 128), rng=np.random.default_rng(3))
    W, b = layer.params["W"], layer.params["b"]
    limit = np.sqrt(6 / (4 * 512 + 4 * 512))
    assert W.shape == (4, 4, 2, 2, 128) and W.dtype == np.float32
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.95 * limit
    assert abs(W.std() - limit / np.sqrt(3)) < 0.05 * limit
    assert not b.any()
    same = Conv3D(4, 4, (2, 2, 128), rng=np.random.default_rng(3)).params["W"]
    np.testing.assert_array_equal(W, same)


# ---------------------------------------------------------------- bad input, one test each

def _args(x_shape=(1, 2, 3, 3, 8), w_shape=(2, 2, 2, 2, 2), dtype=np.float32):
    return np.zeros(x_shape, dtype), np.zeros(w_shape, dtype), np.zeros(w_shape[0], dtype)


def test_rejects_kernel_longer_than_volume_with_valid():
    x, w, b = _args(x_shape=(1, 2, 3, 3, 64), w_shape=(2, 2, 2, 2, 128))
    with pytest.raises(ParameterError, match=r"along S \(128 > 64"):
        conv3d_forward(x, w, b, ((0, 0),) * 3)


def test_rejects_input_without_five_axes():
    x, w, b = _args()
    with pytest.raises(ParameterError, match="expected 5 axes"):
        conv3d_forward(x[0], w, b, same_padding((2, 2, 2)))


def test_rejects_channel_mismatch():
    x, w, b = _args(w_shape=(2, 3, 2, 2, 2))
    with pytest.raises(ParameterError, match="3 input channels|C = 2"):
        conv3d_forward(x, w, b, same_padding((2, 2, 2)))


def test_rejects_mixed_dtypes():
    x, w, b = _args()
    with pytest.raises(ParameterError, match="never upcasts"):
        conv3d_forward(x.astype(np.float64), w, b, same_padding((2, 2, 2)))


def test_rejects_bad_bias_and_pad():
    x, w, b = _args()
    with pytest.raises(ParameterError, match="bias shape"):
        conv3d_forward(x, w, b[:1], same_padding((2, 2, 2)))
    with pytest.raises(ParameterError, match="pad"):
        conv3d_forward(x, w, b, ((0, 1), (0, 1)))


def test_rejects_unknown_method_and_layer_options():
    x, w, b = _args()
    with pytest.raises(ParameterError, match="method"):
        conv3d_forward(x, w, b, same_padding((2, 2, 2)), method="winograd")
    with pytest.raises(ParameterError, match="padding"):
        Conv3D(1, 1, 2, padding="full")
    with pytest.raises(ParameterError, match="kernel"):
        Conv3D(1, 1, (2, 2))
    with pytest.raises(ParameterError, match="dtype"):
        Conv3D(1, 1, 2, dtype=np.int32)


def test_rejects_gradient_of_wrong_shape_or_dtype():
    x, w, b = _args()
    y, cache = conv3d_forward(x, w, b, same_padding((2, 2, 2)))
    with pytest.raises(ParameterError, match="like the forward output"):
        conv3d_backward(y[:, :1], cache)
    with pytest.raises(ParameterError, match="like the forward output"):
        conv3d_backward(y.astype(np.float64), cache)

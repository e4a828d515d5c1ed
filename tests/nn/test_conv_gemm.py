"""The 'fft-gemm' path of Conv3D (numser/nn/conv_gemm.py): references, gradients, thread independence."""
import numba
import numpy as np
import pytest

from numser import ParameterError
from numser.models import build
from numser.nn import conv, conv_gemm
from numser.nn.conv import Conv3D, conv3d_backward, conv3d_forward, same_padding
from numser.nn.gradcheck import check_layer

# (x shape (N, C, L, T, S), F, kernel, pad): 1-D kernels (1, 1, kS) on every shape the path takes.
CASES = [
    ((3, 2, 1, 1, 60), 4, (1, 1, 9), "same"),          # odd kernel
    ((2, 3, 1, 1, 40), 2, (1, 1, 16), "same"),         # even kernel
    ((2, 2, 1, 1, 50), 3, (1, 1, 50), "same"),         # kernel as long as the axis (1D-CNN-LSTM conv 2)
    ((2, 1, 1, 1, 100), 3, (1, 1, 80), "same"),        # C = 1 (1D-CNN-LSTM conv 1)
    ((3, 2, 1, 1, 40), 2, (1, 1, 16), "valid"),
    ((2, 2, 2, 3, 33), 3, (1, 1, 20), "same"),         # rows (n, l, t) with L, T > 1
    ((150, 2, 1, 1, 24), 2, (1, 1, 17), "same"),       # 3 blocks of 64 rows: the blocked sums
]
IDS = [f"{x}-F{f}-k{k[2]}-{p}" for x, f, k, p in CASES]


def make(case, dtype, seed=0):
    x_shape, F, kernel, padding = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((F, x_shape[1]) + kernel).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    pad = same_padding(kernel) if padding == "same" else ((0, 0),) * 3
    g = rng.standard_normal(conv.output_shape(x.shape, w.shape, pad)).astype(dtype)
    return x, w, b, g, pad


def rel_error(a, b):
    return np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-30)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_the_numpy_reference(case):
    """y, dx, dw, db equal the padded-einsum reference (numser.nn.conv.conv3d_reference)."""
    x, w, b, g, pad = make(case, np.float64)
    y, cache = conv3d_forward(x, w, b, pad, method="fft-gemm")
    assert y.shape == g.shape and y.flags.c_contiguous
    np.testing.assert_allclose(y, conv.conv3d_reference(x, w, b, pad), rtol=1e-9, atol=1e-9)
    for name, got, want in zip(("dx", "dw", "db"), conv3d_backward(g, cache),
                               conv.conv3d_backward_reference(g, x, w, pad)):
        assert got.shape == want.shape, name
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=name)


def test_padding_wider_than_kernel():
    x, w, b, _, _ = make(((2, 2, 1, 1, 10), 2, (1, 1, 3), "valid"), np.float64)
    pad = ((0, 0), (0, 0), (5, 6))
    y, cache = conv3d_forward(x, w, b, pad, method="fft-gemm")
    np.testing.assert_allclose(y, conv.conv3d_reference(x, w, b, pad), rtol=1e-9, atol=1e-9)
    g = np.random.default_rng(5).standard_normal(y.shape)
    for got, want in zip(conv3d_backward(g, cache), conv.conv3d_backward_reference(g, x, w, pad)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_agrees_with_the_fft_path_in_float32(case):
    """Same function as method 'fft', float32 throughout; only the rounding may differ."""
    x, w, b, g, pad = make(case, np.float32)
    y_g, cache_g = conv3d_forward(x, w, b, pad, method="fft-gemm")
    y_f, cache_f = conv3d_forward(x, w, b, pad, method="fft")
    assert y_g.dtype == np.float32 and rel_error(y_g, y_f) < 1e-5
    for name, got, want in zip(("dx", "dw", "db"), conv3d_backward(g, cache_g),
                               conv3d_backward(g, cache_f)):
        assert got.dtype == np.float32, f"{name} upcast to {got.dtype}"
        assert rel_error(got, want) < 1e-5, name


@pytest.mark.parametrize("x_shape, F, kernel", [
    ((2, 2, 1, 1, 12), 2, (1, 1, 8)),
    ((2, 1, 1, 1, 15), 3, (1, 1, 5)),
    ((2, 2, 2, 1, 9), 2, (1, 1, 9)),
], ids=["even", "C1-odd", "L2-full"])
def test_gradients_match_finite_differences(x_shape, F, kernel):
    """dx, dW and db of the layer vs central differences of sum(g * y), in float64."""
    layer = Conv3D(x_shape[1], F, kernel, "same", rng=np.random.default_rng(1), method="fft-gemm")
    layer.params["b"][:] = np.random.default_rng(2).standard_normal(F)
    x = np.random.default_rng(3).standard_normal(x_shape)
    errors = check_layer(layer, x, seed=4)
    assert set(errors) == {"x", "W", "b"}
    for name, err in errors.items():
        assert err < 1e-6, f"d{name}: relative error {err:.2e}"


def _run(case, threads):
    x, w, b, g, pad = make(case, np.float32, seed=9)
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        y, cache = conv3d_forward(x, w, b, pad, method="fft-gemm")
        return (y,) + conv3d_backward(g, cache)
    finally:
        numba.set_num_threads(before)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
def test_bit_identical_on_1_and_2_threads():
    """Blocks and partial sums are fixed by the shapes; the threads only share them out."""
    case = ((300, 3, 1, 1, 40), 4, (1, 1, 16), "same")       # 5 blocks, 5 partials of dw
    for one, two in zip(_run(case, 1), _run(case, 2)):
        assert one.tobytes() == two.tobytes()


def test_bit_identical_with_1_and_2_blas_threads():
    """Every sum runs inside one BLAS call; OpenBLAS's own threads must not change its order."""
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="needs threadpoolctl to set BLAS threads")
    case = ((300, 40, 1, 1, 64), 40, (1, 1, 64), "same")     # GEMMs large enough to thread
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        one = _run(case, 1)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        two = _run(case, 1)
    for a, b in zip(one, two):
        assert a.tobytes() == b.tobytes()


def test_rejects_kernels_with_l_or_t_taps():
    with pytest.raises(ParameterError, match="1-D convolutions along S"):
        Conv3D(2, 2, (1, 2, 16), method="fft-gemm")
    x = np.zeros((1, 1, 2, 2, 8))
    with pytest.raises(ParameterError, match="1-D convolutions along S"):
        conv3d_forward(x, np.zeros((1, 1, 2, 1, 3)), np.zeros(1), same_padding((2, 1, 3)),
                       method="fft-gemm")


def test_only_the_1d_cnn_lstm_takes_the_path():
    """Other models keep their 'auto' paths (and so their numbers)."""
    def methods(model):
        out = []
        for layer in model.layers:
            for inner in getattr(layer, "layers", [layer]):
                if isinstance(inner, Conv3D):
                    out.append(inner.method)
        return out
    assert methods(build("1d-cnn-lstm")) == ["fft-gemm", "fft-gemm"]
    for method, kw in (("2d-cnn-lstm", {"kernel": (1, 2, 128)}), ("3d-cnn-dnn", {})):
        assert set(methods(build(method, **kw))) == {"auto"}
    assert conv_gemm.ROWS_PER_BLOCK >= 1


def test_backward_frees_the_saved_spectrum_and_refuses_a_second_call():
    x, w, b, g, pad = make(CASES[0], np.float32)
    y, cache = conv3d_forward(x, w, b, pad, method="fft-gemm")
    conv3d_backward(g, cache)
    assert "saved" not in cache
    with pytest.raises(ParameterError, match="already used by a backward pass"):
        conv3d_backward(g, cache)

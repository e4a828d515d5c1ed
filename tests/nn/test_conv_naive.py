"""The loop-level conv3d (numser.nn.conv_naive) against both fast paths, in float64."""
import numpy as np
import pytest

from numser.nn.conv import conv3d_backward, conv3d_forward, output_shape, same_padding
from numser.nn.conv_naive import conv3d_naive_backward, conv3d_naive_forward

# (x shape (N, C, L, T, S), F, kernel, padding): small, so the Python loops take milliseconds.
CASES = [
    ((2, 2, 3, 4, 6), 2, (2, 3, 4), "same"),          # even and odd kernel lengths
    ((1, 2, 3, 3, 7), 3, (3, 1, 2), "valid"),
    ((2, 1, 1, 1, 12), 2, (1, 1, 5), "same"),         # conv1d through size-1 axes
    ((1, 2, 1, 3, 24), 2, (1, 2, 16), "same"),        # kS >= 16: the layer's FFT path
]
IDS = [f"{x}-F{f}-k{k}-{p}" for x, f, k, p in CASES]


def make(case):
    x_shape, F, kernel, padding = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((F, x_shape[1]) + kernel)
    b = rng.standard_normal(F)
    pad = same_padding(kernel) if padding == "same" else ((0, 0),) * 3
    g = rng.standard_normal(output_shape(x.shape, w.shape, pad))
    return x, w, b, g, pad


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_naive_equals_fast_paths(case, method):
    x, w, b, g, pad = make(case)
    y_naive = conv3d_naive_forward(x, w, b, pad)
    y, cache = conv3d_forward(x, w, b, pad, method=method)
    assert y.shape == y_naive.shape == g.shape
    np.testing.assert_allclose(y, y_naive, rtol=1e-11, atol=1e-11)
    for name, fast, naive in zip(("dx", "dw", "db"), conv3d_backward(g, cache),
                                 conv3d_naive_backward(g, x, w, pad)):
        assert fast.shape == naive.shape, name
        np.testing.assert_allclose(fast, naive, rtol=1e-11, atol=1e-11, err_msg=name)


def test_naive_forward_by_hand():
    """1 x 1 x 3 input, kernel (1, 1, 2), 'same' pads S by (0, 1): y = [1*2 + 2*3, 2*2 + 3*3, 3*2 + 0*3] + 1."""
    x = np.array([1.0, 2.0, 3.0]).reshape(1, 1, 1, 1, 3)
    w = np.array([2.0, 3.0]).reshape(1, 1, 1, 1, 2)
    y = conv3d_naive_forward(x, w, np.array([1.0]), same_padding((1, 1, 2)))
    np.testing.assert_array_equal(y.ravel(), [9.0, 14.0, 7.0])


@pytest.mark.parametrize("case", [((2, 1, 1, 1, 12), 2, (1, 1, 5), "same"),
                                  ((2, 3, 1, 1, 40), 2, (1, 1, 16), "same")],
                         ids=["k5", "k16"])
def test_naive_equals_fft_gemm_path(case):
    """The 1-D path of the 1D-CNN-LSTM (kernels (1, 1, kS)) against the same loops."""
    x, w, b, g, pad = make(case)
    y, cache = conv3d_forward(x, w, b, pad, method="fft-gemm")
    np.testing.assert_allclose(y, conv3d_naive_forward(x, w, b, pad), rtol=1e-11, atol=1e-11)
    for name, fast, naive in zip(("dx", "dw", "db"), conv3d_backward(g, cache),
                                 conv3d_naive_backward(g, x, w, pad)):
        np.testing.assert_allclose(fast, naive, rtol=1e-11, atol=1e-11, err_msg=name)

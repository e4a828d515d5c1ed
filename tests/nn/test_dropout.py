"""Inverted dropout: identity at evaluation, the rate and scale in training, seeding, gradients."""
import numba
import numpy as np
import pytest

from numser import ParameterError
from numser.nn import threads
from numser.nn.dropout import Dropout, dropout_forward, dropout_forward_blocks, mask_piece_numba, \
    mask_piece_numpy
from numser.nn.gradcheck import check_layer


def test_evaluation_is_identity():
    layer = Dropout(0.5)
    x = np.random.default_rng(0).standard_normal((8, 16)).astype(np.float32)
    assert layer.forward(x, train=False) is x
    dy = np.ones_like(x)
    assert layer.backward(dy) is dy


def test_training_drops_fraction_p_and_scales_the_rest():
    p = 0.3
    layer = Dropout(p, rng=np.random.default_rng(1))
    x = np.ones((400, 500), dtype=np.float32)
    y = layer.forward(x, train=True)
    dropped = np.mean(y == 0)
    # 200 000 Bernoulli(0.3) draws: std of the fraction is 0.001, so 0.005 is 5 sigma
    assert abs(dropped - p) < 0.005, dropped
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / (1 - p)], rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.01                 # inverted dropout keeps the mean


def test_backward_uses_the_forward_mask():
    layer = Dropout(0.5, rng=np.random.default_rng(2))
    x = np.random.default_rng(3).standard_normal((10, 10))
    y = layer.forward(x, train=True)
    dx = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx == 0, y == 0)
    np.testing.assert_allclose(dx[dx != 0], 2.0)


def test_seeded_and_reproducible_and_fresh_per_call():
    x = np.ones((50, 50), dtype=np.float32)
    a, b = Dropout(0.5, rng=np.random.default_rng(7)), Dropout(0.5, rng=np.random.default_rng(7))
    ya1, ya2 = a.forward(x, train=True), a.forward(x, train=True)
    yb1, yb2 = b.forward(x, train=True), b.forward(x, train=True)
    np.testing.assert_array_equal(ya1, yb1)
    np.testing.assert_array_equal(ya2, yb2)
    assert not np.array_equal(ya1, ya2)


def test_same_mask_for_float32_and_float64():
    x = np.ones((20, 30))
    y64, _ = dropout_forward(x, 0.5, np.random.default_rng(4))
    y32, _ = dropout_forward(x.astype(np.float32), 0.5, np.random.default_rng(4))
    assert y32.dtype == np.float32
    np.testing.assert_array_equal(y32 == 0, y64 == 0)


def test_p_zero_is_identity_in_training():
    x = np.ones((3, 3), dtype=np.float32)
    assert Dropout(0.0).forward(x, train=True) is x


def test_gradient_check_with_fixed_mask():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 6))
    layer = Dropout(0.5)
    layer.fix_mask((rng.random(x.shape) >= 0.5) / 0.5)
    errors = check_layer(layer, x, train=True)
    assert errors["x"] < 1e-6, errors


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, "0.5"])
def test_bad_p_raises(p):
    with pytest.raises(ParameterError, match="probability in"):
        Dropout(p)


def test_fixed_mask_of_wrong_shape_raises():
    layer = Dropout(0.5)
    layer.fix_mask(np.ones((2, 2)))
    with pytest.raises(ParameterError, match="fixed mask has shape"):
        layer.forward(np.ones((3, 3)), train=True)


@pytest.mark.filterwarnings("ignore:invalid value encountered")     # nan · 0, inf · 0
@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("shape, p, dtype, before", [
    ((25344, 256), 0.5, np.float32, None), ((7, 3), 0.3, np.float64, "int32"),
    ((70001,), 0.25, np.float32, "random"), ((0, 4), 0.5, np.float32, None)])
def test_blocks_give_the_reference_bits_and_generator_state(k, shape, p, dtype, before):
    """dropout_forward_blocks draws PCG64's raw outputs from advanced copies of the generator;
    masks, outputs and the generator afterwards must equal dropout_forward's exactly, with the
    Numba kernel and with its NumPy reference."""
    if k > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("needs NUMBA_NUM_THREADS >= 2")
    gens = [np.random.default_rng(3) for _ in range(3)]
    for g in gens:
        if before == "int32":
            g.integers(0, 10, dtype=np.int32)           # leaves a buffered 32-bit half
        elif before == "random":
            g.random(5)
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    if x.size:
        x.reshape(-1)[:4] = [np.nan, np.inf, -0.0, -np.inf]
    with threads.using(k):
        ref = dropout_forward(x, p, gens[0])
        got = [dropout_forward_blocks(x, p, gens[1], kernel=mask_piece_numba),
               dropout_forward_blocks(x, p, gens[2], kernel=mask_piece_numpy)]
    for out_mask in got:
        for a, b in zip(ref, out_mask):
            assert a.dtype == b.dtype and np.array_equal(a.view(np.uint8), b.view(np.uint8))
    after = [g.integers(0, 1000, 9, dtype=np.int32).tolist() for g in gens]
    assert after[0] == after[1] == after[2]
    assert gens[0].bit_generator.state == gens[1].bit_generator.state == gens[2].bit_generator.state


def test_layer_uses_blocks_for_pcg64_and_the_reference_otherwise():
    x = np.random.default_rng(0).standard_normal((300, 40)).astype(np.float32)
    for bitgen in (np.random.PCG64, np.random.MT19937):
        layer = Dropout(0.5, rng=np.random.Generator(bitgen(4)))
        y = layer.forward(x, train=True)
        ref, mask = dropout_forward(x, 0.5, np.random.Generator(bitgen(4)))
        assert np.array_equal(y, ref) and np.array_equal(layer.cache, mask)

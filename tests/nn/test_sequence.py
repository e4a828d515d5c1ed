"""PerStep: equals a loop over steps, shares weights (parameters found once), finite differences;
FrameContext: neighbours stacked, edges replicated, finite differences."""
import numpy as np
import pytest

from numser import ParameterError
from numser.nn.activations import ReLU
from numser.nn.dense import Dense
from numser.nn.dropout import Dropout
from numser.nn.gradcheck import check_layer
from numser.nn.layer import n_params, parameters
from numser.nn.sequence import FrameContext, PerStep


def stack(dtype=np.float32):
    rng = np.random.default_rng(0)
    return [Dense(6, 5, rng=rng, dtype=dtype), ReLU(), Dense(5, 3, rng=rng, dtype=dtype)]


def test_equals_the_stack_applied_step_by_step():
    x = np.random.default_rng(1).standard_normal((4, 7, 6)).astype(np.float32)
    layer = PerStep(stack())
    y = layer.forward(x)
    assert y.shape == (4, 7, 3) and y.dtype == np.float32
    for t in range(7):
        h = x[:, t]
        for sub in stack():
            h = sub.forward(h)
        np.testing.assert_allclose(y[:, t], h, rtol=1e-6)


def test_gradients_are_sums_over_steps():
    rng = np.random.default_rng(2)
    x, g = rng.standard_normal((3, 5, 6)), rng.standard_normal((3, 5, 3))
    layer = PerStep(stack(np.float64))
    layer.forward(x)
    dx = layer.backward(g)
    total = {k: 0.0 for k in ("W0", "W2")}
    for t in range(5):
        sub = stack(np.float64)
        h = x[:, t]
        for s in sub:
            h = s.forward(h)
        d = g[:, t]
        for s in reversed(sub):
            d = s.backward(d)
        np.testing.assert_allclose(dx[:, t], d, rtol=1e-12)
        total["W0"] = total["W0"] + sub[0].grads["W"]
        total["W2"] = total["W2"] + sub[2].grads["W"]
    np.testing.assert_allclose(layer.layers[0].grads["W"], total["W0"], rtol=1e-12)
    np.testing.assert_allclose(layer.layers[2].grads["W"], total["W2"], rtol=1e-12)


def test_parameters_found_once():
    layer = PerStep(stack())
    assert len(list(parameters([layer]))) == 4
    assert n_params([layer]) == 6 * 5 + 5 + 5 * 3 + 3


def test_gradient_check_float64():
    x = np.random.default_rng(3).standard_normal((2, 4, 6))
    errors = check_layer(PerStep(stack()), x)
    assert set(errors) == {"x", "layers.0.W", "layers.0.b", "layers.2.W", "layers.2.b"}
    assert max(errors.values()) < 1e-6, errors


def test_multi_axis_steps_keep_their_shape():
    """The 2D-CNN-LSTM layout: a (T, S) map per L-step goes through the stack, (N, L, ...) kept."""
    from numser.nn.shape import Flatten
    x = np.ones((2, 10, 3, 4), dtype=np.float32)
    y = PerStep([Flatten(), Dense(12, 5)]).forward(x)
    assert y.shape == (2, 10, 5)


def test_dropout_inside_draws_a_mask_per_step():
    x = np.ones((2, 8, 64), dtype=np.float32)
    y = PerStep([Dropout(0.5, rng=np.random.default_rng(4))]).forward(x, train=True)
    assert not all(np.array_equal(y[:, 0] == 0, y[:, t] == 0) for t in range(1, 8))


def test_bad_layers_raise():
    with pytest.raises(ParameterError, match="non-empty list of Layer"):
        PerStep([])
    with pytest.raises(ParameterError, match="non-empty list of Layer"):
        PerStep([np.tanh])


def test_input_without_step_axis_raises():
    with pytest.raises(ParameterError, match="at least 3 axes"):
        PerStep(stack()).forward(np.zeros((2, 6), dtype=np.float32))


# --- FrameContext: the DNN-ELM's 5-frame context window --------------------------------------

def test_frame_context_stacks_neighbours_with_edges_replicated():
    x = np.arange(2 * 4 * 1, dtype=np.float64).reshape(2, 4, 1)      # frames 0..3 of 2 utterances
    y = FrameContext(3).forward(x)
    assert y.shape == (2, 4, 3)
    np.testing.assert_array_equal(y[0, :, :], [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 3]])


@pytest.mark.parametrize("context", [1, 3, 5])
def test_frame_context_gradient(context):
    # T = 4 < context for 5: the edge frames are repeated and their gradients must add up.
    x = np.random.default_rng(context).standard_normal((2, 4, 3))
    errors = check_layer(FrameContext(context), x)
    assert max(errors.values()) < 1e-7, errors

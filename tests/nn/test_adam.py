"""Adam: two steps by hand, PyTorch's Adam, in-place float32 updates, state round-trip, bad input."""
import numpy as np
import pytest

from numser import ParameterError
from numser.nn.adam import Adam
from numser.nn.dense import Dense
from numser.nn.layer import parameters


def test_two_steps_by_hand():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    p = np.array([1.0, -2.0, 0.5])
    g1, g2 = np.array([0.5, -1.0, 0.0]), np.array([-0.2, 0.3, 2.0])
    opt = Adam(lr, b1, b2, eps)
    opt.step([(p, g1)])
    # step 1: m = 0.1 g1, v = 0.001 g1², m̂ = g1, v̂ = g1², so θ −= lr · g1 / (|g1| + eps)
    expected = np.array([1.0, -2.0, 0.5]) - lr * g1 / (np.abs(g1) + eps)
    np.testing.assert_allclose(p, expected, rtol=1e-15)
    opt.step([(p, g2)])
    m = 0.9 * (0.1 * g1) + 0.1 * g2
    v = 0.999 * (0.001 * g1 ** 2) + 0.001 * g2 ** 2
    m_hat, v_hat = m / (1 - 0.9 ** 2), v / (1 - 0.999 ** 2)
    expected = expected - lr * m_hat / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(p, expected, rtol=1e-14)
    assert opt.t == 2


def test_matches_torch_adam():
    torch = pytest.importorskip("torch", reason="PyTorch is the independent reference")
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((4, 3)), rng.standard_normal(5)]
    grads = [[rng.standard_normal(p.shape) for p in params] for _ in range(6)]
    ref = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt_ref = torch.optim.Adam(ref, lr=3e-3, betas=(0.9, 0.999), eps=1e-8)
    opt = Adam()
    for gs in grads:
        opt.step(list(zip(params, gs)))
        for t, g in zip(ref, gs):
            t.grad = torch.from_numpy(g.copy())
        opt_ref.step()
    for ours, theirs in zip(params, ref):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_updates_in_place_and_keeps_float32():
    layer = Dense(3, 2)
    W = layer.params["W"]
    before = W.copy()
    layer.grads["W"][:] = 1.0
    Adam().step(parameters([layer]))
    assert layer.params["W"] is W and W.dtype == np.float32
    np.testing.assert_allclose(W, before - 3e-3, atol=1e-6)     # first step moves by lr·sign(g)


def test_state_dict_round_trip_resumes_exactly():
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal((2, 2)) for _ in range(5)]
    p_ref = np.ones((2, 2))                            # 5 uninterrupted steps
    opt_ref = Adam()
    for g in grads:
        opt_ref.step([(p_ref, g)])

    p = np.ones((2, 2))                                # 3 steps, save, 2 steps in a new optimiser
    opt = Adam()
    for g in grads[:3]:
        opt.step([(p, g)])
    state = opt.state_dict()
    p_saved = p.copy()
    opt.step([(p, np.full((2, 2), 99.0))])             # later steps must not leak into `state`
    resumed = Adam(lr=1.0)                             # hyper-parameters come from the state
    resumed.load_state_dict(state)
    for g in grads[3:]:
        resumed.step([(p_saved, g)])
    assert resumed.t == 5 and resumed.lr == 3e-3
    np.testing.assert_array_equal(p_saved, p_ref)


def test_state_dict_holds_plain_arrays_and_the_step_count():
    opt = Adam()
    assert opt.state_dict()["m"] is None
    opt.step([(np.zeros(3), np.ones(3))])
    state = opt.state_dict()
    assert state["t"] == 1 and isinstance(state["m"][0], np.ndarray)
    assert state["m"][0] is not opt.m[0]


def test_changed_number_of_pairs_raises():
    opt = Adam()
    opt.step([(np.zeros(2), np.ones(2)), (np.zeros(3), np.ones(3))])
    with pytest.raises(ParameterError, match="got 1 .* holds 2"):
        opt.step([(np.zeros(2), np.ones(2))])


def test_changed_shape_raises():
    opt = Adam()
    opt.step([(np.zeros(2), np.ones(2))])
    with pytest.raises(ParameterError, match="model changed"):
        opt.step([(np.zeros(3), np.ones(3))])


@pytest.mark.parametrize("kwargs", [dict(lr=0), dict(beta1=1.0), dict(beta2=-0.1), dict(eps=0)])
def test_bad_hyper_parameters_raise(kwargs):
    with pytest.raises(ParameterError, match="out of range"):
        Adam(**kwargs)


def test_incomplete_state_raises():
    with pytest.raises(ParameterError, match="missing"):
        Adam().load_state_dict({"t": 3})

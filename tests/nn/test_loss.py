"""Softmax cross-entropy: the mean-over-batch value, per-step labels, stability, gradient, PyTorch."""
import numpy as np
import pytest

from numser import ParameterError
from numser.nn.gradcheck import numerical_gradient, relative_error
from numser.nn.loss import log_softmax, softmax, softmax_cross_entropy


def direct_loss(logits, y):
    """−(1/M) Σ log( e^(z_y) / Σ_k e^(z_k) ), written out naively (fine for moderate logits)."""
    z = logits.reshape(-1, logits.shape[-1])
    y = np.broadcast_to(y if y.ndim == logits.ndim - 1 else y[:, None], logits.shape[:-1]).ravel()
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(len(y)), y]))


def test_value_is_mean_over_batch_of_direct_formula():
    rng = np.random.default_rng(0)
    logits, y = rng.standard_normal((9, 4)), rng.integers(0, 4, 9)
    loss, _ = softmax_cross_entropy(logits, y)
    assert isinstance(loss, float)
    assert abs(loss - direct_loss(logits, y)) < 1e-12


def test_per_step_logits_with_utterance_label_is_mean_over_all_steps():
    rng = np.random.default_rng(1)
    logits, y = rng.standard_normal((3, 10, 4)), rng.integers(0, 4, 3)
    loss, dlogits = softmax_cross_entropy(logits, y)
    loss_steps, dsteps = softmax_cross_entropy(logits, np.repeat(y[:, None], 10, axis=1))
    assert loss == pytest.approx(loss_steps, abs=1e-14)
    assert loss == pytest.approx(direct_loss(logits, y), abs=1e-12)
    np.testing.assert_allclose(dlogits, dsteps, rtol=1e-14)
    np.testing.assert_allclose(dlogits.sum(axis=-1), 0, atol=1e-15)      # Σ_k (p_k − e_y,k) = 0


@pytest.mark.parametrize("shape, yshape", [((5, 3), (5,)), ((2, 4, 3), (2,)), ((2, 4, 3), (2, 4))])
def test_gradient_matches_finite_differences(shape, yshape):
    rng = np.random.default_rng(2)
    logits, y = rng.standard_normal(shape), rng.integers(0, 3, yshape)
    _, dlogits = softmax_cross_entropy(logits, y)
    num = numerical_gradient(lambda z: softmax_cross_entropy(z, y)[0], logits)
    assert relative_error(dlogits, num) < 1e-6


def test_stable_for_huge_logits_and_keeps_float32():
    logits = np.array([[1e4, 0.0, -1e4], [-5e3, 5e3, 0.0]], dtype=np.float32)
    loss, dlogits = softmax_cross_entropy(logits, np.array([0, 0]))
    assert np.isfinite(loss) and loss == pytest.approx(1e4 / 2, rel=1e-6)    # row 1 loses 1e4
    assert dlogits.dtype == np.float32 and np.all(np.isfinite(dlogits))
    p = softmax(logits)
    assert p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=-1), 1, rtol=1e-6)
    assert np.all(np.isfinite(log_softmax(logits)))


def test_matches_torch_cross_entropy():
    torch = pytest.importorskip("torch", reason="PyTorch is the independent reference")
    rng = np.random.default_rng(3)
    logits, y = rng.standard_normal((7, 5, 4)).astype(np.float32), rng.integers(0, 4, (7, 5))
    loss, dlogits = softmax_cross_entropy(logits, y)
    zt = torch.from_numpy(logits).requires_grad_(True)
    ref = torch.nn.functional.cross_entropy(zt.reshape(-1, 4), torch.from_numpy(y).reshape(-1))
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-6)
    np.testing.assert_allclose(dlogits, zt.grad.numpy(), rtol=1e-5, atol=1e-8)


def test_float_labels_raise():
    with pytest.raises(ParameterError, match="integer class indices"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_label_out_of_range_raises():
    with pytest.raises(ParameterError, match="must lie in 0..2"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))


def test_label_shape_mismatch_raises():
    with pytest.raises(ParameterError, match="do not match"):
        softmax_cross_entropy(np.zeros((2, 5, 3)), np.zeros((2, 4), dtype=int))


def test_logits_of_wrong_rank_raise():
    with pytest.raises(ParameterError, match=r"\(N, K\) or"):
        softmax_cross_entropy(np.zeros(3), np.array([0]))

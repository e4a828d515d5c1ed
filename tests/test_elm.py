"""Utterance functionals and the ELM: hand cases, the closed form against lstsq, two moons."""
import numpy as np
import pytest

from numser import ParameterError
from numser.elm import ELM, select_elm, solve_output_weights, utterance_functionals
from numser.metrics import unweighted_accuracy


def two_moons(n, noise, rng):
    """Two interleaving half circles (as scikit-learn's make_moons), labels 0/1."""
    t = rng.uniform(0, np.pi, n)
    y = rng.integers(0, 2, n)
    X = np.where(y[:, None] == 0,
                 np.c_[np.cos(t), np.sin(t)],
                 np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return X + noise * rng.normal(size=X.shape), y


# --- functionals ---------------------------------------------------------------------------
def test_functionals_hand_case():
    p = np.array([[0.1, 0.9],
                  [0.5, 0.5],
                  [0.8, 0.2],          # 0.2 is not > 0.2
                  [0.3, 0.7]])         # (T=4, K=2)
    F = utterance_functionals(p)
    expected = [0.8, 0.1, 0.425, 3 / 4,        # class 0: max, min, mean, fraction > .2
                0.9, 0.2, 0.575, 3 / 4]        # class 1
    assert F.shape == (8,)
    np.testing.assert_allclose(F, expected, atol=1e-15)


def test_functionals_batch_equals_single_and_has_16_columns():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 10, 4))
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)      # (N=6, T=10, K=4)
    F = utterance_functionals(p)
    assert F.shape == (6, 16) and F.dtype == np.float64
    for n in range(6):
        np.testing.assert_array_equal(F[n], utterance_functionals(p[n]))
    # class-major order: column 4k+2 is the mean of class k
    np.testing.assert_allclose(F[:, 2::4], p.mean(axis=1), atol=1e-15)
    np.testing.assert_allclose(F[:, 3::4], (p > 0.2).mean(axis=1), atol=1e-15)


def test_functionals_bad_shape():
    with pytest.raises(ParameterError, match=r"\(N, T, K\)"):
        utterance_functionals(np.ones(5))


def test_functionals_bad_nan():
    with pytest.raises(ParameterError, match="NaN"):
        utterance_functionals(np.full((3, 4), np.nan))


# --- closed form ---------------------------------------------------------------------------
@pytest.mark.parametrize("N, L, C", [(60, 10, 1.0), (60, 10, 100.0), (20, 80, 0.1), (30, 30, 10.0)])
def test_closed_form_equals_lstsq_of_augmented_system(N, L, C):
    rng = np.random.default_rng(N + L)
    H = 1 / (1 + np.exp(-rng.normal(size=(N, L))))
    Y = np.eye(4)[rng.integers(0, 4, N)]
    # min ||Hβ - Y||² + ||β||²/C  ==  min || [H; I/√C] β - [Y; 0] ||²
    aug = np.vstack([H, np.eye(L) / np.sqrt(C)])
    rhs = np.vstack([Y, np.zeros((L, 4))])
    ref = np.linalg.lstsq(aug, rhs, rcond=None)[0]
    for form in ("auto", "primal", "dual"):
        beta = solve_output_weights(H, Y, C, form=form)
        np.testing.assert_allclose(beta, ref, rtol=1e-8, atol=1e-10, err_msg=form)


def test_primal_and_dual_agree_when_hidden_exceeds_samples():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(40, 16)), rng.integers(0, 4, 40)
    elm = ELM(200, 10.0, seed=3).fit(X, y)               # L = 200 > N = 40: dual form
    H = elm.hidden(X)
    Y = np.eye(4)[y]
    np.testing.assert_allclose(elm.beta, solve_output_weights(H, Y, 10.0, form="primal"),
                               rtol=1e-7, atol=1e-9)


def test_bad_form():
    with pytest.raises(ParameterError, match="primal"):
        solve_output_weights(np.ones((3, 2)), np.ones((3, 1)), 1.0, form="inverse")


# --- the classifier ------------------------------------------------------------------------
def test_separates_two_moons():
    rng = np.random.default_rng(0)
    X, y = two_moons(800, 0.1, rng)
    elm = ELM(200, 100.0, seed=0).fit(X[:600], y[:600])
    acc = np.mean(elm.predict(X[600:]) == y[600:])
    assert acc > 0.95, f"held-out accuracy {acc:.3f}"


def test_outputs_shapes_and_probabilities():
    rng = np.random.default_rng(2)
    X, y = rng.random((50, 16)), rng.integers(0, 3, 50)
    elm = ELM(20, 1.0).fit(X, y, n_classes=4)              # class 3 absent, still a column
    O, proba = elm.decision_function(X), elm.predict_proba(X)
    assert O.shape == proba.shape == (50, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(proba.argmax(axis=1), elm.predict(X))
    assert elm.predict(X).shape == (50,)


def test_seeded_determinism():
    rng = np.random.default_rng(3)
    X, y = rng.random((60, 16)), rng.integers(0, 4, 60)
    a = ELM(30, 1.0, seed=5).fit(X, y)
    b = ELM(30, 1.0, seed=5).fit(X, y)
    c = ELM(30, 1.0, seed=6).fit(X, y)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    assert not np.allclose(a.A, c.A)


def test_state_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    X, y = rng.random((60, 16)), rng.integers(0, 4, 60)
    elm = ELM(30, 1.0, seed=5).fit(X, y)
    np.savez(tmp_path / "elm.npz", **elm.state())
    with np.load(tmp_path / "elm.npz") as data:
        back = ELM.from_state(data)
    assert (back.n_hidden, back.C, back.seed) == (30, 1.0, 5)
    np.testing.assert_array_equal(back.decision_function(X), elm.decision_function(X))


def test_select_elm_picks_best_validation_ua_and_smaller_on_ties():
    rng = np.random.default_rng(5)
    X, y = two_moons(600, 0.25, rng)
    best, table = select_elm(X[:300], y[:300], X[300:450], y[300:450],
                             hidden_grid=(5, 50), C_grid=(0.01, 1, 100), seed=0)
    assert len(table) == 6
    assert [(r["n_hidden"], r["C"]) for r in table] == [(5, 0.01), (5, 1.0), (5, 100.0),
                                                        (50, 0.01), (50, 1.0), (50, 100.0)]
    top = max(r["val_ua"] for r in table)
    winners = sorted((r["n_hidden"], r["C"]) for r in table if r["val_ua"] == top)
    assert (best.n_hidden, best.C) == winners[0]
    assert unweighted_accuracy(y[300:450], best.predict(X[300:450]), 2) == top


def test_select_elm_ties_go_to_the_smaller_model():
    # two far-apart clusters: every candidate classifies the validation points perfectly
    rng = np.random.default_rng(6)
    X = np.r_[rng.normal(-3, 0.1, (40, 1)), rng.normal(3, 0.1, (40, 1))]
    y = np.repeat([0, 1], 40)
    best, table = select_elm(X[::2], y[::2], X[1::2], y[1::2], hidden_grid=(100, 5, 20),
                             C_grid=(10, 0.1, 1), seed=0)
    assert all(r["val_ua"] == 1.0 for r in table)
    assert (best.n_hidden, best.C) == (5, 0.1)


def test_bad_n_hidden():
    with pytest.raises(ParameterError, match="n_hidden=0"):
        ELM(0, 1.0)


def test_bad_C():
    with pytest.raises(ParameterError, match="C=-1"):
        ELM(10, -1.0)


def test_bad_predict_before_fit():
    with pytest.raises(ParameterError, match="not fitted"):
        ELM(10, 1.0).predict(np.ones((2, 3)))


def test_bad_feature_count():
    elm = ELM(10, 1.0).fit(np.random.default_rng(0).random((20, 4)), np.arange(20) % 2)
    with pytest.raises(ParameterError, match="3 features but the ELM was fitted on 4"):
        elm.predict(np.ones((2, 3)))


def test_bad_labels():
    with pytest.raises(ParameterError, match="integer class indices"):
        ELM(10, 1.0).fit(np.ones((4, 2)), [0.5, 1, 0, 1])


def test_bad_state():
    with pytest.raises(ParameterError, match="lacks"):
        ELM.from_state({"A": np.ones((2, 3))})

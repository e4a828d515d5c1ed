"""The "Try it" exercises at the end of the docs pages: every answer the page gives is computed here.

An exercise is written on its page as ``**<id>.**`` (e.g. ``**dense-2.**``) and checked by the
test ``test_<id>`` of this file (``test_dense_2``); ``test_every_exercise_has_a_test`` fails on an
exercise without one, so a page cannot promise an answer nobody checks.
"""
import re
from pathlib import Path

import numpy as np

from numser.elm import solve_output_weights, utterance_functionals
from numser.models import build
from numser.nn import dense as dense_module
from numser.nn.adam import Adam
from numser.nn.dense import Dense
from numser.nn.dropout import Dropout
from numser.nn.gradcheck import check_layer
from numser.nn.loss import softmax, softmax_cross_entropy

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = re.compile(r"\*\*([a-z0-9]+-\d+)\.\*\*")


def exercises():
    """{exercise id: page} over every docs page."""
    found = {}
    for page in sorted((ROOT / "docs").glob("*.md")):
        for ex in EXERCISE.findall(page.read_text(encoding="utf-8")):
            assert ex not in found, f"exercise {ex} appears in {found.get(ex)} and {page.name}"
            found[ex] = page.name
    return found


def test_every_exercise_has_a_test():
    found = exercises()
    assert found, "no exercises found in docs/"
    missing = [f"{ex} ({page})" for ex, page in found.items()
               if "test_" + ex.replace("-", "_") not in globals()]
    assert not missing, "exercises without a test in tests/test_exercises.py: " + ", ".join(missing)


# --- dense_softmax.md --------------------------------------------------------------------------

def test_dense_1():
    z = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_allclose(softmax(z + 1000), softmax(z), rtol=1e-9)
    assert np.all(np.isfinite(softmax(z + 1000)))
    y = np.array([0, 1, 2])
    assert abs(softmax_cross_entropy(z + 1000, y)[0] - softmax_cross_entropy(z, y)[0]) < 1e-9


def test_dense_2():
    assert Dense(1024, 512).n_params() == 524_800
    fc = sum(Dense(i, o).n_params() for i, o in ((1024, 512), (512, 512), (512, 4)))
    assert fc == 789_508
    convs = (1 * 4 * 8 + 4) + 2 * (4 * 4 * 8 + 4)
    assert convs == 300
    assert build("3d-cnn-dnn", kernel=(2, 2, 2), depth=3).n_params() == fc + convs == 789_808


def test_dense_3(monkeypatch):
    x = np.random.default_rng(1).standard_normal((5, 8))
    good = check_layer(Dense(8, 8), x)
    assert max(good.values()) < 1e-6

    def broken(dout, cache):
        dx, dW, db = dense_backward(dout, cache)
        _, W = cache
        return dout.reshape(-1, W.shape[1]) @ W, dW, db          # W where W.T belongs

    dense_backward = dense_module.dense_backward
    monkeypatch.setattr(dense_module, "dense_backward", broken)
    bad = check_layer(Dense(8, 8), x)
    assert bad["x"] > 0.1 and bad["W"] < 1e-6 and bad["b"] < 1e-6


# --- dropout.md --------------------------------------------------------------------------------

def test_dropout_1():
    x = np.ones(100_000, dtype=np.float32)
    layer = Dropout(0.5, rng=np.random.default_rng(0))
    y = layer.forward(x, train=True)
    assert set(np.unique(y)) == {0.0, 2.0}
    assert abs(y.mean() - 1.0) < 0.01
    np.testing.assert_array_equal(layer.forward(x, train=False), x)


def test_dropout_2():
    layer = Dropout(0.5, rng=np.random.default_rng(0))
    x = np.random.default_rng(2).standard_normal((64, 32)).astype(np.float32) + 5.0   # never 0
    y = layer.forward(x, train=True)
    dx = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx == 0, y == 0)


# --- adam.md -----------------------------------------------------------------------------------

def test_adam_1():
    rng = np.random.default_rng(3)
    for scale in (1e-2, 1.0, 1e3):           # |g| ≫ ε = 1e-8
        p = rng.standard_normal(100)
        g = scale * rng.standard_normal(100)
        before = p.copy()
        Adam(lr=3e-3).step([(p, g)])
        np.testing.assert_allclose(np.abs(p - before), 3e-3, rtol=1e-3)


def test_adam_2():
    rng = np.random.default_rng(4)
    grads = [rng.standard_normal(10) for _ in range(5)]
    runs = []
    for scale in (1.0, 1000.0):
        p, opt = np.zeros(10), Adam(lr=3e-3)
        for g in grads:
            opt.step([(p, scale * g)])
        runs.append(p)
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-4)     # equal up to ε


# --- elm.md ------------------------------------------------------------------------------------

def test_elm_1():
    rng = np.random.default_rng(5)
    H, Y = rng.standard_normal((40, 6)), rng.standard_normal((40, 3))
    ols = np.linalg.lstsq(H, Y, rcond=None)[0]
    np.testing.assert_allclose(solve_output_weights(H, Y, 1e12), ols, rtol=1e-6, atol=1e-8)
    assert np.abs(solve_output_weights(H, Y, 1e-12)).max() < 1e-9


def test_elm_2():
    f = utterance_functionals(np.full((10, 4), 0.25))
    np.testing.assert_allclose(np.ravel(f), [0.25, 0.25, 0.25, 1.0] * 4)

"""The "Try it" exercises at the end of the docs pages: every answer the page gives is computed here.

An exercise is written on its page as ``**<id>.**`` (e.g. ``**dense-2.**``) and checked by the
test ``test_<id>`` of this file (``test_dense_2``); ``test_every_exercise_has_a_test`` fails on an
exercise without one, so a page cannot promise an answer nobody checks.
"""
import re
from pathlib import Path

import numpy as np

from numser.elm import solve_output_weights, utterance_functionals
from numser.lld import rms_energy, zero_crossing_rate
from numser.metrics import accuracy, collapse, confusion_matrix, macro_f1, unweighted_accuracy
from numser.models import build
from numser.nn import conv as conv_module
from numser.nn import dense as dense_module
from numser.nn import lstm as lstm_module
from numser.nn.adam import Adam
from numser.nn.conv import Conv3D, same_padding
from numser.nn.dense import Dense
from numser.nn.dropout import Dropout
from numser.nn.gradcheck import check_layer
from numser.nn.loss import softmax, softmax_cross_entropy
from numser.nn.lstm import LSTM
from numser.nn.pool import MaxPool3D
from numser.stats import minimum_p_value, wilcoxon
from numser.stft import log_spectrogram

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


# --- conv3d.md ---------------------------------------------------------------------------------

def test_conv3d_1():
    assert same_padding((3, 3, 5)) == ((1, 1), (1, 1), (2, 2))
    x = np.random.default_rng(6).standard_normal((2, 4, 10, 10, 256)).astype(np.float32)
    assert Conv3D(4, 4, (3, 3, 5)).forward(x).shape == (2, 4, 10, 10, 256)
    assert Conv3D(4, 4, (3, 3, 5), padding="valid").forward(x).shape == (2, 4, 8, 8, 252)


def test_conv3d_2(monkeypatch):
    x = np.random.default_rng(7).standard_normal((1, 2, 3, 3, 4))
    real = conv_module.conv3d_backward
    errors = {}
    for flip in (False, True):
        def dx_as_correlation(dout, cache, flip=flip):
            _, dw, db = real(dout, cache)
            kernel = cache["w"].transpose(1, 0, 2, 3, 4)          # (C, F, kL, kT, kS)
            if flip:
                kernel = kernel[:, :, ::-1, ::-1, ::-1]
            dx, _ = conv_module.conv3d_forward(dout, np.ascontiguousarray(kernel),
                                               np.zeros(kernel.shape[0]), cache["pad"])
            return dx, dw, db

        monkeypatch.setattr(conv_module, "conv3d_backward", dx_as_correlation)
        errors[flip] = check_layer(Conv3D(2, 3, 3, dtype=np.float64), x, max_entries=40)
    assert errors[False]["x"] > 0.5 and errors[False]["W"] < 1e-6 and errors[False]["b"] < 1e-6
    assert max(errors[True].values()) < 1e-6


def test_conv3d_3():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 4, 5, 5, 128))
    pool = MaxPool3D((2, 2, 2))
    y = pool.forward(x)
    assert y.shape == (2, 4, 2, 2, 64)
    dx = pool.backward(rng.standard_normal(y.shape))
    nonzero = np.count_nonzero(dx) / (2 * 4)                      # per (n, c)
    assert nonzero == 256 and nonzero / (5 * 5 * 128) == 0.08


# --- lstm.md -----------------------------------------------------------------------------------

def test_lstm_1():
    assert LSTM(32, 256).n_params() == 295_936
    assert LSTM(32, 128).n_params() == 82_432


def test_lstm_2(monkeypatch):
    forward_step, backward_step = lstm_module._KERNELS["numpy"]

    def without_recurrence(dy, dh_rec, *rest):
        dh_rec[...] = 0.0                                         # drop δa_(t+1) Uᵀ
        backward_step(dy, dh_rec, *rest)

    monkeypatch.setitem(lstm_module._KERNELS, "numpy", (forward_step, without_recurrence))
    rng = np.random.default_rng(9)
    one = check_layer(LSTM(3, 4, dtype=np.float64, kernel="numpy"), rng.standard_normal((2, 1, 3)))
    assert max(one.values()) < 1e-6
    five = check_layer(LSTM(3, 4, dtype=np.float64, kernel="numpy"), rng.standard_normal((2, 5, 3)))
    assert min(five.values()) > 1e-2 and max(five.values()) < 0.1, five       # "a few per cent"
    assert one["U"] == 0.0


# --- wilcoxon.md -------------------------------------------------------------------------------

def test_wilcoxon_1():
    a = np.array([0.61, 0.55, 0.70, 0.58, 0.64])
    b = a - np.array([0.01, 0.20, 0.03, 0.15, 0.08])               # A wins every fold
    assert wilcoxon(a, b).pvalue == 0.0625
    assert wilcoxon(a, b, alternative="greater").pvalue == 0.03125


def test_wilcoxon_2():
    assert minimum_p_value(7) > 0.01 > minimum_p_value(8) == 2 / 256
    assert wilcoxon(np.arange(1.0, 9.0)).pvalue == 2 / 256


def test_wilcoxon_3():
    result = wilcoxon(np.array([0.1, -0.2, 0.3, 0.4, 0.5]))
    assert result.statistic == 2 and result.method == "exact"
    assert abs(result.pvalue - 6 / 32) < 1e-15


# --- metrics.md --------------------------------------------------------------------------------

CM = np.array([[45, 5, 0, 0], [10, 10, 0, 0], [5, 0, 5, 0], [0, 0, 0, 20]])
Y_TRUE = np.repeat(np.arange(4), CM.sum(axis=1))
Y_PRED = np.concatenate([np.repeat(np.arange(4), row) for row in CM])


def test_metrics_1():
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED), CM)
    assert abs(unweighted_accuracy(Y_TRUE, Y_PRED) - 0.725) < 1e-12
    assert abs(accuracy(Y_TRUE, Y_PRED) - 0.80) < 1e-12
    f1 = np.mean([90 / 110, 20 / 35, 10 / 15, 40 / 40])
    assert abs(macro_f1(Y_TRUE, Y_PRED) - f1) < 1e-12 and round(f1, 3) == 0.764


def test_metrics_2():
    neutral = np.zeros_like(Y_TRUE)
    assert unweighted_accuracy(Y_TRUE, neutral) == 0.25
    assert accuracy(Y_TRUE, neutral) == 0.5
    assert collapse(neutral) == {"collapsed": True, "majority_class": 0, "majority_share": 1.0}


# --- stft.md -----------------------------------------------------------------------------------

def test_stft_1():
    y = np.random.default_rng(10).standard_normal(32_000)
    assert log_spectrogram(y).shape == (100, 256)
    assert log_spectrogram(y, hop_length=160).shape == (200, 256)


# --- lld.md ------------------------------------------------------------------------------------

SINE = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(32_000) / 16_000 + 0.1)


def test_lld_1():
    zcr = zero_crossing_rate(SINE)
    np.testing.assert_allclose(zcr, 49 / 399, rtol=1e-12)
    assert abs(zcr.mean() - 2 * 1000 / 16_000) < 0.003


def test_lld_2():
    np.testing.assert_allclose(rms_energy(SINE), 0.5 / np.sqrt(2), rtol=1e-12)

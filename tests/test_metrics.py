"""UA, confusion matrices and per-speaker UA against hand-computed cases and the plain formulas."""
import warnings

import numpy as np
import pytest

from numser import ParameterError
from numser.metrics import (accuracy, collapse, confusion_matrix, macro_f1, per_speaker_ua,
                            prediction_scores, row_normalised, task_scores, unweighted_accuracy)


def balanced_accuracy_reference(y_true, y_pred):
    """scikit-learn's balanced_accuracy_score written out: mean recall over the classes of y_true."""
    recalls = []
    for k in np.unique(y_true):
        recalls.append(np.sum((y_true == k) & (y_pred == k)) / np.sum(y_true == k))
    return float(np.mean(recalls))


def test_confusion_matrix_hand_case():
    y_true = [0, 0, 0, 1, 1, 2, 3, 3]
    y_pred = [0, 1, 0, 1, 1, 3, 3, 0]
    expected = np.array([[2, 1, 0, 0],
                         [0, 2, 0, 0],
                         [0, 0, 0, 1],
                         [1, 0, 0, 1]])
    cm = confusion_matrix(y_true, y_pred)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, expected)


def test_ua_hand_case():
    # recalls: neutral 2/3, happy 2/2, sad 0/1, angry 1/2 -> mean 13/24; plain accuracy 5/8
    y_true = [0, 0, 0, 1, 1, 2, 3, 3]
    y_pred = [0, 1, 0, 1, 1, 3, 3, 0]
    assert unweighted_accuracy(y_true, y_pred) == pytest.approx((2 / 3 + 1 + 0 + 0.5) / 4, abs=1e-15)
    assert accuracy(y_true, y_pred) == pytest.approx(5 / 8, abs=1e-15)


def test_ua_skips_absent_classes():
    # only neutral and sad occur; a prediction of 'happy' is still a valid (wrong) prediction
    y_true = [0, 0, 2, 2, 2, 2]
    y_pred = [0, 1, 2, 2, 2, 0]
    assert unweighted_accuracy(y_true, y_pred) == pytest.approx((1 / 2 + 3 / 4) / 2, abs=1e-15)


def test_all_neutral_classifier_has_chance_ua():
    # the paper's depth-2 3D CNN: every sample called neutral gives UA .25 whatever the proportions
    rng = np.random.default_rng(0)
    y_true = rng.choice(4, size=1000, p=[0.55, 0.15, 0.15, 0.15])
    y_pred = np.zeros_like(y_true)
    assert unweighted_accuracy(y_true, y_pred) == pytest.approx(0.25, abs=1e-15)
    assert accuracy(y_true, y_pred) == pytest.approx(np.mean(y_true == 0), abs=1e-15)


@pytest.mark.parametrize("seed", range(50))
def test_ua_equals_balanced_accuracy_formula(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    n_present = int(rng.integers(1, 5))
    classes = rng.choice(4, size=n_present, replace=False)
    y_true = rng.choice(classes, size=n)
    y_pred = rng.integers(0, 4, size=n)
    assert unweighted_accuracy(y_true, y_pred) == pytest.approx(
        balanced_accuracy_reference(y_true, y_pred), abs=1e-14)
    cm = confusion_matrix(y_true, y_pred)
    assert cm.sum() == n
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(y_true, minlength=4))
    np.testing.assert_array_equal(cm.sum(axis=0), np.bincount(y_pred, minlength=4))


def test_row_normalised_percentages_and_nan_rows():
    cm = np.array([[2, 1, 0, 1],
                   [0, 0, 0, 0],
                   [0, 0, 3, 1],
                   [1, 0, 0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no division warning for the absent class
        out = row_normalised(cm)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out[0], [50, 25, 0, 25], atol=1e-12)
    assert np.all(np.isnan(out[1]))
    np.testing.assert_allclose(out[2], [0, 0, 75, 25], atol=1e-12)
    np.testing.assert_allclose(out[3], [100, 0, 0, 0], atol=1e-12)
    # the diagonal is the recall, so its mean over the present rows is the UA
    assert np.nanmean(np.diag(out)) / 100 == pytest.approx((0.5 + 0.75 + 0) / 3, abs=1e-15)


def test_per_speaker_ua_hand_case():
    y_true = [0, 1, 0, 1, 2, 2, 3]
    y_pred = [0, 0, 0, 1, 2, 3, 3]
    speakers = ["a:1", "a:1", "b:2", "b:2", "b:2", "b:2", "a:1"]
    ua = per_speaker_ua(y_true, y_pred, speakers)
    assert list(ua) == ["a:1", "b:2"]
    assert ua["a:1"] == pytest.approx((1 + 0 + 1) / 3, abs=1e-15)
    assert ua["b:2"] == pytest.approx((1 + 1 + 0.5) / 3, abs=1e-15)


def test_per_speaker_ua_matches_masked_ua():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 4, 300)
    y_pred = rng.integers(0, 4, 300)
    speakers = rng.choice([f"c:{i:02d}" for i in range(12)], 300)
    ua = per_speaker_ua(y_true, y_pred, speakers)
    for s, value in ua.items():
        m = speakers == s
        assert value == pytest.approx(balanced_accuracy_reference(y_true[m], y_pred[m]), abs=1e-14)


def test_bad_label_outside_classes():
    with pytest.raises(ParameterError, match="outside the classes 0..3"):
        unweighted_accuracy([0, 1, 4], [0, 1, 2])


def test_bad_negative_label():
    with pytest.raises(ParameterError, match="-1"):
        confusion_matrix([0, 1, 2], [0, -1, 2])


def test_bad_unequal_lengths():
    with pytest.raises(ParameterError, match="3 labels but y_pred has 2"):
        unweighted_accuracy([0, 1, 2], [0, 1])


def test_bad_empty():
    with pytest.raises(ParameterError, match="empty"):
        unweighted_accuracy([], [])


def test_bad_2d_labels():
    with pytest.raises(ParameterError, match="argmax"):
        unweighted_accuracy(np.eye(4), np.eye(4))


def test_bad_float_labels():
    with pytest.raises(ParameterError, match="non-integer"):
        unweighted_accuracy([0.5, 1.0], [0, 1])


def test_bad_n_classes():
    with pytest.raises(ParameterError, match="n_classes=0"):
        confusion_matrix([0], [0], n_classes=0)


def test_bad_row_normalised_shape():
    with pytest.raises(ParameterError, match="square"):
        row_normalised(np.ones((3, 4)))


def test_bad_speakers_length():
    with pytest.raises(ParameterError, match="one speaker id per utterance"):
        per_speaker_ua([0, 1], [0, 1], ["a:1"])


def test_macro_f1_hand_case():
    # true  0 0 0 1 1 2 3 3 ; pred 0 0 1 1 1 3 3 0
    # F1: class 0: P 2/3 R 2/3 → 2/3; class 1: P 2/3 R 1 → .8; class 2: 0; class 3: P 1/2 R 1/2 → .5
    y_true, y_pred = [0, 0, 0, 1, 1, 2, 3, 3], [0, 0, 1, 1, 1, 3, 3, 0]
    assert macro_f1(y_true, y_pred) == pytest.approx((2 / 3 + .8 + 0 + .5) / 4, abs=1e-15)


@pytest.mark.parametrize("seed", range(5))
def test_macro_f1_equals_the_f1_formula_over_present_classes(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 3, 50)          # class 3 absent from y_true, sometimes predicted
    y_pred = rng.integers(0, 4, 50)
    f1 = []
    for k in range(3):
        tp = np.sum((y_true == k) & (y_pred == k))
        p = tp / max(1, np.sum(y_pred == k))
        r = tp / np.sum(y_true == k)
        f1.append(0.0 if p + r == 0 else 2 * p * r / (p + r))
    assert macro_f1(y_true, y_pred) == pytest.approx(np.mean(f1), abs=1e-12)


def test_collapse_threshold_and_class():
    y_pred = [2] * 19 + [0]                                    # 95 % sad
    assert collapse(y_pred) == {"collapsed": True, "majority_class": 2, "majority_share": .95}
    assert not collapse([2] * 18 + [0, 1])["collapsed"]        # 90 %
    scores = task_scores([0, 1, 2, 3] * 5, y_pred)
    # every sad utterance is recognised, nothing else: UA 1/4, WA 5/20
    assert scores["collapsed"] and scores["test_ua"] == pytest.approx(.25)
    assert scores["wa"] == pytest.approx(5 / 20)


def test_prediction_scores_per_speaker_and_per_corpus():
    y_true, y_pred = [0, 1, 0, 1, 2, 3], [0, 0, 0, 1, 2, 2]
    speakers = ["a:1", "a:1", "a:2", "a:2", "b:1", "b:1"]
    s = prediction_scores(y_true, y_pred, speakers)
    assert s["per_speaker_ua"] == {"a:1": .5, "a:2": 1.0, "b:1": .5}
    assert s["per_corpus_ua"] == {"a": pytest.approx(.75), "b": .5}    # classes 0, 1 / 2, 3
    assert s["confusion"][3] == [0, 0, 1, 0] and s["test_ua"] == task_scores(y_true, y_pred)["test_ua"]
    with pytest.raises(ParameterError, match="one speaker id per utterance"):
        prediction_scores(y_true, y_pred, speakers[:-1])

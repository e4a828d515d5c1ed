"""FEELTRACE mapping of valence/arousal traces onto the four classes (docs/spec.md §1, paper Table 2)."""
import numpy as np
import pytest

from numser import CLASSES, ParameterError
from numser.corpora import LANDMARKS, feeltrace_distances, feeltrace_label


def test_landmarks_are_table_2_in_class_order():
    table2 = {"neutral": (0.0, 0.0), "happy": (0.74, 0.52), "angry": (-0.77, 0.75),
              "sad": (-0.70, -0.48)}
    np.testing.assert_array_equal(LANDMARKS, [table2[c] for c in CLASSES])


@pytest.mark.parametrize("k", range(4))
def test_a_trace_sitting_on_a_landmark_gets_its_class(k):
    v, a = LANDMARKS[k]
    assert feeltrace_label([v, v], [a, a]) == k


def test_distances_by_hand():
    # Two samples: (0, 0) and (0.74, 0.52); neutral and happy are each 0 from one and
    # |happy| = sqrt(0.74² + 0.52²) from the other.
    d = feeltrace_distances([0.0, 0.74], [0.0, 0.52])
    r = np.hypot(0.74, 0.52)
    assert d[0] == pytest.approx(r / 2) and d[1] == pytest.approx(r / 2)
    sad = (np.hypot(0.70, 0.48) + np.hypot(0.74 + 0.70, 0.52 + 0.48)) / 2
    assert d[2] == pytest.approx(sad)


def test_averages_distances_not_points():
    """A trace at happy, at angry, then at (0.1, 0.5): its mean point (0.023, 0.59) is nearest to
    neutral (0.59 vs happy 0.72), but the average distance is smallest for happy
    (happy 0.723, angry 0.811, neutral 0.830)."""
    valence = np.array([0.74, -0.77, 0.1])
    arousal = np.array([0.52, 0.75, 0.5])
    mean_point = np.array([valence.mean(), arousal.mean()])
    by_mean_point = int(np.argmin(np.linalg.norm(LANDMARKS - mean_point, axis=1)))
    assert CLASSES[by_mean_point] == "neutral"
    assert CLASSES[feeltrace_label(valence, arousal)] == "happy"
    d = feeltrace_distances(valence, arousal)
    by_hand = [np.mean([np.hypot(v - lv, a - la) for v, a in zip(valence, arousal)])
               for lv, la in LANDMARKS]
    np.testing.assert_allclose(d, by_hand, rtol=1e-12)


def test_scalar_sample_and_lists():
    assert feeltrace_label(-0.6, -0.5) == CLASSES.index("sad")
    assert feeltrace_label([-0.8, -0.6], [0.9, 0.6]) == CLASSES.index("angry")


@pytest.mark.parametrize("v, a, message", [
    ([0.1, 0.2], [0.1], "same 1-D shape"), ([], [], "empty"), ([np.nan], [0.0], "NaN"),
    ([[0.1]], [[0.1]], "same 1-D shape")])
def test_bad_traces(v, a, message):
    with pytest.raises(ParameterError, match=message):
        feeltrace_label(v, a)

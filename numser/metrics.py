"""Unweighted accuracy and confusion matrices, the evaluation measures of docs/spec.md §6 (paper Section 5)."""
import numpy as np

from numser.errors import ParameterError


def _labels(y_true, y_pred, n_classes):
    """Validate a pair of label vectors; return them as int64 arrays of shape (N,)."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise ParameterError(f"n_classes={n_classes!r}: must be an integer >= 1 (numser uses 4)")
    arrays = []
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        y = np.asarray(y)
        if y.ndim != 1:
            raise ParameterError(f"{name} has shape {y.shape}: expected a 1-D vector of class "
                                 "indices (N,); take argmax over classes first")
        if y.size and not (np.issubdtype(y.dtype, np.integer)
                           or (np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)))):
            raise ParameterError(f"{name} has dtype {y.dtype} with non-integer values: expected "
                                 "class indices 0..n_classes-1")
        y = y.astype(np.int64)
        bad = (y < 0) | (y >= n_classes)
        if np.any(bad):
            raise ParameterError(f"{name} contains {y[bad][0]}, outside the classes 0..{n_classes - 1}"
                                 f" (n_classes={n_classes}); pass the right n_classes")
        arrays.append(y)
    if arrays[0].shape != arrays[1].shape:
        raise ParameterError(f"y_true has {arrays[0].size} labels but y_pred has {arrays[1].size}:"
                             " they must pair one prediction with one true label")
    if arrays[0].size == 0:
        raise ParameterError("y_true is empty: accuracy of no utterances is undefined")
    return arrays


def confusion_matrix(y_true, y_pred, n_classes=4):
    """Count how often true class i was predicted as class j.

    Equation
    --------
    ``cm[i, j] = #{n : y_true[n] = i and y_pred[n] = j}``, for i, j in 0..K-1.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        True and predicted class indices in 0..K-1.
    n_classes : int >= 1
        K, the number of classes (4 in numser, docs/spec.md §1).

    Returns
    -------
    cm : ndarray of int64, shape (K, K)
        Rows are true classes, columns predicted classes; ``cm.sum() == N``.

    Raises
    ------
    ParameterError
        Labels not 1-D, of unequal length, empty, or outside 0..K-1.
    """
    t, p = _labels(y_true, y_pred, n_classes)
    # One bincount over the flattened (i, j) cell index instead of a K x K loop.
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes)


def row_normalised(cm):
    """Each row of a confusion matrix as percentages of its true class (Table 5 of the paper).

    Equation
    --------
    ``out[i, j] = 100 · cm[i, j] / Σ_j' cm[i, j']``; the diagonal is the recall of class i in %.

    Parameters
    ----------
    cm : array_like, shape (K, K)
        Counts, rows = true classes (from :func:`confusion_matrix`, or a sum of them over folds).

    Returns
    -------
    out : ndarray of float64, shape (K, K)
        Row percentages. A row whose class never occurs (row sum 0) is all NaN: its recall is
        undefined, not 0 % (and no division warning is raised).

    Raises
    ------
    ParameterError
        ``cm`` not square 2-D, or with negative entries.
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ParameterError(f"cm has shape {cm.shape}: expected a square (K, K) confusion matrix")
    if np.any(cm < 0):
        raise ParameterError("cm has negative entries: expected counts")
    totals = cm.sum(axis=1, keepdims=True)                      # (K, 1)
    out = np.full_like(cm, np.nan)
    np.divide(100.0 * cm, totals, out=out, where=totals > 0)    # absent rows stay NaN
    return out


def unweighted_accuracy(y_true, y_pred, n_classes=4):
    """Unweighted accuracy (UA): the mean over the classes present in ``y_true`` of their recall.

    Equation
    --------
    ``UA = (1/|P|) Σ_{k ∈ P} cm[k, k] / Σ_j cm[k, j]`` with ``P = {k : Σ_j cm[k, j] > 0}``, the
    classes that occur in ``y_true``. This is scikit-learn's ``balanced_accuracy_score``
    (without its ``adjusted`` option). Chance level is 1/|P| whatever the class proportions.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        True and predicted class indices in 0..K-1.
    n_classes : int >= 1
        K (4 in numser).

    Returns
    -------
    ua : float
        In [0, 1].

    Raises
    ------
    ParameterError
        Labels not 1-D, of unequal length, empty, or outside 0..K-1.

    Notes
    -----
    docs/spec.md §6 / paper Section 5: UA "considers the imbalanced distribution of the classes". A class
    absent from the test set has no recall and is left out of the mean rather than counted as 0.
    """
    cm = confusion_matrix(y_true, y_pred, n_classes)
    support = cm.sum(axis=1)                    # (K,) utterances per true class
    present = support > 0
    return float(np.mean(np.diag(cm)[present] / support[present]))


def accuracy(y_true, y_pred, n_classes=4):
    """Plain (weighted) accuracy: the fraction of utterances classified correctly.

    Equation
    --------
    ``WA = Σ_k cm[k, k] / N``; classes weigh by their frequency, which is why numser reports UA.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
    n_classes : int >= 1

    Returns
    -------
    wa : float
        In [0, 1].

    Raises
    ------
    ParameterError
        As :func:`confusion_matrix`.
    """
    cm = confusion_matrix(y_true, y_pred, n_classes)
    return float(np.trace(cm) / cm.sum())


def per_speaker_ua(y_true, y_pred, speakers, n_classes=4):
    """UA of every test speaker separately: the pairing unit of the per-speaker Wilcoxon test.

    Equation
    --------
    ``UA_s = UA(y_true[speakers == s], y_pred[speakers == s])`` for every distinct speaker s.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        True and predicted class indices.
    speakers : array_like, shape (N,)
        The speaker id of each utterance (namespaced like ``"emodb:03"``).
    n_classes : int >= 1
        K (4 in numser).

    Returns
    -------
    ua : dict
        ``{speaker: UA_s}``, keys in sorted order, so two classifiers evaluated on the same
        utterances give dicts whose values pair up position by position.

    Raises
    ------
    ParameterError
        As :func:`confusion_matrix`, or ``speakers`` not of length N.

    Notes
    -----
    docs/spec.md §6: 5 fold-level UAs can never reach p < .01 in a two-sided Wilcoxon test, per-speaker
    UAs can. Each speaker's UA is over the classes that speaker actually produced.
    """
    t, p = _labels(y_true, y_pred, n_classes)
    speakers = np.asarray(speakers)
    if speakers.shape != t.shape:
        raise ParameterError(f"speakers has shape {speakers.shape} but there are {t.size} labels: "
                             "give one speaker id per utterance")
    return {s: unweighted_accuracy(t[speakers == s], p[speakers == s], n_classes)
            for s in sorted(set(speakers.tolist()))}


def macro_f1(y_true, y_pred, n_classes=4):
    """Macro-F1: the mean over the classes present in ``y_true`` of their F1 score.

    Equation
    --------
    ``P_k = cm[k, k] / Σ_i cm[i, k]`` (precision; 0 when k is never predicted),
    ``R_k = cm[k, k] / Σ_j cm[k, j]`` (recall), ``F1_k = 2 P_k R_k / (P_k + R_k)`` (0 when both are
    0), ``macro-F1 = (1/|P|) Σ_{k ∈ P} F1_k`` with ``P`` the classes present in ``y_true``, as
    :func:`unweighted_accuracy` averages over them. Equals scikit-learn's
    ``f1_score(average='macro', labels=<classes present in y_true>, zero_division=0)``.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
    n_classes : int >= 1

    Returns
    -------
    f1 : float
        In [0, 1]. A classifier that predicts one class for everything scores at most
        ``2 N_k / (N + N_k) / |P|`` (its class k's F1 over |P| classes).

    Raises
    ------
    ParameterError
        As :func:`confusion_matrix`.
    """
    cm = confusion_matrix(y_true, y_pred, n_classes).astype(np.float64)
    support, predicted, hit = cm.sum(axis=1), cm.sum(axis=0), np.diag(cm)
    present = support > 0
    # F1 = 2·hit / (support + predicted): the same as 2PR/(P+R), without the 0/0 cases
    f1 = np.divide(2.0 * hit, support + predicted, out=np.zeros_like(hit),
                   where=(support + predicted) > 0)
    return float(np.mean(f1[present]))


#: A task whose test predictions put at least this share of the utterances in one class has
#: collapsed: the network gives (almost) the same answer whatever it hears.
COLLAPSE_SHARE = 0.95


def collapse(y_pred, n_classes=4, share=COLLAPSE_SHARE):
    """Whether predictions have collapsed onto one class, which class, and its share.

    Equation
    --------
    ``k* = argmax_k #{n : ŷ_n = k}``, ``s = #{n : ŷ_n = k*} / N``; collapsed iff ``s ≥ share``.

    Parameters
    ----------
    y_pred : array_like of int, shape (N,), N >= 1
    n_classes : int >= 1
    share : float in (0, 1]

    Returns
    -------
    dict
        ``{"collapsed": bool, "majority_class": int, "majority_share": float}``.

    Raises
    ------
    ParameterError
        As :func:`confusion_matrix` for ``y_pred``.
    """
    _, p = _labels(y_pred, y_pred, n_classes)
    counts = np.bincount(p, minlength=n_classes)
    k = int(np.argmax(counts))
    s = float(counts[k] / p.size)
    return {"collapsed": bool(s >= share), "majority_class": k, "majority_share": s}


def task_scores(y_true, y_pred, n_classes=4):
    """Every per-task score numser records: UA, WA, macro-F1 and the collapse check.

    Returns
    -------
    dict
        ``test_ua`` (:func:`unweighted_accuracy`), ``wa`` (:func:`accuracy`), ``macro_f1``
        (:func:`macro_f1`), ``collapsed``, ``majority_class``, ``majority_share``
        (:func:`collapse`).
    """
    return {"test_ua": unweighted_accuracy(y_true, y_pred, n_classes),
            "wa": accuracy(y_true, y_pred, n_classes),
            "macro_f1": macro_f1(y_true, y_pred, n_classes),
            **collapse(y_pred, n_classes)}


def prediction_scores(y_true, y_pred, speakers, n_classes=4):
    """Every score a task file records of its test predictions: :func:`task_scores`, then

    ``per_speaker_ua`` (:func:`per_speaker_ua`), ``per_corpus_ua`` (the UA over each corpus's
    utterances, the corpus being a speaker id's part before ``':'``) and ``confusion``
    (:func:`confusion_matrix`, as nested lists). numser.tasks scores every task with it; a
    script that changes test labels rescores a task with it the same way.

    Raises
    ------
    ParameterError
        As :func:`per_speaker_ua`.
    """
    t, p = _labels(y_true, y_pred, n_classes)
    corpora = np.array([s.split(":")[0] for s in np.asarray(speakers).tolist()])
    return {**task_scores(t, p, n_classes),
            "per_speaker_ua": per_speaker_ua(t, p, speakers, n_classes),
            "per_corpus_ua": {c: unweighted_accuracy(t[corpora == c], p[corpora == c], n_classes)
                              for c in sorted(set(corpora.tolist()))},
            "confusion": confusion_matrix(t, p, n_classes).tolist()}

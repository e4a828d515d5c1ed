"""Valence/arousal traces mapped onto the four classes with the FEELTRACE landmarks (docs/spec.md §1)."""
import numpy as np

from numser import CLASSES, ParameterError

#: (valence, arousal) of each class in ``numser.CLASSES`` order (paper Table 2).
LANDMARKS = np.array([[0.00, 0.00],     # neutral
                      [0.74, 0.52],     # happy
                      [-0.70, -0.48],   # sad
                      [-0.77, 0.75]])   # angry


def feeltrace_distances(valence, arousal):
    """Average Euclidean distance of a segment's trace to each landmark.

    Equation
    --------
    ``d_k = (1/T) Σ_t sqrt((v_t - V_k)² + (a_t - A_k)²)``, where ``(v_t, a_t)`` is the t-th of the
    T trace samples of the segment and ``(V_k, A_k)`` the landmark of class k (``LANDMARKS[k]``).

    Parameters
    ----------
    valence, arousal : array_like, shape (T,)
        The segment's trace samples, T ≥ 1, finite; a scalar counts as T = 1.

    Returns
    -------
    ndarray, shape (4,), float64
        ``d_k`` for the classes neutral, happy, sad, angry.

    Raises
    ------
    ParameterError
        Different lengths, an empty trace, or a non-finite sample.
    """
    v = np.atleast_1d(np.asarray(valence, dtype=np.float64))
    a = np.atleast_1d(np.asarray(arousal, dtype=np.float64))
    if v.ndim != 1 or v.shape != a.shape:
        raise ParameterError(f"valence shape {v.shape} and arousal shape {a.shape} must be the "
                             f"same 1-D shape (one sample per time step)")
    if v.size == 0:
        raise ParameterError("empty valence/arousal trace; a segment needs at least one sample")
    if not (np.isfinite(v).all() and np.isfinite(a).all()):
        raise ParameterError("valence/arousal trace contains NaN or inf; drop or interpolate "
                             "those samples first")
    points = np.stack([v, a], axis=1)                                    # (T, 2)
    diff = points[:, None, :] - LANDMARKS[None, :, :]                    # (T, 4, 2)
    return np.sqrt((diff ** 2).sum(axis=2)).mean(axis=0)                 # (4,)


def feeltrace_label(valence, arousal):
    """The class whose landmark has the smallest average distance to the segment's trace.

    Equation
    --------
    ``label = argmin_k d_k`` with ``d_k`` from :func:`feeltrace_distances`. This averages
    distances, not points: the distance of the mean point ``(v̄, ā)`` can pick another class.

    Parameters
    ----------
    valence, arousal : array_like, shape (T,)
        The segment's trace samples.

    Returns
    -------
    int
        Index into ``numser.CLASSES``; a tie goes to the earlier class.

    Raises
    ------
    ParameterError
        As :func:`feeltrace_distances`.

    Notes
    -----
    docs/spec.md §1 and paper Section 3 / Table 2 (SEMAINE and RECOLA segments).
    """
    return int(np.argmin(feeltrace_distances(valence, arousal)))


assert len(LANDMARKS) == len(CLASSES)

"""Softmax and the categorical cross-entropy loss every model of docs/spec.md §3–4 is trained with (§6)."""
import numpy as np

from numser.errors import ParameterError


def softmax(logits):
    """Class posteriors p = softmax(z) along the last axis, computed stably.

    Equation
    --------
    For logits z ∈ R^K and m = max_k z_k:  p_k = e^(z_k − m) / Σ_j e^(z_j − m).
    Subtracting m changes nothing mathematically and keeps every exponent ≤ 0 (no overflow).

    Parameters
    ----------
    logits : np.ndarray, shape (..., K), float32 or float64

    Returns
    -------
    np.ndarray, shape and dtype of logits; each row sums to 1.
    """
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(logits):
    """log p_k = (z_k − m) − log Σ_j e^(z_j − m), the log-sum-exp form (see :func:`softmax`)."""
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _check_labels(logits, y):
    """Broadcast integer labels y against logits (..., K); raise ParameterError on a mismatch."""
    if not isinstance(logits, np.ndarray) or not np.issubdtype(logits.dtype, np.floating) \
            or logits.ndim not in (2, 3):
        raise ParameterError("softmax_cross_entropy: logits must be a float array (N, K) or "
                             f"(N, T, K), got {getattr(logits, 'shape', type(logits).__name__)}")
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer):
        raise ParameterError(f"softmax_cross_entropy: labels must be integer class indices, got "
                             f"dtype {y.dtype}; pass y.astype(np.int64)")
    N, K = logits.shape[0], logits.shape[-1]
    if y.shape == (N,) and logits.ndim == 3:
        y = np.broadcast_to(y[:, None], logits.shape[:2])   # (N, T): utterance label at every step
    if y.shape != logits.shape[:-1]:
        raise ParameterError(f"softmax_cross_entropy: labels of shape {y.shape} do not match "
                             f"logits of shape {logits.shape}; expected {logits.shape[:-1]}"
                             + (f" or ({N},)" if logits.ndim == 3 else ""))
    if y.size and (y.min() < 0 or y.max() >= K):
        raise ParameterError(f"softmax_cross_entropy: labels must lie in 0..{K - 1}, got values "
                             f"from {y.min()} to {y.max()}")
    return y


def softmax_cross_entropy(logits, y):
    """Mean categorical cross-entropy of softmax(logits) against integer labels, and its gradient.

    Equation
    --------
    Let z_m ∈ R^K be the logits of row m (m = 1..M; M = N, or N·T for per-step logits), y_m its
    label, p_m = softmax(z_m) and e_y the one-hot vector of y. Forward:

        ℓ = (1/M) Σ_m −log p_m[y_m] = (1/M) Σ_m ( log Σ_k e^(z_m,k) − z_m,y_m )

    Backward (the softmax Jacobian and the log collapse to a difference):

        ∂ℓ/∂z_m = (p_m − e_(y_m)) / M

    Parameters
    ----------
    logits : np.ndarray, shape (N, K) or (N, T, K), float32 or float64
    y : np.ndarray of int, shape (N,) or (N, T)
        Class indices in 0..K-1. With (N, T, K) logits, a (N,) y is the utterance label repeated
        at every step (docs/spec.md §3: the 3D-CNN-DNN-ELM is trained with the label at every step).

    Returns
    -------
    loss : float
        The mean over all M rows.
    dlogits : np.ndarray, shape and dtype of logits
        ∂loss/∂logits.

    Raises
    ------
    ParameterError
        If logits are not float (N, K)/(N, T, K), labels are not integers of a matching shape, or
        a label is outside 0..K-1.
    """
    y = _check_labels(logits, y)
    logp = log_softmax(logits)                                  # (..., K)
    M = y.size
    picked = np.take_along_axis(logp, y[..., None], axis=-1)    # (..., 1): log p[y]
    loss = -float(picked.sum(dtype=np.float64)) / M
    dlogits = np.exp(logp)                                      # p
    np.put_along_axis(dlogits, y[..., None],
                      np.take_along_axis(dlogits, y[..., None], axis=-1) - 1, axis=-1)
    dlogits /= dlogits.dtype.type(M)
    return loss, dlogits

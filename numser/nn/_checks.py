"""Input checks shared by the layers: one readable ParameterError per wrong shape or dtype."""
import numpy as np

from numser.errors import ParameterError


def check_input(layer, x, *, ndim, last=None, dtype=None):
    """Raise ParameterError unless ``x`` is a floating array a layer can take as it is.

    Parameters
    ----------
    layer : str
        How the layer names itself in messages, e.g. ``"Dense(128->4)"``.
    x : np.ndarray
        The input of ``forward``.
    ndim : int or tuple of int
        The number of axes allowed (the smallest, or every allowed value as a tuple).
    last : int, optional
        The required size of the last axis (features).
    dtype : np.dtype, optional
        The dtype of the layer's parameters; the input must match it (no silent upcast).
    """
    if not isinstance(x, np.ndarray):
        raise ParameterError(f"{layer}: input must be a NumPy array, got {type(x).__name__}; "
                             "convert it with np.asarray(x, dtype=np.float32)")
    if not np.issubdtype(x.dtype, np.floating):
        raise ParameterError(f"{layer}: input has dtype {x.dtype}, not a floating type; "
                             "cast it with x.astype(np.float32)")
    allowed = ndim if isinstance(ndim, tuple) else None
    if (allowed is not None and x.ndim not in allowed) or (allowed is None and x.ndim < ndim):
        want = " or ".join(map(str, allowed)) if allowed else f"at least {ndim}"
        raise ParameterError(f"{layer}: input has shape {x.shape} ({x.ndim} axes), "
                             f"expected {want} axes")
    if last is not None and x.shape[-1] != last:
        raise ParameterError(f"{layer}: input has shape {x.shape}; its last axis must have "
                             f"{last} features, not {x.shape[-1]}")
    if dtype is not None and x.dtype != dtype:
        raise ParameterError(f"{layer}: input is {x.dtype} but the parameters are {np.dtype(dtype)}; "
                             f"cast the input (x.astype(np.{np.dtype(dtype)})) or the layer "
                             f"(layer.astype(np.{x.dtype})) so both agree")


def glorot_uniform(rng, fan_in, fan_out, shape, dtype):
    """Glorot/Xavier uniform weights, U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) (Keras default)."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def default_rng(rng):
    """``rng`` itself, or ``np.random.default_rng(0)`` when None (every layer is seeded)."""
    if rng is None:
        return np.random.default_rng(0)
    if not isinstance(rng, np.random.Generator):
        raise ParameterError(f"rng must be a np.random.Generator or None, got {type(rng).__name__}; "
                             "pass np.random.default_rng(seed)")
    return rng

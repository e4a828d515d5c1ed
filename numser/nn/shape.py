"""Layers that only move numbers around: Flatten, Reshape, Transpose (batch axis 0 kept)."""
import numpy as np

from numser.errors import ParameterError
from numser.nn._checks import check_input
from numser.nn.layer import Layer


class Flatten(Layer):
    """(N, d1, d2, ...) → (N, d1·d2·...), row-major (C order); backward reshapes back.

    Notes
    -----
    The 3D-CNN-DNN flattens its last volume (N, 4, 2, 2, 64) into 1024 features (docs/spec.md §3).
    """

    def forward(self, x, train=False):
        check_input("Flatten", x, ndim=1)
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)            # (N, prod(rest))

    def backward(self, dy):
        return dy.reshape(self.cache)

    def __repr__(self):
        return "Flatten()"


class Reshape(Layer):
    """(N, ...) → (N, *shape): per-sample reshape in C order, the batch axis is kept.

    Parameters
    ----------
    shape : tuple of int
        The per-sample shape; one entry may be -1 (inferred, as in ``np.reshape``).

    Raises
    ------
    ParameterError
        If ``shape`` is not a tuple of ints, or a sample cannot take that shape.
    """

    def __init__(self, shape):
        super().__init__()
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        if not all(isinstance(s, (int, np.integer)) and (s > 0 or s == -1) for s in shape) \
                or shape.count(-1) > 1:
            raise ParameterError(f"Reshape: shape={shape!r} must be positive ints with at most "
                                 "one -1 (the per-sample shape, without the batch axis)")
        self.shape = shape

    def forward(self, x, train=False):
        check_input(repr(self), x, ndim=1)
        known = int(np.prod([s for s in self.shape if s != -1]))
        sample = int(np.prod(x.shape[1:]))
        if (-1 in self.shape and sample % known) or (-1 not in self.shape and sample != known):
            raise ParameterError(f"{self!r}: a sample of shape {x.shape[1:]} has {sample} values, "
                                 f"which cannot be reshaped to {self.shape}")
        self.cache = x.shape
        return x.reshape((x.shape[0],) + self.shape)    # (N, *shape)

    def backward(self, dy):
        return dy.reshape(self.cache)

    def __repr__(self):
        return f"Reshape({self.shape})"


class Transpose(Layer):
    """(N, d0, d1, ...) → (N, d_axes[0], d_axes[1], ...): per-sample axis permutation.

    Parameters
    ----------
    axes : tuple of int
        A permutation of ``range(x.ndim - 1)`` over the per-sample axes (the batch axis stays
        first). E.g. ``Transpose((1, 0, 2, 3))`` turns conv output (N, C, L, T, S) into
        (N, L, C, T, S), steps before channels, ready for a per-step layer.

    Notes
    -----
    The output is made contiguous so that the next reshape and the Numba kernels see C order.
    Backward applies the inverse permutation.
    """

    def __init__(self, axes):
        super().__init__()
        axes = tuple(int(a) for a in axes)
        if sorted(axes) != list(range(len(axes))):
            raise ParameterError(f"Transpose: axes={axes!r} must be a permutation of "
                                 f"0..{len(axes) - 1} (per-sample axes, batch axis excluded)")
        self.axes = axes
        self.inverse = tuple(int(i) for i in np.argsort(axes))

    def forward(self, x, train=False):
        check_input(repr(self), x, ndim=(len(self.axes) + 1,))
        return np.ascontiguousarray(x.transpose((0,) + tuple(a + 1 for a in self.axes)))

    def backward(self, dy):
        return np.ascontiguousarray(dy.transpose((0,) + tuple(a + 1 for a in self.inverse)))

    def __repr__(self):
        return f"Transpose({self.axes})"

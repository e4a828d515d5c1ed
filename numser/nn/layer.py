"""The one pattern every layer follows: ``forward`` caches, ``backward`` returns dx and fills grads.

A layer owns two dicts with the same keys and shapes: ``params`` (trainable arrays) and ``grads``
(their gradients, written by the last ``backward``). A model is a plain list of layers; a layer
that contains other layers (the per-step wrapper) lists them in ``layers``. An optimizer only ever
sees the ``(param, grad)`` pairs that :func:`parameters` yields.
"""
import numpy as np


class Layer:
    """Base class: ``params``/``grads`` share keys; ``forward(x, train)`` caches; ``backward(dy)``.

    Contract
    --------
    - ``forward(x, train=False)`` returns y and keeps in ``self.cache`` what backward needs.
    - ``backward(dy)`` returns dx (same shape as the x of the last forward) and overwrites
      ``self.grads[k]`` for every key of ``self.params`` (gradients are not accumulated across calls).
    - ``params[k]`` arrays are updated in place by optimizers, so references to them stay valid.
    """

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.cache = None

    def forward(self, x, train=False):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    def n_params(self):
        """Number of trainable scalars of this layer (and of the layers it contains)."""
        return sum(p.size for p, _ in parameters([self]))

    def astype(self, dtype):
        """Cast params (and zero grads) to ``dtype`` in place of the dicts; returns self."""
        for key in list(self.params):
            self.params[key] = self.params[key].astype(dtype)
            self.grads[key] = np.zeros_like(self.params[key])
        for layer in getattr(self, "layers", []):
            layer.astype(dtype)
        return self

    def __repr__(self):
        shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in self.params.items())
        return f"{type(self).__name__}({shapes})"


def parameters(model):
    """Yield ``(param, grad)`` pairs of every layer of ``model`` (a list of layers), depth first.

    The order is fixed by the model's structure, so an optimizer may keep its state by position.
    """
    for layer in model:
        for key, value in layer.params.items():
            yield value, layer.grads[key]
        yield from parameters(getattr(layer, "layers", []))


def forward(model, x, train=False):
    """Run ``x`` through every layer of ``model`` in order."""
    for layer in model:
        x = layer.forward(x, train=train)
    return x


def backward(model, dy):
    """Backpropagate ``dy`` through ``model`` in reverse order; returns the input gradient."""
    for layer in reversed(model):
        dy = layer.backward(dy)
    return dy


def n_params(model):
    """Number of trainable scalars in ``model``."""
    return sum(p.size for p, _ in parameters(model))

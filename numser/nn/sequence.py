"""Layers over sequences (N, T, ...): the same layers applied to every step with shared weights
(docs/spec.md §3 ELM, §4 2D-CNN-LSTM), and a frame-context window (docs/spec.md §4 DNN-ELM)."""
import numpy as np

from numser.errors import ParameterError
from numser.nn._checks import check_input
from numser.nn.layer import Layer, backward, forward


class PerStep(Layer):
    """Apply a stack of layers to each of T steps independently: (N, T, ...) → (N, T, ...').

    Equation
    --------
    For a stack F with parameters θ and steps x_t = x[:, t] (t = 1..T):

        y[:, t] = F(x[:, t]; θ)                ∂ℓ/∂θ = Σ_t ∂ℓ/∂θ |_(step t)

    Folding the step axis into the batch, (N, T, ...) → (N·T, ...), computes every step at once,
    and the stack's own backward sums the parameter gradients over the N·T rows, which is the
    sum over steps that weight sharing requires.

    Parameters
    ----------
    layers : list of Layer
        The stack, e.g. ``[Dense(512, 512), ReLU(), Dropout(.5), ..., Dense(512, 4)]``. Listed in
        ``self.layers`` so :func:`numser.nn.layer.parameters` finds each parameter once.

    Notes
    -----
    The 3D-CNN-DNN-ELM applies FC 512-512-4 to each of its 10 L-steps; the 2D-CNN-LSTM applies
    its conv2d stack to each L-step's T × S map (docs/spec.md §3, §4). Dropout inside draws an
    independent mask for every step.
    """

    def __init__(self, layers):
        super().__init__()
        layers = list(layers)
        if not layers or not all(isinstance(layer, Layer) for layer in layers):
            raise ParameterError(f"PerStep: layers must be a non-empty list of Layer objects, got "
                                 f"{layers!r}")
        self.layers = layers

    def forward(self, x, train=False):
        check_input("PerStep", x, ndim=3)
        N, T = x.shape[:2]
        y = forward(self.layers, x.reshape((N * T,) + x.shape[2:]), train=train)  # (N·T, ...)
        self.cache = (N, T)
        return y.reshape((N, T) + y.shape[1:])                                    # (N, T, ...')

    def backward(self, dy):
        N, T = self.cache
        dx = backward(self.layers, dy.reshape((N * T,) + dy.shape[2:]))          # (N·T, ...)
        return dx.reshape((N, T) + dx.shape[1:])

    def __repr__(self):
        return f"PerStep([{', '.join(map(repr, self.layers))}])"


class FrameContext(Layer):
    """Stack each frame with its ``context // 2`` neighbours on each side (edges replicated).

    Equation: y[n, t] = concat(x[n, t−h], …, x[n, t+h]) with h = context // 2 and indices
    clipped to [0, T−1]; backward adds each slice of dy back onto the frame it came from.
    Shapes: x (N, T, D) → y (N, T, context·D).
    """

    def __init__(self, context):
        super().__init__()
        self.context = context

    def _index(self, t):
        h = self.context // 2
        return np.clip(np.arange(t)[:, None] + np.arange(-h, h + 1)[None, :], 0, t - 1)

    def forward(self, x, train=False):
        n, t, d = x.shape
        self.cache = (x.shape, self._index(t))
        return x[:, self.cache[1], :].reshape(n, t, self.context * d)   # (N, T, context·D)

    def backward(self, dy):
        shape, index = self.cache
        n, t, d = shape
        dx = np.zeros(shape, dtype=dy.dtype)
        dy = dy.reshape(n, t, self.context, d)                         # (N, T, context, D)
        for j in range(self.context):
            np.add.at(dx, (slice(None), index[:, j]), dy[:, :, j])
        return dx

"""The networks of the paper's Tables 3 and 4 (docs/spec.md §3–4) as plain lists of layers.

Every builder here takes a configuration (``kernel``, ``depth``, ``cells``, ``context``,
``method``; see :class:`numser.models.ModelConfig`) and a random generator and returns a
:class:`Model`: the layers plus which input they take (``'volume'`` 10×10×256, ``'lld'`` 198×32
frames, ``'waveform'`` 20×1600) and whether they emit one posterior per utterance or one per step
(whose step posteriors feed an ELM). Which method uses which builder, and with what, is declared
in :mod:`numser.methods`; this module knows no method by name.
"""
import numpy as np

from numser import CLASSES, ParameterError
from numser import nn
from numser.elm import utterance_functionals
from numser.nn.activations import ReLU
from numser.nn.conv import Conv3D
from numser.nn.dense import Dense
from numser.nn.dropout import Dropout
from numser.nn.loss import softmax
from numser.nn.lstm import LSTM
from numser.nn.pool import MaxPool3D
from numser.nn.sequence import FrameContext, PerStep
from numser.nn.shape import Flatten, Reshape, Transpose

N_CLASSES = len(CLASSES)
VOLUME = (10, 10, 256)            # L × T × S (docs/spec.md §2.5)
LLD_FRAMES, LLD_DIM = 198, 32     # 25 ms / 10 ms frames of the 2 s segment (docs/spec.md §4)
WAVE_STEPS, WAVE_LEN = 20, 1600   # the 2 s waveform in 20 sub-sequences (docs/spec.md §4)


class Model:
    """A plain list of layers plus what the trainer and the protocol need to know about it.

    Attributes
    ----------
    layers : list of Layer
        The network, input to logits.
    input_kind : {'volume', 'lld', 'waveform'}
        Which features the model reads (see :func:`numser.features.extract_features`).
    per_step : bool
        True when the logits are (N, steps, 4) — one posterior per step, every step trained with
        the utterance label, utterance posteriors from the ELM on step functionals (docs/spec.md §5).
    elm : numser.elm.ELM or None
        The fitted utterance-level classifier of the ``-elm`` methods.
    """

    def __init__(self, config, layers, input_kind, per_step, input_shape):
        self.config = config
        self.layers = layers
        self.input_kind = input_kind
        self.per_step = per_step
        self.input_shape = input_shape
        self.elm = None

    def forward(self, x, train=False):
        """Logits: (N, 4), or (N, steps, 4) for per-step models."""
        return nn.forward(self.layers, x, train=train)

    def backward(self, dlogits):
        return nn.backward(self.layers, dlogits)

    def parameters(self):
        return list(nn.parameters(self.layers))

    def n_params(self):
        return nn.n_params(self.layers)

    def check_input(self, x):
        """Raise ParameterError unless ``x`` is (N, *input_shape)."""
        if x.ndim != len(self.input_shape) + 1 or tuple(x.shape[1:]) != self.input_shape:
            raise ParameterError(
                f"{self.config.method} takes '{self.input_kind}' input of shape "
                f"(N, {', '.join(map(str, self.input_shape))}), got {tuple(x.shape)}; "
                f"extract it with numser.features.extract_features(..., kind='{self.input_kind}')")

    def step_posteriors(self, x, batch_size=256):
        """Softmax posteriors per step (N, steps, 4), or per utterance (N, 4), without the ELM."""
        self.check_input(x)
        out = [softmax(self.forward(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
        return np.concatenate(out)

    def predict_proba(self, x, batch_size=256):
        """Utterance posteriors (N, 4): the ELM's when fitted, else the (mean over steps) softmax."""
        p = self.step_posteriors(x, batch_size)
        if not self.per_step:
            return p
        if self.elm is not None:
            return self.elm.predict_proba(utterance_functionals(p))
        return p.mean(axis=1)

    def predict(self, x, batch_size=256):
        return self.predict_proba(x, batch_size).argmax(axis=1)

    def embed(self, x, batch_size=256):
        """Activations of the top hidden layer (the input of the last Dense), one row per utterance.

        This is what Figure 3 plots with t-SNE. Per-step models average the top layer over steps.
        """
        self.check_input(x)
        head, last = self.layers[:-1], self.layers[-1]
        if isinstance(last, PerStep):
            head = head + [_PerStepHead(last)]
        out = []
        for i in range(0, len(x), batch_size):
            h = nn.forward(head, x[i:i + batch_size], train=False)
            out.append(h.reshape(len(h), -1, h.shape[-1]).mean(axis=1))
        return np.concatenate(out)

    def __repr__(self):
        return (f"Model({self.config.method}, {self.config.label()}, "
                f"{self.n_params():,} parameters)")


class _PerStepHead:
    """All but the last layer of a PerStep stack, applied per step (for :meth:`Model.embed`)."""

    def __init__(self, per_step):
        self.inner = per_step

    def forward(self, x, train=False):
        n, t = x.shape[:2]
        h = nn.forward(self.inner.layers[:-1], x.reshape((n * t,) + x.shape[2:]), train=train)
        return h.reshape((n, t) + h.shape[1:])


def _walk(layers):
    for layer in layers:
        yield layer
        yield from _walk(getattr(layer, "layers", []))


def _fc_stack(n_in, widths, rng, dropout=0.5):
    """Dense → ReLU → Dropout for each hidden width, then Dense to the 4 classes."""
    layers = []
    for width in widths:
        layers += [Dense(n_in, width, rng=rng), ReLU(), Dropout(dropout, rng=rng)]
        n_in = width
    return layers + [Dense(n_in, N_CLASSES, rng=rng)]


def _pool_out(shape, size, where):
    out = tuple(n // p for n, p in zip(shape, size))
    if min(out) < 1:
        raise ParameterError(
            f"{where}: pooling {size} shrinks the volume {shape} to {out}; an axis reaches zero — "
            f"use a smaller depth")
    return out


def cnn3d_pools(config, per_step):
    """How many max-pools follow each 3D convolution, and the volume shape they leave.

    Depth 3: conv, conv, pool, conv, pool. Every convolution after the first is followed by a
    pool, and there are always at least two pools: depth 2 (conv, conv, pool, pool) drops the
    third convolution but keeps both poolings one after the other, so its FC input is depth 3's
    (docs/spec.md §3: the only reading whose parameter counts match the paper's depth-2 bands).

    Returns
    -------
    pools : list of int, one per convolution
    shape : tuple (L', T', S') after the last pool

    Raises
    ------
    ParameterError
        When a pool would shrink an axis to zero (too deep a stack). Builds no weights, so
        :mod:`numser.cv` checks a configuration with it before reading any data.
    """
    size = (1, 2, 2) if per_step else (2, 2, 2)
    n_pools = max(2, config.depth - 1)
    shape, pools = VOLUME, []
    for i in range(config.depth):
        where = f"{config.method} depth {config.depth}, convolution {i + 1}"
        last = i == config.depth - 1
        # pools after this convolution: one after every convolution but the first; the last
        # convolution also takes the pools a shallow stack still owes (depth 2: both)
        pools.append((1 if i > 0 else 0) + (n_pools - max(0, config.depth - 1) if last else 0))
        for _ in range(pools[-1]):
            shape = _pool_out(shape, size, where)
    return pools, shape


def cnn3d(config, rng, *, per_step):
    """The proposed 3D CNN (docs/spec.md §3): no pooling after the first convolution.

    ``per_step`` False: depth × conv3d(4, k) with pools 2×2×2 → FC 512, 512, 4 on the flattened
    volume (one posterior per utterance). True: pools 1×2×2 keep the L axis, and FC 512, 512, 4
    run on each of its steps (one posterior per step, for the ELM). Pools as :func:`cnn3d_pools`.
    """
    pools, shape = cnn3d_pools(config, per_step)
    size = (1, 2, 2) if per_step else (2, 2, 2)
    channels = 4
    layers = [Reshape((1,) + VOLUME)]                                     # (N, 1, L, T, S)
    for i, n_pools in enumerate(pools):
        layers += [Conv3D(1 if i == 0 else channels, channels, config.kernel, padding="same",
                          rng=rng), ReLU()]
        layers += [MaxPool3D(size) for _ in range(n_pools)]
    if not per_step:
        layers += [Flatten()] + _fc_stack(channels * int(np.prod(shape)), (512, 512), rng)
        return Model(config, layers, "volume", False, VOLUME)
    steps = shape[0]
    layers += [Transpose((1, 0, 2, 3)),                                   # (N, L, 4, T', S')
               Reshape((steps, channels * shape[1] * shape[2])),           # (N, L, 4·T'·S')
               PerStep(_fc_stack(channels * shape[1] * shape[2], (512, 512), rng))]
    return Model(config, layers, "volume", True, VOLUME)


def frame_dnn(config, rng):
    """DNN-ELM (Han et al. 2014): three FC 256 layers on each LLD frame (with context)."""
    layers = [PerStep(_fc_stack(LLD_DIM * config.context, (256, 256, 256), rng))]
    if config.context > 1:
        layers.insert(0, FrameContext(config.context))
    return Model(config, layers, "lld", True, (LLD_FRAMES, LLD_DIM))


def frame_lstm(config, rng):
    """LSTM-ELM (Lee & Tashev 2015): two LSTM 128 over LLD frames, a softmax per frame."""
    layers = [LSTM(LLD_DIM, 128, rng=rng), LSTM(128, 128, rng=rng),
              PerStep([Dense(128, N_CLASSES, rng=rng)])]
    return Model(config, layers, "lld", True, (LLD_FRAMES, LLD_DIM))


def cnn1d_lstm(config, rng):
    """1D-CNN-LSTM (Trigeorgis et al. 2016) on the raw 2 s waveform in 20 × 1600 sub-sequences."""
    # method 'fft-gemm' (numser/nn/conv_gemm.py, docs/conv3d.md): the FFT with one BLAS product
    # per frequency (40 x 40 channels in the second convolution), blocked so that no full-size
    # complex temporary is made; the first convolution takes it for that memory saving (its
    # peak-RSS share on the 'fft' path was ~1.3 GB). It rounds differently from 'fft', so only
    # this model asks for it.
    per_step = [Reshape((1, 1, 1, WAVE_LEN)),                              # (N·20, 1, 1, 1, 1600)
                Conv3D(1, 40, (1, 1, 80), padding="same", rng=rng, method="fft-gemm"), ReLU(),
                MaxPool3D((1, 1, 2)),                                      # (N·20, 40, 1, 1, 800)
                Conv3D(40, 40, (1, 1, 800), padding="same", rng=rng, method="fft-gemm"), ReLU(),
                MaxPool3D((1, 1, 40)),                                     # (N·20, 40, 1, 1, 20)
                Flatten()]                                                 # (N·20, 800)
    layers = [PerStep(per_step), LSTM(800, config.cells, rng=rng),
              LSTM(config.cells, config.cells, return_sequences=False, rng=rng),
              Dense(config.cells, N_CLASSES, rng=rng)]
    return Model(config, layers, "waveform", False, (WAVE_STEPS, WAVE_LEN))


def cnn2d_lstm(config, rng, *, dnn):
    """2D-CNN-LSTM (Table 4) and, with ``dnn``, 2D-CNN-LSTM-DNN (Sainath et al. 2015): conv2d
    per L-step, two LSTM 128, [FC 512, 512,] 4."""
    ks = config.kernel[2]
    per_step = [Reshape((1, 1) + VOLUME[1:]),                              # (N·10, 1, 1, T, S)
                Conv3D(1, 4, (1, 2, ks), padding="same", rng=rng), ReLU(),
                MaxPool3D((1, 2, 2)),                                      # (N·10, 4, 1, 5, 128)
                Conv3D(4, 4, (1, 2, ks), padding="same", rng=rng), ReLU(),
                MaxPool3D((1, 4, 4)),                                      # (N·10, 4, 1, 1, 32)
                Flatten()]                                                 # (N·10, 128)
    layers = [PerStep(per_step), LSTM(128, 128, rng=rng),
              LSTM(128, 128, return_sequences=False, rng=rng)]
    layers += _fc_stack(128, (512, 512) if dnn else (), rng)
    return Model(config, layers, "volume", False, VOLUME)

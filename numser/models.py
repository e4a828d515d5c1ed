"""One builder per method of the paper's Tables 3 and 4 (docs/spec.md §3–4), with parameter counts.

Every model is a plain list of layers wrapped in a small :class:`Model` that knows which input it
takes (``'volume'`` 10×10×256, ``'lld'`` 198×32 frames, ``'waveform'`` 20×1600), whether it emits one
posterior per utterance or one per step (the ``-elm`` methods, whose step posteriors feed the
ELM), and its own parameter count.

=================  =========  ===================================================  ==============
method             input      layers (docs/spec.md)                                        paper count
=================  =========  ===================================================  ==============
3d-cnn-dnn         volume     depth × conv3d(4, k) [+ pool 2×2×2] → FC 512, 512, 4  807K (2×2×128)
3d-cnn-dnn-elm     volume     depth × conv3d(4, k) [+ pool 1×2×2] → per-L-step FC    546K (2×2×128)
dnn-elm            lld        per-frame FC 256 × 3 → 4                              141K
lstm-elm           lld        LSTM 128 → LSTM 128 → per-frame FC 4                  214K
1d-cnn-lstm        waveform   per-step conv1d 80, pool 2, conv1d 800, pool 40 → 2 LSTM  1583K/2211K
2d-cnn-lstm        volume     per-L-step conv2d (2, kS), pool 2×2, conv2d, pool 4×4 → 2 LSTM  264K
2d-cnn-lstm-dnn    volume     the above + FC 512, 512                               595K
=================  =========  ===================================================  ==============
"""
from dataclasses import asdict, dataclass

import numpy as np

from numser import CLASSES, ParameterError
from numser import nn
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

METHODS = ("3d-cnn-dnn", "3d-cnn-dnn-elm", "dnn-elm", "lstm-elm", "1d-cnn-lstm",
           "2d-cnn-lstm", "2d-cnn-lstm-dnn")

#: The twelve kernels of Table 3 (depth 3), as (kL, kT, kS).
TABLE3_KERNELS = ((2, 2, 2), (2, 2, 32), (2, 2, 128), (2, 2, 256), (4, 2, 2), (8, 2, 2),
                  (2, 4, 2), (2, 8, 2), (4, 2, 128), (8, 2, 128), (2, 4, 128), (2, 8, 128))
#: The kernels of the paper's Table 4 (the 2D models use their last entry, kS, as (1, 2, kS)).
TABLE4_KERNELS = ((2, 2, 2), (2, 2, 32), (2, 2, 128))

#: Parameter counts printed in the paper's Table 4, in thousands, for comparison with ours.
PAPER_PARAMS_K = {
    ("3d-cnn-dnn", (2, 2, 2)): 798, ("3d-cnn-dnn", (2, 2, 32)): 793,
    ("3d-cnn-dnn", (2, 2, 128)): 807,
    ("3d-cnn-dnn-elm", (2, 2, 2)): 528, ("3d-cnn-dnn-elm", (2, 2, 32)): 531,
    ("3d-cnn-dnn-elm", (2, 2, 128)): 546,
    ("dnn-elm", None): 141, ("lstm-elm", None): 214,
    ("1d-cnn-lstm", 128): 1583, ("1d-cnn-lstm", 256): 2211,
    ("2d-cnn-lstm", 2): 264, ("2d-cnn-lstm", 32): 268, ("2d-cnn-lstm", 128): 282,
    ("2d-cnn-lstm-dnn", 2): 595, ("2d-cnn-lstm-dnn", 32): 607, ("2d-cnn-lstm-dnn", 128): 611,
}


@dataclass(frozen=True)
class ModelConfig:
    """Everything that fixes a model's architecture; saved beside its weights.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    kernel : tuple of 3 int
        (kL, kT, kS) of every 3D convolution (3D models); the 2D models use (1, 2, kS) with kS
        = ``kernel[2]``.
    depth : int >= 1
        Number of convolution layers of the 3D models (the paper explores 2 and 3).
    cells : int
        LSTM cells of the 1D-CNN-LSTM (128 or 256).
    context : int, odd
        Frames of context stacked at the input of the DNN-ELM (1 → 32-dim input, 141 060
        parameters, the paper's count; 5 → 160-dim, the text's context window).
    seed : int
        Seed of the weight initialisation and of the dropout masks.
    """

    method: str = "3d-cnn-dnn"
    kernel: tuple = (2, 2, 128)
    depth: int = 3
    cells: int = 128
    context: int = 1
    seed: int = 0

    def label(self):
        """Short human-readable configuration, as in Table 4's 'configuration' column."""
        k = "x".join(map(str, self.kernel))
        return {"3d-cnn-dnn": f"depth {self.depth}, {k}",
                "3d-cnn-dnn-elm": f"depth {self.depth}, {k}",
                "dnn-elm": f"3 x FC 256, context {self.context}",
                "lstm-elm": "2 x LSTM 128",
                "1d-cnn-lstm": f"2 x LSTM {self.cells}",
                "2d-cnn-lstm": f"kS {self.kernel[2]}",
                "2d-cnn-lstm-dnn": f"kS {self.kernel[2]}"}[self.method]

    def paper_params_k(self):
        """The paper's Table 4 parameter count (thousands) for this configuration, or None."""
        key = {"1d-cnn-lstm": self.cells, "dnn-elm": None, "lstm-elm": None,
               "2d-cnn-lstm": self.kernel[2], "2d-cnn-lstm-dnn": self.kernel[2]}.get(
                   self.method, tuple(self.kernel))
        if self.method.startswith("3d") and self.depth != 3:
            return None
        return PAPER_PARAMS_K.get((self.method, key))


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
            from numser.elm import utterance_functionals
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


def build(method, *, kernel=(2, 2, 128), depth=3, cells=128, context=1, seed=0,
          dtype=np.float32, verbose=False):
    """Build the model of ``method`` (one of :data:`METHODS`) with the given configuration.

    Raises
    ------
    ParameterError
        For an unknown method, a malformed kernel, or a configuration whose shapes do not fit the
        input (a kernel larger than the volume, a depth that pools an axis to zero).
    """
    if method not in METHODS:
        raise ParameterError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    kernel = tuple(int(k) for k in np.atleast_1d(kernel))
    if len(kernel) != 3 or min(kernel) < 1:
        raise ParameterError(f"kernel must be three positive ints (kL, kT, kS), got {kernel}")
    if method in ("3d-cnn-dnn", "3d-cnn-dnn-elm") and int(depth) < 1:
        raise ParameterError(f"depth must be >= 1, got {depth}")
    if cells < 1 or context < 1 or context % 2 == 0:
        raise ParameterError(f"cells must be >= 1 and context a positive odd number, "
                             f"got cells={cells}, context={context}")
    config = ModelConfig(method, kernel, int(depth), int(cells), int(context), int(seed))
    rng = np.random.default_rng(seed)
    model = _BUILDERS[method](config, rng)
    for layer in _walk(model.layers):
        layer.astype(dtype)
    if verbose:
        paper = config.paper_params_k()
        print(f"{method} ({config.label()}): {model.n_params():,} parameters"
              + (f" (paper: {paper}K)" if paper else ""))
    return model


def from_config(config, dtype=np.float32):
    """Build the model a :class:`ModelConfig` (or its dict) describes."""
    if isinstance(config, dict):
        config = ModelConfig(**{**config, "kernel": tuple(config["kernel"])})
    return build(**{k: v for k, v in asdict(config).items()}, dtype=dtype)


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


def _build_3d(config, rng):
    """3D-CNN-DNN and 3D-CNN-DNN-ELM (docs/spec.md §3): no pooling after the first convolution.

    Depth 3: conv, conv, pool, conv, pool. Every convolution after the first is followed by a
    pool, and there are always at least two pools: depth 2 (conv, conv, pool, pool) drops the
    third convolution but keeps both poolings one after the other, so its FC input is depth 3's
    (docs/spec.md §3: the only reading whose parameter counts match the paper's depth-2 bands).
    """
    elm = config.method == "3d-cnn-dnn-elm"
    pool = (1, 2, 2) if elm else (2, 2, 2)
    n_pools = max(2, config.depth - 1)
    shape, channels = VOLUME, 1
    layers = [Reshape((1,) + VOLUME)]                                     # (N, 1, L, T, S)
    for i in range(config.depth):
        where = f"{config.method} depth {config.depth}, convolution {i + 1}"
        layers += [Conv3D(channels, 4, config.kernel, padding="same", rng=rng), ReLU()]
        channels = 4
        last = i == config.depth - 1
        # pools after this convolution: one after every convolution but the first; the last
        # convolution also takes the pools a shallow stack still owes (depth 2: both)
        pools = (1 if i > 0 else 0) + (n_pools - max(0, config.depth - 1) if last else 0)
        for _ in range(pools):
            shape = _pool_out(shape, pool, where)
            layers.append(MaxPool3D(pool))
    if not elm:
        layers += [Flatten()] + _fc_stack(channels * int(np.prod(shape)), (512, 512), rng)
        return Model(config, layers, "volume", False, VOLUME)
    steps = shape[0]
    layers += [Transpose((1, 0, 2, 3)),                                   # (N, L, 4, T', S')
               Reshape((steps, channels * shape[1] * shape[2])),           # (N, L, 4·T'·S')
               PerStep(_fc_stack(channels * shape[1] * shape[2], (512, 512), rng))]
    return Model(config, layers, "volume", True, VOLUME)


def _build_dnn_elm(config, rng):
    """DNN-ELM (Han et al. 2014): three FC 256 layers on each LLD frame (with context)."""
    layers = [PerStep(_fc_stack(LLD_DIM * config.context, (256, 256, 256), rng))]
    if config.context > 1:
        layers.insert(0, FrameContext(config.context))
    return Model(config, layers, "lld", True, (LLD_FRAMES, LLD_DIM))


def _build_lstm_elm(config, rng):
    """LSTM-ELM (Lee & Tashev 2015): two LSTM 128 over LLD frames, a softmax per frame."""
    layers = [LSTM(LLD_DIM, 128, rng=rng), LSTM(128, 128, rng=rng),
              PerStep([Dense(128, N_CLASSES, rng=rng)])]
    return Model(config, layers, "lld", True, (LLD_FRAMES, LLD_DIM))


def _build_1d_cnn_lstm(config, rng):
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


def _build_2d_cnn_lstm(config, rng):
    """2D-CNN-LSTM (Table 4) and 2D-CNN-LSTM-DNN (Sainath et al. 2015): conv2d per L-step."""
    ks = config.kernel[2]
    per_step = [Reshape((1, 1) + VOLUME[1:]),                              # (N·10, 1, 1, T, S)
                Conv3D(1, 4, (1, 2, ks), padding="same", rng=rng), ReLU(),
                MaxPool3D((1, 2, 2)),                                      # (N·10, 4, 1, 5, 128)
                Conv3D(4, 4, (1, 2, ks), padding="same", rng=rng), ReLU(),
                MaxPool3D((1, 4, 4)),                                      # (N·10, 4, 1, 1, 32)
                Flatten()]                                                 # (N·10, 128)
    layers = [PerStep(per_step), LSTM(128, 128, rng=rng),
              LSTM(128, 128, return_sequences=False, rng=rng)]
    widths = (512, 512) if config.method == "2d-cnn-lstm-dnn" else ()
    layers += _fc_stack(128, widths, rng)
    return Model(config, layers, "volume", False, VOLUME)


_BUILDERS = {"3d-cnn-dnn": _build_3d, "3d-cnn-dnn-elm": _build_3d, "dnn-elm": _build_dnn_elm,
             "lstm-elm": _build_lstm_elm, "1d-cnn-lstm": _build_1d_cnn_lstm,
             "2d-cnn-lstm": _build_2d_cnn_lstm, "2d-cnn-lstm-dnn": _build_2d_cnn_lstm}

"""Every method numser runs, declared once: the registry that models, cv and report read.

A method is a :class:`Method`: its name, the builder of its network, the input it reads, the
configuration axes the command line sweeps, its label in the tables, the paper's parameter count,
its Table 3/4 configurations, whether it is one of the paper's proposed models, and where its rows
go in the tables. :func:`register` adds one (docs/extending.md shows a method end to end); the
paper's seven are declared at the bottom of this module (docs/spec.md §3–4):

=================  =========  ===================================================  ==============
method             input      layers (docs/spec.md)                                 paper count
=================  =========  ===================================================  ==============
3d-cnn-dnn         volume     depth × conv3d(4, k) [+ pool 2×2×2] → FC 512, 512, 4  807K (2×2×128)
3d-cnn-dnn-elm     volume     depth × conv3d(4, k) [+ pool 1×2×2] → per-L-step FC   546K (2×2×128)
dnn-elm            lld        per-frame FC 256 × 3 → 4                              141K
lstm-elm           lld        LSTM 128 → LSTM 128 → per-frame FC 4                  214K
1d-cnn-lstm        waveform   per-step conv1d 80, pool 2, conv1d 800, pool 40 → 2 LSTM  1583K/2211K
2d-cnn-lstm        volume     per-L-step conv2d (2, kS), pool 2×2, conv2d, pool 4×4 → 2 LSTM  264K
2d-cnn-lstm-dnn    volume     the above + FC 512, 512                               595K
=================  =========  ===================================================  ==============
"""
import functools
import itertools
import math
from dataclasses import dataclass
from typing import Callable, Mapping

from numser.errors import ParameterError
from numser.networks import cnn1d_lstm, cnn2d_lstm, cnn3d, cnn3d_pools, frame_dnn, frame_lstm

#: The twelve kernels of Table 3 (depth 3), as (kL, kT, kS).
TABLE3_KERNELS = ((2, 2, 2), (2, 2, 32), (2, 2, 128), (2, 2, 256), (4, 2, 2), (8, 2, 2),
                  (2, 4, 2), (2, 8, 2), (4, 2, 128), (8, 2, 128), (2, 4, 128), (2, 8, 128))
#: The paper's Table 3 (3D-CNN-DNN, depth 3): kernel -> (best, worst, mean, std) of the UA over
#: its folds, as printed.
PAPER_TABLE3 = {(2, 2, 2): (.518, .451, .480, .03), (2, 2, 32): (.541, .425, .484, .05),
                (2, 2, 128): (.550, .471, .496, .03), (2, 2, 256): (.516, .250, .416, .10),
                (4, 2, 2): (.481, .393, .450, .04), (8, 2, 2): (.507, .394, .454, .04),
                (2, 4, 2): (.503, .419, .450, .03), (2, 8, 2): (.487, .441, .463, .02),
                (4, 2, 128): (.469, .437, .451, .01), (8, 2, 128): (.528, .421, .462, .04),
                (2, 4, 128): (.492, .446, .467, .02), (2, 8, 128): (.488, .423, .467, .03)}
#: The kernels of the paper's Table 4 (the 2D models use their last entry, kS, as (1, 2, kS)).
TABLE4_KERNELS = ((2, 2, 2), (2, 2, 32), (2, 2, 128))
#: What each configuration axis a method may sweep takes from the sweep's values (the command
#: line's ``--kernels``, ``--depths``, ``--cells``, ``--context``): (builder keyword, its values).
AXES = {
    "kernel": lambda v: [("kernel", tuple(k)) for k in v["kernels"]],
    # the 2D models: one (1, 2, kS) per distinct kS of the kernels
    "kS": lambda v: [("kernel", (1, 2, ks)) for ks in sorted({k[2] for k in v["kernels"]})],
    "depth": lambda v: [("depth", d) for d in v["depths"]],
    "cells": lambda v: [("cells", c) for c in v["cells"]],
    "context": lambda v: [("context", v["context"])],
}


def _no_label(config):
    return ""


def _no_paper_value(config):
    return None


@dataclass(frozen=True)
class Method:
    """Everything numser needs to know about one method, in one place.

    Parameters
    ----------
    name : str
        The name on the command line, in task names and in the tables (``--methods NAME``).
    build : callable (config, rng) -> numser.networks.Model
        Builds the network with fresh weights; ``config`` is a :class:`numser.models.ModelConfig`
        (``kernel``, ``depth``, ``cells``, ``context``, ``seed``, ``method``), ``rng`` a NumPy
        Generator to draw every initial weight from.
    input_kind : {'volume', 'lld', 'waveform'}
        The features the network reads (the Model it builds says the same; a test checks).
    axes : tuple of str
        Configuration axes swept from the command line, outermost first: keys of :data:`AXES`.
        () means one configuration.
    label : callable (config) -> str
        The 'configuration' column of the tables.
    paper_params_k : callable (config) -> int or None
        The parameter count the paper prints for this configuration, in thousands.
    paper_ua : callable (config) -> (mean, std) or None
        The UA the paper's Table 4 prints for this configuration (std None where it prints
        none), to set ours beside it.
    table4 : mapping or None
        The sweep values (``kernels``, ``depths``, ``cells``) of the paper's Table 4
        configurations, over the command line's (``--table4``); None: not in Table 4 runs.
    table3 : mapping or None
        The same for Table 3's kernel sweep (``--table3``); None: not in Table 3.
    proposed : bool
        One of the paper's proposed models (significance tests are against them); else a baseline.
    default : bool
        Run when no ``--methods`` is given.
    figure : bool
        Shown in Table 5 and Figure 3 (in its best configuration).
    table_row : float
        Rows of the tables are sorted by it (the paper's Table 4 order); methods without one come
        after the paper's. Tasks run in registration order.
    check : callable (config) or None
        Raises ParameterError for a configuration the builder cannot build, without building it
        (:mod:`numser.cv` checks every planned configuration before reading any data).
    """

    name: str
    build: Callable
    input_kind: str
    axes: tuple = ()
    label: Callable = _no_label
    paper_params_k: Callable = _no_paper_value
    paper_ua: Callable = _no_paper_value
    table4: Mapping | None = None
    table3: Mapping | None = None
    proposed: bool = False
    default: bool = False
    figure: bool = False
    table_row: float = math.inf
    check: Callable | None = None

    def configurations(self, values):
        """The builder keyword arguments of every configuration ``values`` sweeps, in order.

        ``values``: ``{"kernels": [(kL, kT, kS), ...], "depths": [...], "cells": [...],
        "context": int}``. Returns a list of dicts (one empty dict for a method without axes).
        """
        return [dict(combo) for combo in itertools.product(*(AXES[a](values) for a in self.axes))]

    def in_table4(self, kwargs):
        """Whether a row of this method with builder arguments ``kwargs`` belongs in Table 4:
        every baseline row; a proposed model's only at its Table 4 kernels (the others are
        Table 3's sweep)."""
        return not self.proposed or tuple(kwargs.get("kernel", ())) in (self.table4 or {}).get(
            "kernels", ())


_REGISTRY = {}


def register(method, *, replace=False):
    """Add ``method`` (a :class:`Method`) to the registry; returns it.

    Register at import time of the module that defines it: ``python -m numser.cv --jobs N``
    runs tasks in fresh processes, which import that module again (docs/extending.md).

    Raises
    ------
    ParameterError
        When the name is taken (unless ``replace``), is not a plain word with dashes, or an axis
        is unknown.
    """
    if not isinstance(method, Method):
        raise ParameterError(f"register() takes a numser.methods.Method, got {type(method).__name__}")
    if not method.name or not all(c.isalnum() or c == "-" for c in method.name):
        raise ParameterError(f"method name {method.name!r}: use letters, digits and '-' only "
                             "(it becomes part of file names)")
    if method.name in _REGISTRY and not replace:
        raise ParameterError(f"method {method.name!r} is already registered")
    unknown = [a for a in method.axes if a not in AXES]
    if unknown:
        raise ParameterError(f"method {method.name!r}: unknown axes {unknown}; "
                             f"choose from {', '.join(AXES)}")
    _REGISTRY[method.name] = method
    return method


def unregister(name):
    """Remove a method from the registry (a test's clean-up); unknown names are ignored."""
    _REGISTRY.pop(name, None)


def find(name):
    """The registered :class:`Method` called ``name``, or None."""
    return _REGISTRY.get(name)


def get(name, what="method"):
    """The registered :class:`Method` called ``name``; ParameterError naming the choices if none."""
    method = _REGISTRY.get(name)
    if method is None:
        raise ParameterError(f"unknown {what} {name!r}; choose one of {', '.join(names())}")
    return method


def names(*, default=None, proposed=None, figure=None):
    """Registered method names in task order, optionally only those with the given flags."""
    return tuple(m.name for m in _REGISTRY.values()
                 if (default is None or m.default == default)
                 and (proposed is None or m.proposed == proposed)
                 and (figure is None or m.figure == figure))


def table_rank(name):
    """Sort key of a method's rows in the tables (unregistered methods last)."""
    method = _REGISTRY.get(name)
    return method.table_row if method is not None else math.inf


def is_proposed(name):
    method = _REGISTRY.get(name)
    return method is not None and method.proposed


# --- the paper's methods (docs/spec.md §3-4), in the order their tasks run: the proposed models
# first, the slowest last, so a run cut short has the headline rows --------------------------

def _cnn3d_label(config):
    return f"depth {config.depth}, {'x'.join(map(str, config.kernel))}"


def _kS_label(config):
    return f"kS {config.kernel[2]}"


def _cnn3d_count(counts):
    """The paper's 3D counts are for depth 3 only, by kernel."""
    return lambda config: counts.get(tuple(config.kernel)) if config.depth == 3 else None


def _cnn3d_ua(by_kernel):
    """The paper's 3D UAs: (mean, std) by kernel at depth 3; .250 for every Table 4 kernel at
    depth 2 (all its test utterances classified as one class)."""
    def paper_ua(config):
        kernel = tuple(config.kernel)
        if config.depth == 2:
            return (.250, None) if kernel in TABLE4_KERNELS else None
        return by_kernel.get(kernel) if config.depth == 3 else None
    return paper_ua


_CNN3D = dict(input_kind="volume", axes=("kernel", "depth"), label=_cnn3d_label,
              table4={"kernels": TABLE4_KERNELS, "depths": (3, 2)}, proposed=True, default=True)

register(Method("3d-cnn-dnn", functools.partial(cnn3d, per_step=False), **_CNN3D,
                paper_params_k=_cnn3d_count({(2, 2, 2): 798, (2, 2, 32): 793, (2, 2, 128): 807}),
                paper_ua=_cnn3d_ua({k: v[2:] for k, v in PAPER_TABLE3.items()}),
                table3={"kernels": TABLE3_KERNELS, "depths": (3,)}, figure=True, table_row=5,
                check=functools.partial(cnn3d_pools, per_step=False)))
register(Method("3d-cnn-dnn-elm", functools.partial(cnn3d, per_step=True), **_CNN3D,
                paper_params_k=_cnn3d_count({(2, 2, 2): 528, (2, 2, 32): 531, (2, 2, 128): 546}),
                paper_ua=_cnn3d_ua({(2, 2, 2): (.495, .05), (2, 2, 32): (.516, .02),
                                    (2, 2, 128): (.512, .03)}),
                table_row=6, check=functools.partial(cnn3d_pools, per_step=True)))
register(Method("dnn-elm", frame_dnn, "lld", axes=("context",),
                label=lambda config: f"3 x FC 256, context {config.context}",
                paper_params_k=lambda config: 141, paper_ua=lambda config: (.384, .05),
                table4={}, default=True, figure=True, table_row=0))
register(Method("lstm-elm", frame_lstm, "lld", label=lambda config: "2 x LSTM 128",
                paper_params_k=lambda config: 214, paper_ua=lambda config: (.421, .11),
                table4={}, default=True, figure=True, table_row=1))
register(Method("2d-cnn-lstm", functools.partial(cnn2d_lstm, dnn=False), "volume", axes=("kS",),
                label=_kS_label,
                paper_params_k=lambda config: {2: 264, 32: 268, 128: 282}.get(config.kernel[2]),
                paper_ua=lambda config: {2: (.318, .01), 32: (.323, .01), 128: (.306, .03)}.get(
                    config.kernel[2]),
                table4={"kernels": TABLE4_KERNELS}, table_row=3))
register(Method("2d-cnn-lstm-dnn", functools.partial(cnn2d_lstm, dnn=True), "volume",
                axes=("kS",), label=_kS_label,
                paper_params_k=lambda config: {2: 595, 32: 607, 128: 611}.get(config.kernel[2]),
                paper_ua=lambda config: {2: (.329, .02), 32: (.350, .03), 128: (.313, .01)}.get(
                    config.kernel[2]),
                table4={"kernels": TABLE4_KERNELS}, figure=True, table_row=4))
register(Method("1d-cnn-lstm", cnn1d_lstm, "waveform", axes=("cells",),
                label=lambda config: f"2 x LSTM {config.cells}",
                paper_params_k=lambda config: {128: 1583, 256: 2211}.get(config.cells),
                paper_ua=lambda config: {128: (.391, .06), 256: (.380, .03)}.get(config.cells),
                table4={"cells": (128, 256)}, table_row=2))

"""Build the model of any registered method (:mod:`numser.methods`) from its configuration.

:func:`build` checks the arguments, draws the weights with the method's builder
(:mod:`numser.networks`) and casts them; :class:`ModelConfig` is everything that fixes an
architecture, saved beside the weights; :func:`check_config` checks a configuration without
building it, :func:`check_saved_config` one read from a file.
"""
from dataclasses import asdict, dataclass, fields

import numpy as np

from numser import methods
from numser.errors import FileFormatError, ParameterError
from numser.methods import TABLE3_KERNELS, TABLE4_KERNELS  # noqa: F401 - where callers found them
from numser.networks import (LLD_DIM, LLD_FRAMES, N_CLASSES, VOLUME,  # noqa: F401 - as above
                             WAVE_LEN, WAVE_STEPS, Model)


@dataclass(frozen=True)
class ModelConfig:
    """Everything that fixes a model's architecture; saved beside its weights.

    Parameters
    ----------
    method : str
        A registered method (:func:`numser.methods.names`).
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

    method: str = methods.names(proposed=True)[0]
    kernel: tuple = (2, 2, 128)
    depth: int = 3
    cells: int = 128
    context: int = 1
    seed: int = 0

    def label(self):
        """Short human-readable configuration, as in Table 4's 'configuration' column."""
        return methods.get(self.method).label(self)

    def paper_params_k(self):
        """The paper's Table 4 parameter count (thousands) for this configuration, or None."""
        return methods.get(self.method).paper_params_k(self)

    def paper_ua(self):
        """The paper's UA (mean, std; std None where it prints none) for this configuration, or
        None."""
        return methods.get(self.method).paper_ua(self)


def check_config(method, *, kernel=(2, 2, 128), depth=3, cells=128, context=1, seed=0):
    """The :class:`ModelConfig` of these arguments, checked as :func:`build` checks them, with
    no weight drawn.

    Raises
    ------
    ParameterError
        For an unknown method, a malformed kernel, or a configuration whose shapes do not fit the
        input (a depth that pools an axis to zero).
    """
    spec = methods.get(method)
    kernel = tuple(int(k) for k in np.atleast_1d(kernel))
    if len(kernel) != 3 or min(kernel) < 1:
        raise ParameterError(f"kernel must be three positive ints (kL, kT, kS), got {kernel}")
    if "depth" in spec.axes and int(depth) < 1:
        raise ParameterError(f"depth must be >= 1, got {depth}")
    if cells < 1 or context < 1 or context % 2 == 0:
        raise ParameterError(f"cells must be >= 1 and context a positive odd number, "
                             f"got cells={cells}, context={context}")
    config = ModelConfig(method, kernel, int(depth), int(cells), int(context), int(seed))
    if spec.check is not None:
        spec.check(config)
    return config


def build(method, *, kernel=(2, 2, 128), depth=3, cells=128, context=1, seed=0,
          dtype=np.float32, verbose=False):
    """Build the model of ``method`` (a registered method) with the given configuration.

    Raises
    ------
    ParameterError
        As :func:`check_config`.
    """
    config = check_config(method, kernel=kernel, depth=depth, cells=cells, context=context,
                          seed=seed)
    rng = np.random.default_rng(seed)
    model = methods.get(method).build(config, rng)
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


#: Bounds that hold for every architecture the paper uses, with room; a file outside them is
#: refused before anything is built (so a damaged number cannot allocate gigabytes).
_LIMITS = {"depth": (1, 10), "cells": (1, 4096), "context": (1, 199), "seed": (0, 2**63 - 1)}


def check_saved_config(path, config):
    """A ModelConfig dict read from file ``path``, checked field by field before anything is
    built; FileFormatError (``where="meta.config"``) naming what is wrong."""
    names = {f.name for f in fields(ModelConfig)}
    if not isinstance(config, dict) or set(config) != names:
        raise FileFormatError(path, f"needs exactly the fields {sorted(names)}",
                              where="meta.config")
    if not isinstance(config["method"], str) or methods.find(config["method"]) is None:
        raise FileFormatError(path, f"unknown method {config['method']!r}", where="meta.config")
    kernel = config["kernel"]
    if not (isinstance(kernel, list) and len(kernel) == 3
            and all(type(k) is int and 1 <= k <= n for k, n in zip(kernel, VOLUME))):
        raise FileFormatError(path, f"kernel {kernel!r} is not 3 ints within {VOLUME}",
                              where="meta.config")
    for name, (lo, hi) in _LIMITS.items():
        if type(config[name]) is not int or not lo <= config[name] <= hi:
            raise FileFormatError(path, f"{name} {config[name]!r} is not an int in {lo}..{hi}",
                                  where="meta.config")
    if config["context"] % 2 == 0:
        raise FileFormatError(path, f"context {config['context']} is not odd", where="meta.config")
    return config

"""The neural core: layers with hand-written backward passes, Numba kernels, Adam, gradient checks."""
from numser.nn.layer import Layer, backward, forward, n_params, parameters

__all__ = ["Layer", "forward", "backward", "parameters", "n_params"]

"""numser: Kim et al. 2017, *Learning Spectro-Temporal Features with 3D CNNs for Speech Emotion
Recognition*, and its speaker-independent protocol, written from scratch in NumPy and Numba."""
from numser.errors import AudioError, ParameterError

__version__ = "0.1.0"

#: The four classes, in this order everywhere (SPEC §1): index 0..3.
CLASSES = ("neutral", "happy", "sad", "angry")

__all__ = ["AudioError", "ParameterError", "CLASSES", "__version__"]

"""numser: Kim et al. 2017, *Learning Spectro-Temporal Features with 3D CNNs for Speech Emotion
Recognition*, and its speaker-independent protocol, written from scratch in NumPy and Numba."""
from numser.thread_policy import single_thread_blas

# First, before any numser module imports NumPy: BLAS gets one thread, the cores go to Numba.
single_thread_blas()

from numser.errors import AudioError, FileFormatError, OutputError, ParameterError  # noqa: E402,E501

__version__ = "0.1.0"

#: The four classes, in this order everywhere (docs/spec.md §1): index 0..3.
CLASSES = ("neutral", "happy", "sad", "angry")

__all__ = ["AudioError", "FileFormatError", "OutputError", "ParameterError", "CLASSES", "__version__"]

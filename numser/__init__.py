"""numser: Kim et al. 2017, *Learning Spectro-Temporal Features with 3D CNNs for Speech Emotion
Recognition*, and its speaker-independent protocol, written from scratch in NumPy and Numba."""
import os

# numser runs its hot loops in parallel Numba kernels; a second thread pool inside OpenBLAS/MKL
# fighting for the same cores made training steps 1.3-4x slower on 2 cores (docs/performance.md).
# setdefault: a user's own setting wins; it only takes effect if NumPy is not imported yet.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from numser.errors import AudioError, FileFormatError, OutputError, ParameterError  # noqa: E402,E501

__version__ = "0.1.0"

#: The four classes, in this order everywhere (docs/spec.md §1): index 0..3.
CLASSES = ("neutral", "happy", "sad", "angry")

__all__ = ["AudioError", "FileFormatError", "OutputError", "ParameterError", "CLASSES", "__version__"]

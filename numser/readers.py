"""The parsing step every reader of numser's own files shares: JSON and ``.npz`` that either load
or raise :class:`~numser.errors.FileFormatError` naming the file, plus checks of what was loaded.

A reader is *total*: for any bytes at its path it returns a valid object or raises numser's error
type with the path in the message — never a ``KeyError``, ``zipfile.BadZipFile``, ``RecursionError``
or ``MemoryError`` from deep inside the standard library or NumPy (tests/test_fuzz.py tries
thousands of damaged files on every reader).
"""
import json
import math
import numbers

import numpy as np

from numser.errors import FileFormatError


def _why(e):
    """An exception as a short one-line reason."""
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:160]}{'…' if len(text) > 160 else ''}"


def read_json(path, what="JSON file"):
    """The value of a UTF-8 JSON file; FileFormatError when it cannot be read or parsed."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        return json.loads(raw.decode("utf-8"))
    except OSError as e:
        raise FileFormatError(path, f"cannot be read ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise FileFormatError(path, f"damaged {what}: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise FileFormatError(path, f"damaged {what}: {e.msg} at line {e.lineno} column "
                                    f"{e.colno} (cut off, or not JSON)") from None
    except (ValueError, RecursionError) as e:     # e.g. nesting too deep, a huge integer
        raise FileFormatError(path, f"damaged {what} ({_why(e)})") from None


def _np_load(path, what):
    """``np.load`` without pickles; any failure to open or parse is a FileFormatError."""
    try:
        return np.load(path, allow_pickle=False)
    except OSError as e:
        raise FileFormatError(path, f"cannot be read ({e.strerror or _why(e)})") from None
    except Exception as e:                         # noqa: BLE001 - every parse failure is one
        raise FileFormatError(path, f"damaged {what} ({_why(e)})") from None


def read_npz(path, what=".npz archive"):
    """Every array of an ``.npz`` file, read eagerly, as ``{name: ndarray}``.

    Pickled (object) arrays are refused: numser never writes them and loading one runs code.
    Any failure of the zip or ``.npy`` layers (cut off, bad CRC, a header that declares an absurd
    shape) becomes a FileFormatError naming the file and the member.
    """
    data = _np_load(path, what)
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise FileFormatError(path, f"damaged {what}: it holds a single array, not an archive")
    out = {}
    with data:
        for name in data.files:
            try:
                out[name] = data[name]
            except Exception as e:                 # noqa: BLE001 - same: the file is damaged
                raise FileFormatError(path, f"damaged {what}: member '{name}' ({_why(e)})") \
                    from None
    return out


def read_npy(path, what=".npy array"):
    """The array of a ``.npy`` file (no pickled objects); FileFormatError when it is damaged."""
    data = _np_load(path, what)
    if not isinstance(data, np.ndarray):
        data.close()
        raise FileFormatError(path, f"damaged {what}: it is an .npz archive, not one array")
    return data


def is_int(value, low=None, high=None):
    """A true integer (not a bool, not a float) within [low, high]."""
    return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and (low is None or value >= low) and (high is None or value <= high))


def is_number(value, low=-math.inf, high=math.inf, finite=True):
    """A real number (not a bool) within [low, high]; finite unless ``finite=False``."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    if math.isnan(value) or math.isinf(value):
        return not finite
    return low <= value <= high


def require(condition, path, reason, where=None):
    """Raise FileFormatError(path, reason, where) unless ``condition``."""
    if not condition:
        raise FileFormatError(path, reason, where)


def array_like(path, arrays, name, shape, where=None):
    """``arrays[name]`` as a finite float array of exactly ``shape``; FileFormatError otherwise."""
    require(name in arrays, path, f"array '{name}' is missing", where)
    a = arrays[name]
    require(a.dtype.kind == "f", path, f"array '{name}' has dtype {a.dtype}, not floating", where)
    require(a.shape == tuple(shape), path,
            f"array '{name}' has shape {a.shape}, expected {tuple(shape)}", where)
    require(np.isfinite(a).all(), path, f"array '{name}' holds NaN or infinite values", where)
    return a

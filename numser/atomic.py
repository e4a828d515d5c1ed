"""Atomic file writes: a reader, or a run that resumes after a kill, sees a whole file or none.

Every file numser writes goes through :func:`atomic_open`: the data goes to a temporary file in
the target's folder (so the rename stays on one filesystem), which ``os.replace`` renames over
the target only once it is complete; on any error the temporary file is removed.
"""
import contextlib
import json
import os
import tempfile

import numpy as np


@contextlib.contextmanager
def atomic_open(path, mode="wb", encoding=None, newline=None):
    """Open a temporary file beside ``path`` for writing; rename it to ``path`` on success.

    >>> with atomic_open("out/x.txt", "w", encoding="utf-8") as f:   # doctest: +SKIP
    ...     f.write("all or nothing")
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # The suffix keeps the real extension last: np.save / savefig would otherwise append theirs.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp" + os.path.splitext(path)[1])
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_json(path, data, indent=1):
    """``json.dump`` ``data`` to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=indent)


def write_text(path, text):
    """Write a string to ``path`` atomically (UTF-8)."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)


def save_npy(path, array):
    """``np.save`` to ``path`` atomically."""
    with atomic_open(path) as f:
        np.save(f, array)


def savez(path, **arrays):
    """``np.savez`` to ``path`` atomically."""
    with atomic_open(path) as f:
        np.savez(f, **arrays)

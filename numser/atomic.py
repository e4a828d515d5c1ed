"""Atomic file writes: a reader, or a run that resumes after a kill, sees a whole file or none.

Every file numser writes goes through :func:`atomic_open`: the data goes to a temporary file in
the target's folder (so the rename stays on one filesystem), which ``os.replace`` renames over
the target only once it is complete, with the permissions ``open`` gives a new file (the
umask's); on any error the temporary file is removed. A failure of
the file system (the folder cannot be created, is read-only, the disk is full) is raised as an
:class:`~numser.errors.OutputError` naming the target path.
"""
import contextlib
import errno
import json
import os
import tempfile

import numpy as np

from numser.errors import OutputError

#: errno values that can only mean the write itself failed (not, say, a file read in the block);
#: an OSError without a file name raised in the block is also taken as the write's (f.write's
#: errors carry none, opening another file's do).
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}

#: The process's file-creation mask, read once at import (reading it means setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_open(path, mode="wb", encoding=None, newline=None):
    """Open a temporary file beside ``path`` for writing; rename it to ``path`` on success.

    >>> with atomic_open("out/x.txt", "w", encoding="utf-8") as f:   # doctest: +SKIP
    ...     f.write("all or nothing")
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        # The suffix keeps the real extension last: np.save / savefig would otherwise append theirs.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                                   suffix=".tmp" + os.path.splitext(path)[1])
    except OSError as e:
        raise OutputError(path, e) from e
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            os.chmod(tmp, 0o666 & ~_UMASK)    # mkstemp made it 0600; give it open()'s mode
            yield f
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise OutputError(path, e) from e
    except BaseException as e:
        failed_write = isinstance(e, OSError) and not isinstance(e, OutputError) \
            and (e.errno in _WRITE_ERRNOS or e.filename is None)
        if failed_write and e.errno is None and _disk_full(folder):
            # ndarray.tofile reports a short write without errno: "N requested and M written"
            e = OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)}: {e}")
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if failed_write:
            raise OutputError(path, e) from e
        raise


def _disk_full(folder):
    try:
        return os.statvfs(folder).f_bavail == 0
    except OSError:
        return False


def check_writable(folder):
    """Create ``folder`` if needed and write (then remove) a probe file in it.

    Commands call it on their output folders before any long work, so an ``--out`` that cannot
    be written fails at once rather than after the features are extracted.

    Raises
    ------
    OutputError
        Naming ``folder``; folders this call created are removed again.
    """
    folder = os.path.abspath(os.fspath(folder))
    created, parent = [], folder
    while parent and not os.path.lexists(parent) and parent != os.path.dirname(parent):
        created.append(parent)
        parent = os.path.dirname(parent)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".numser-write-check.")
        try:
            os.write(fd, b"numser")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.remove(probe)
    except OSError as e:
        for made in created:                       # deepest first
            with contextlib.suppress(OSError):
                os.rmdir(made)
        raise OutputError(folder, e) from e


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

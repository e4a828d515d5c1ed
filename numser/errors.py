"""The errors numser raises for bad input: a bad audio file, a bad argument or configuration, a
malformed file of another kind (manifest, split file, model file, task result, checkpoint, cache
entry), and an output file that cannot be written. Each message names what was wrong and what to
do; a command prints it as one line. docs/errors.md lists every message."""
import errno as _errno


class AudioError(ValueError):
    """A bad audio file. The message names the file, the reason and what happens next.

    Example: ``"emodb/wav/x.flac: 0 samples (empty file); skipped in the corpus scan"``.
    """


class ParameterError(ValueError):
    """A bad argument or configuration. The message quotes the value and says what would work."""


class FileFormatError(ValueError):
    """A file numser reads that is damaged or not what it should be.

    The message always starts with the path, then where in the file (a row or a field) and the
    reason: ``FileFormatError("runs/x/folds.csv", "speaker 'emodb:03' is both test and train",
    where="row 7")`` reads ``"runs/x/folds.csv, row 7: speaker 'emodb:03' is both test and train"``.
    ``path``, ``where`` and ``reason`` stay available as attributes.
    """

    def __init__(self, path, reason, where=None):
        self.path, self.reason, self.where = str(path), reason, where
        super().__init__(f"{self.path}{', ' + where if where else ''}: {reason}")

    def __reduce__(self):          # so a worker process can hand it to the command intact
        return type(self), (self.path, self.reason, self.where)


class OutputError(OSError):
    """A file numser cannot write: the folder cannot be created, is read-only, or the disk is full.

    An ``OSError`` (``errno``, ``strerror`` and ``filename`` are those of the failure), whose
    message starts with the path: ``"runs/x/run.json: cannot write (No space left on device);
    free some space or choose another folder"``. Nothing half-written is left at the path.
    """

    def __init__(self, path, cause):
        super().__init__(cause.errno, cause.strerror or str(cause), str(path))
        self.path = str(path)

    def __reduce__(self):          # so a worker process can hand it to the command intact
        return _output_error, (self.path, self.errno, self.strerror)

    def __str__(self):
        hint = ("free some space or choose another folder"
                if self.errno in (_errno.ENOSPC, _errno.EDQUOT, _errno.EFBIG) else
                "choose a folder you can create and write (a parent must not be a regular file)")
        return f"{self.path}: cannot write ({self.strerror}); {hint}"


def _output_error(path, errno, strerror):
    return OutputError(path, OSError(errno, strerror))

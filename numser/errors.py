"""The errors numser raises for bad input: a bad audio file, a bad argument or configuration, and
a malformed file of another kind (manifest, split file, model file, task result, checkpoint, cache
entry). Each message names what was wrong and what to do; a command prints it as one line."""


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

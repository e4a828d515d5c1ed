"""The two errors numser raises for bad input: a bad audio file and a bad argument or config."""


class AudioError(ValueError):
    """A bad audio file. The message names the file, the reason and what happens next.

    Example: ``"emodb/wav/x.flac: 0 samples (empty file); skipped in the corpus scan"``.
    """


class ParameterError(ValueError):
    """A bad argument or configuration. The message quotes the value and says what would work."""

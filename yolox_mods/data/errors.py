"""Errors for bad input: one line that names the offending file."""


class DataError(ValueError):
    """Bad or missing input data; the message names the file or folder."""


class CheckpointError(ValueError):
    """A checkpoint that is truncated, unreadable or for another model; the message names the file."""


class WriteError(OSError):
    """An artefact could not be written (disk full, file-size limit, permissions); the previous file is kept."""

"""Errors for bad input: one line that names the offending file."""


class DataError(ValueError):
    """Bad or missing input data; the message names the file or folder."""


class CheckpointError(ValueError):
    """A checkpoint that is truncated, unreadable or for another model; the message names the file."""

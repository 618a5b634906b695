"""One error hierarchy for both halves. A ``UserError`` is bad input from the user (a file, a flag, a value):
a CLI's ``main`` turns it into one ``error:`` line. Anything else is a bug and keeps its traceback."""


class UserError(Exception):
    """Bad input or a failed run the user can act on; the message is complete on one line."""


class ConfigError(UserError, ValueError):
    """A bad option, override, recipe key or value; the message names it."""


class DataError(UserError, ValueError):
    """Bad or missing input data; the message names the file or folder."""


class CheckpointError(UserError, ValueError):
    """A checkpoint that is truncated, unreadable or for another model; the message names the file."""


class WriteError(UserError, OSError):
    """An artefact could not be written (disk full, file-size limit, permissions); the previous file is kept."""


class NonFiniteLossError(UserError, RuntimeError):
    """Training produced a NaN/Inf loss; the message names where and the last good checkpoint."""

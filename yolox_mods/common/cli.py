"""The one place a CLI turns a user error into one ``error:`` line and exit code 2."""
import functools
import sys

from .errors import UserError
from .worker_guard import worker_death_message


def exits_cleanly_on_bad_input(main):
    """A ``UserError`` (bad data, checkpoint, option or recipe, a diverged loss, a failed write) or a dead loader
    worker ends the program with one 'error:' line and exit code 2; any other exception is a bug and keeps its
    traceback."""
    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as error:
            fail(str(error))
        except RuntimeError as error:
            message = worker_death_message(error)
            if message is None:
                raise
            fail(message)
    return wrapper


def fail(message: str) -> None:
    """Print ``error: message`` on the real stderr and exit with code 2."""
    try:
        from loguru import logger

        logger.remove()
    except ImportError:
        pass
    # YOLOX's setup_logger reroutes sys.stderr through loguru; write to the real one
    print(f"error: {message}", file=sys.__stderr__, flush=True)
    sys.exit(2)

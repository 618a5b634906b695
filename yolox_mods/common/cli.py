"""The one place a CLI turns a user error into one ``error:`` line and exit code 2."""
import functools
import os
import sys
from typing import List, Tuple

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


# the project's CLIs that keep both cores busy; two at once slow each other several-fold (docs/results.md)
HEAVY_COMMANDS = ("tools/train.py", "tools/eval.py", "tools/benchmark.py", "tools/quickstart.py", "tools/demo.py",
                  "classification.compress", "classification.block_study", "classification.evaluate")


def other_jobs() -> List[Tuple[int, str]]:
    """(pid, command line) of the project's heavy CLIs running in other process trees than this one."""
    import psutil

    me = psutil.Process()
    family = {me.pid, *(p.pid for p in me.parents()), *(c.pid for c in me.children(recursive=True))}
    jobs = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["pid"] not in family and any(c in cmdline for c in HEAVY_COMMANDS):
            try:
                if process.parent() is not None and any(c in " ".join(process.parent().cmdline())
                                                        for c in HEAVY_COMMANDS):
                    continue  # a loader worker or a spawned rank of a job already listed
            except psutil.Error:
                pass
            jobs.append((process.info["pid"], cmdline))
    return jobs


def warn_if_cores_are_shared(warn) -> None:
    """Call ``warn(message)`` once if another heavy job of this project is running on this machine."""
    jobs = other_jobs()
    if jobs:
        pid, cmdline = jobs[0]
        warn(f"another job is using this machine's {os.cpu_count()} cores (pid {pid}: {cmdline[:120]}"
             f"{f' and {len(jobs) - 1} more' if len(jobs) > 1 else ''}); on 2 cores two torch jobs slow each other "
             "several-fold (docs/results.md): timings and speeds of this run are not comparable")

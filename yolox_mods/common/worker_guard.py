"""Loader-worker failures reported as one line naming the sample, for detection and classification alike.

PyTorch reports an exception in a worker as a multi-line traceback and a worker killed by a signal (OOM killer,
a segfault in a decoder) only by its pid. ``SampleTracker`` records, in shared memory, which sample each worker
is loading; ``GuardedLoaderMixin`` turns both kinds of failure into a ``DataError`` that names that sample.
"""
import contextlib
import os
import re
import signal
import threading
import time
import weakref
from typing import Optional, Sequence

import torch
from torch.utils.data import DataLoader, get_worker_info

from .errors import DataError

_WORKER_DIED = re.compile(r"DataLoader worker \(pid\(?s?\)? ([\d, ]+)\)(.*)")
_WORKER_ERROR = re.compile(r"^\S*DataError: (.*)$", re.MULTILINE)
_LIVE_TRACKERS = weakref.WeakSet()


def _sample_index(index) -> int:
    # YOLOX's YoloBatchSampler passes (mosaic_enabled, index) pairs
    return int(index[1] if isinstance(index, (tuple, list)) else index)


class SampleTracker(torch.utils.data.Dataset):
    """``dataset`` unchanged, plus a note per worker of the sample index it is loading and its pid.

    ``sample_names[i]`` names sample ``i`` in messages (its file path). An exception other than ``DataError``
    raised while loading is re-raised as a one-line ``DataError`` naming the sample.
    """

    def __init__(self, dataset, sample_names: Sequence[str], num_workers: int):
        self.dataset = dataset
        self.sample_names = list(sample_names)
        slots = max(num_workers, 1)
        self.current = torch.full((slots,), -1, dtype=torch.long).share_memory_()
        self.pids = torch.zeros(slots, dtype=torch.long).share_memory_()
        _LIVE_TRACKERS.add(self)

    def __len__(self):
        return len(self.dataset)

    def __getattr__(self, name):
        # attributes of the wrapped dataset (records, class names) stay reachable through the loader
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def describe(self, index: int) -> str:
        return f"sample {index} ({self.sample_names[index]})" if 0 <= index < len(self.sample_names) else \
            f"sample {index}"

    def __getitem__(self, index):
        worker = get_worker_info()
        slot = worker.id if worker is not None else 0
        sample = _sample_index(index)
        self.current[slot] = sample
        self.pids[slot] = os.getpid()
        try:
            return self.dataset[index]
        except DataError:
            raise
        except Exception as error:
            raise DataError(f"{self.describe(sample)}: {type(error).__name__}: {error}".splitlines()[0]) from None

    def in_flight(self, pids: Sequence[int]) -> Optional[str]:
        """The samples the worker processes ``pids`` were last loading, if they are this tracker's workers."""
        samples = [self.describe(int(index)) for index, pid in zip(self.current, self.pids)
                   if int(pid) in set(pids) and index >= 0]
        return ", ".join(samples) or None


def worker_death_message(error: BaseException) -> Optional[str]:
    """PyTorch's "DataLoader worker (pid N) ..." error rephrased with the sample that worker was loading, or None
    for any other error. PyTorch raises it from a SIGCHLD handler, so it can surface anywhere in the main
    process, not only where batches are fetched."""
    died = _WORKER_DIED.search(str(error)) if isinstance(error, RuntimeError) else None
    if died is None:
        return None
    pids = [int(p) for p in died.group(1).replace(" ", "").split(",") if p]
    return _death_message(died.group(2).strip(" .").removeprefix("is ") or "exited", pids)


def _death_message(how: str, pids: Sequence[int]) -> str:
    where = next(filter(None, (tracker.in_flight(pids) for tracker in list(_LIVE_TRACKERS))), "an unknown sample")
    return f"a data loader worker died ({how}) while loading {where}"


def _exit_description(exitcode: int) -> str:
    return f"killed by signal: {signal.strsignal(-exitcode)}" if exitcode < 0 else f"exited with code {exitcode}"


@contextlib.contextmanager
def sigchld_silenced():
    """PyTorch's SIGCHLD handler switched off (main thread only): it raises its own error from whatever line runs
    when a dead worker is reaped, and a failure being handled must not be interrupted by a second report of it."""
    if not hasattr(signal, "SIGCHLD") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGCHLD, previous)


class _GuardedIterator:
    def __init__(self, loader):
        self.loader = loader
        self.batches = super(GuardedLoaderMixin, loader).__iter__()

    def __iter__(self):
        return self

    def __len__(self):
        return len(self.batches)

    def __next__(self):
        try:
            return next(self.batches)
        except (DataError, RuntimeError, ConnectionError, EOFError) as error:
            with sigchld_silenced():
                message = self._failure_message(error)
                if message is None:
                    raise
                self._stop_workers()
            raise DataError(message) from None

    def _failure_message(self, error: BaseException) -> Optional[str]:
        if isinstance(error, DataError):
            # a worker's DataError arrives wrapped in PyTorch's "Caught ... Original Traceback" text
            messages = _WORKER_ERROR.findall(str(error))
            return messages[-1] if messages else str(error)
        if isinstance(error, RuntimeError):
            return worker_death_message(error)
        # A worker killed just after queueing a batch leaves that batch's shared-memory handle unreadable, and
        # PyTorch re-raises the lost connection if the worker is not yet seen dead.
        return self._dead_worker_message()

    def _dead_worker_message(self, patience_s: float = 2.0) -> Optional[str]:
        workers = getattr(self.batches, "_workers", [])
        deadline = time.monotonic() + patience_s
        while True:
            dead = [worker for worker in workers if worker.exitcode not in (None, 0)]
            if dead or not workers or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        if not dead:
            return None
        return _death_message(_exit_description(dead[0].exitcode), [worker.pid for worker in dead])

    def _stop_workers(self):
        # PyTorch keeps the remaining workers until the failed iterator is garbage-collected (then waits 5 s for
        # each), and a persistent loader would hand the same broken iterator out again.
        shutdown = getattr(self.batches, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
        if getattr(self.loader, "_iterator", None) is self.batches:
            self.loader._iterator = None


class GuardedLoaderMixin:
    """Put before a ``DataLoader`` class: its iterators raise ``DataError`` naming the sample a worker failed on
    (and stop the loader's workers). ``sample_names[i]`` names sample ``i`` (its file path); the dataset is
    wrapped in a ``SampleTracker``, which passes attribute lookups on to it."""

    def __init__(self, dataset, *args, sample_names: Sequence[str], **kwargs):
        super().__init__(SampleTracker(dataset, sample_names, kwargs.get("num_workers", 0)), *args, **kwargs)

    def __iter__(self):
        return _GuardedIterator(self)


class GuardedDataLoader(GuardedLoaderMixin, DataLoader):
    """``torch.utils.data.DataLoader`` with worker failures named (see ``GuardedLoaderMixin``)."""

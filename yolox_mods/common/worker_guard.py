"""Loader-worker failures reported as one line naming the sample, for detection and classification alike.

PyTorch reports an exception in a worker as a multi-line traceback and a worker killed by a signal (OOM killer,
a segfault in a decoder) only by its pid. ``SampleTracker`` records, in shared memory, which sample each worker
is loading; ``GuardedLoaderMixin`` turns both kinds of failure into a ``DataError`` that names that sample.
"""
import os
import re
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
    how = died.group(2).strip(" .").removeprefix("is ") or "exited"
    where = next(filter(None, (tracker.in_flight(pids) for tracker in list(_LIVE_TRACKERS))), "an unknown sample")
    return f"a data loader worker died ({how}) while loading {where}"


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
        except DataError as error:
            # a worker's DataError arrives wrapped in PyTorch's "Caught ... Original Traceback" text
            messages = _WORKER_ERROR.findall(str(error))
            self._stop_workers()
            raise DataError(messages[-1] if messages else str(error)) from None
        except RuntimeError as error:
            message = worker_death_message(error)
            if message is None:
                raise
            self._stop_workers()
            raise DataError(message) from None

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

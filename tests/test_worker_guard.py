"""Loader workers that raise or die are reported in one line naming the sample (issue 6, item 5)."""
import os
import signal

import pytest
import torch

from yolox_mods.common import DataError, GuardedDataLoader
from yolox_mods.common.worker_guard import sigchld_silenced


class FaultyDataset(torch.utils.data.Dataset):
    """Ten scalar samples; sample ``bad`` fails the way ``fault`` says."""

    def __init__(self, fault, bad=5):
        self.fault, self.bad = fault, bad

    def __len__(self):
        return 10

    def __getitem__(self, index):
        if index == self.bad:
            if self.fault == "sigkill":  # only ever used with workers > 0
                os.kill(os.getpid(), signal.SIGKILL)
            if self.fault == "data-error":
                raise DataError(f"img_{index}.jpg: unreadable or corrupt image (truncated)")
            if self.fault == "raise":
                raise ValueError("cannot reshape array of size 3 into shape (2,2)\nsecond line")
        return torch.tensor(float(index))


def batches(fault, workers):
    names = [f"/data/img_{i}.jpg" for i in range(10)]
    return list(GuardedDataLoader(FaultyDataset(fault), sample_names=names, batch_size=2, num_workers=workers))


def test_killed_worker_is_reported_with_its_sample():
    with pytest.raises(DataError) as error:
        batches("sigkill", workers=2)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("a data loader worker died (")
    assert message.endswith("while loading sample 5 (/data/img_5.jpg)"), message


class LostConnection:
    """A loader iterator whose next batch cannot be unpickled: its worker died holding the batch's memory."""

    def __init__(self, batches):
        self.batches = batches

    def __next__(self):
        raise ConnectionResetError(104, "Connection reset by peer")

    def __getattr__(self, name):
        return getattr(self.batches, name)


def test_lost_connection_to_a_killed_worker_is_reported_as_its_death():
    names = [f"/data/img_{i}.jpg" for i in range(10)]
    loader = GuardedDataLoader(FaultyDataset("none"), sample_names=names, batch_size=2, num_workers=2)
    batches = iter(loader)
    next(batches)
    victim = batches.batches._workers[0]
    with sigchld_silenced():  # or PyTorch's handler would report the death in this test's body
        os.kill(victim.pid, signal.SIGKILL)
        batches.batches = LostConnection(batches.batches)
        with pytest.raises(DataError) as error:
            next(batches)
    tracker = loader.dataset
    sample = int(tracker.current[tracker.pids.tolist().index(victim.pid)])
    assert str(error.value) == f"a data loader worker died (killed by signal: Killed) while loading sample " \
                               f"{sample} (/data/img_{sample}.jpg)"
    assert not any(worker.is_alive() for worker in batches.batches._workers)


def test_lost_connection_without_a_dead_worker_is_not_relabelled():
    loader = GuardedDataLoader(FaultyDataset("none"), sample_names=[f"img_{i}" for i in range(10)], batch_size=2,
                               num_workers=2)
    batches = iter(loader)
    next(batches)
    batches.batches = LostConnection(batches.batches)
    with pytest.raises(ConnectionResetError):
        next(batches)


@pytest.mark.parametrize("workers", [0, 2])
def test_worker_exception_becomes_one_line_naming_the_sample(workers):
    with pytest.raises(DataError) as error:
        batches("raise", workers)
    assert str(error.value) == "sample 5 (/data/img_5.jpg): ValueError: cannot reshape array of size 3 into shape (2,2)"


def test_data_error_from_a_worker_loses_the_traceback_text():
    with pytest.raises(DataError) as error:
        batches("data-error", workers=2)
    assert str(error.value) == "img_5.jpg: unreadable or corrupt image (truncated)"


def test_healthy_loader_is_unchanged_and_exposes_the_wrapped_dataset():
    loader = GuardedDataLoader(FaultyDataset("none"), sample_names=[f"img_{i}" for i in range(10)], batch_size=3,
                               num_workers=2)
    loaded = torch.cat(list(loader))
    dataset = loader.dataset
    assert loaded.tolist() == [float(i) for i in range(10)]
    assert dataset.bad == 5 and len(dataset) == 10


def test_persistent_loader_starts_fresh_workers_after_a_failure():
    loader = GuardedDataLoader(FaultyDataset("data-error"), sample_names=[f"img_{i}" for i in range(10)],
                               batch_size=2, num_workers=2, persistent_workers=True)
    for _ in range(2):
        with pytest.raises(DataError, match="img_5.jpg: unreadable"):
            list(loader)

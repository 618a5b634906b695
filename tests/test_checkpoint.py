"""Checkpoint writing and loading: atomic replacement, shape-matched fine-tuning, exact loading."""
import errno
import os
import subprocess
import sys

import pytest
import torch

from yolox_mods.common import CheckpointError, atomic_save, load_checkpoint, load_exact, load_matching
from yolox_mods.models import build_yolox


def test_disk_full_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = str(tmp_path / "latest_ckpt.pth")
    atomic_save({"model": {"w": torch.ones(3)}, "epoch": 1}, path)

    def full_disk(obj, file):
        file.write(b"partial bytes")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        atomic_save({"model": {"w": torch.zeros(3)}, "epoch": 2}, path)
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["latest_ckpt.pth"]  # no temporary file left behind


def test_fine_tune_load_lists_what_does_not_match():
    coco = build_yolox(80, 0.33, 0.25)
    voc = build_yolox(20, 0.33, 0.25)
    differences = load_matching(voc, coco.state_dict())
    assert differences and all("cls_preds" in line for line in differences)
    assert "head.cls_preds.0.weight: checkpoint (80, 64, 1, 1) vs model (20, 64, 1, 1)" in differences
    stem = "backbone.backbone.stem.conv.conv.weight"
    torch.testing.assert_close(voc.get_parameter(stem), coco.get_parameter(stem))


def test_exact_load_refuses_another_class_count():
    with pytest.raises(CheckpointError, match="ckpt.pth: checkpoint does not fit this model .* num_classes"):
        load_exact(build_yolox(20, 0.33, 0.25), build_yolox(80, 0.33, 0.25).state_dict(), "ckpt.pth")


FILE_SIZE_LIMITED_SAVE = """
import resource, signal, sys, torch
from yolox_mods.common import atomic_save
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the kernel then fails the write with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
try:
    atomic_save({"model": {"w": torch.zeros(1_000_000)}, "epoch": 2}, sys.argv[1])
except OSError as error:
    print(type(error).__name__, error.errno, error)
"""


def test_a_write_the_kernel_refuses_keeps_the_previous_checkpoint(tmp_path):
    """A real failed write (the file-size limit stands in for a full disk: the kernel stops the write part way)."""
    path = tmp_path / "latest_ckpt.pth"
    atomic_save({"model": {"w": torch.ones(3)}, "epoch": 1}, str(path))
    result = subprocess.run([sys.executable, "-c", FILE_SIZE_LIMITED_SAVE, str(path)], capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.strip() == (f"WriteError {errno.EFBIG} {path}: not written (File too large); "
                                     "any previous version is unchanged"), result.stderr
    assert load_checkpoint(str(path))["epoch"] == 1
    assert os.listdir(tmp_path) == ["latest_ckpt.pth"]


def test_an_atomic_write_gets_the_permissions_of_an_ordinary_one(tmp_path):
    from yolox_mods.common.io import atomic_write_text

    previous = os.umask(0o022)
    try:
        atomic_write_text(str(tmp_path / "atomic.json"), "{}")
        with open(tmp_path / "plain.json", "w") as file:
            file.write("{}")
    finally:
        os.umask(previous)
    assert os.stat(tmp_path / "atomic.json").st_mode & 0o777 == os.stat(tmp_path / "plain.json").st_mode & 0o777 \
        == 0o644

"""Faults during training: determinism, non-finite losses, truncated checkpoints."""
import os
import re
import subprocess
import sys

import pytest
import torch

from tests.faults import poisoned_exp, scaled_loss_exp
from yolox_mods.common import CheckpointError, load_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, "tools", "train.py")

pytestmark = pytest.mark.slow

POISONED_EXP = poisoned_exp("len(calls) >= 3", "from the 3rd iteration on")


def train(voc, out, exp, *overrides, workers="0"):
    args = [sys.executable, TRAIN, "-f", exp, "-b", "4", "--device", "cpu",
            "data_dir", voc, "output_dir", str(out), "input_size", "(96,96)", "test_size", "(96,96)",
            "random_size", "None", "max_epoch", "1", "warmup_epochs", "1", "no_aug_epochs", "0",
            "print_interval", "1", "data_num_workers", workers, *overrides]
    return subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=ROOT)


def losses(stderr):
    return [float(x) for x in re.findall(r"total_loss: ([\d.]+)", stderr)]


def test_same_seed_same_losses(synthetic_voc, tmp_path):
    exp = os.path.join(ROOT, "exps", "yolox_voc_nano.py")
    runs = [train(synthetic_voc, tmp_path / str(i), exp, "seed", str(seed), "mosaic_prob", "0.5", workers="2")
            for i, seed in enumerate((3, 3, 4))]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    first, second, other = (losses(r.stderr) for r in runs)
    assert len(first) == 6 and first == second
    assert other != first


def test_trainer_applies_channels_last(synthetic_voc, tmp_path):
    exp = os.path.join(ROOT, "exps", "final_nano.py")
    runs = {layout: train(synthetic_voc, tmp_path / layout, exp, "seed", "3", "channels_last", value)
            for layout, value in (("nhwc", "True"), ("nchw", "False"))}
    for run in runs.values():
        assert run.returncode == 0, run.stderr[-2000:]
    assert "channels_last memory format" in runs["nhwc"].stderr
    assert "contiguous memory format" in runs["nchw"].stderr
    # same weights, same batch: the first loss is the same; later ones drift apart (see test_exps)
    assert losses(runs["nhwc"].stderr)[0] == losses(runs["nchw"].stderr)[0]


def test_nonfinite_loss_stops_with_the_last_good_checkpoint(synthetic_voc, tmp_path):
    exp = tmp_path / "poisoned_nano.py"
    exp.write_text(POISONED_EXP)
    result = train(synthetic_voc, tmp_path, str(exp), "ckpt_interval_iters", "2")
    assert result.returncode == 2
    latest = tmp_path / "poisoned_nano" / "latest_ckpt.pth"
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: non-finite loss (nan) at epoch 1, iteration 3; training stopped, last good checkpoint: {latest} "
        "(set nonfinite_loss skip or grad_clip_norm to go on)")
    assert load_checkpoint(str(latest))["start_iter"] == 2


def test_nonfinite_loss_skip_and_gradient_clipping(synthetic_voc, tmp_path):
    exp = tmp_path / "poisoned_nano.py"
    exp.write_text(POISONED_EXP)
    result = train(synthetic_voc, tmp_path, str(exp), "nonfinite_loss", "skip", "grad_clip_norm", "1.0")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count("step skipped") == 4  # iterations 3-6 of 6
    weights = load_checkpoint(str(tmp_path / "poisoned_nano" / "latest_ckpt.pth"))["train_model"]
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())


def test_overflowing_gradients_stop_cleanly(synthetic_voc, tmp_path):
    """A finite loss whose gradients overflow: stopped with one line before a step writes inf/NaN weights (which
    used to surface one iteration later as an unrelated RuntimeError inside YOLOX's BCE)."""
    exp = tmp_path / "exploding_nano.py"
    exp.write_text(scaled_loss_exp(1e36))
    result = train(synthetic_voc, tmp_path, str(exp))
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: non-finite gradient norm (") and "at epoch 1, iteration 1; training stopped" in last
    assert last.endswith("(set nonfinite_loss skip or a lower learning rate to go on)")


@pytest.mark.parametrize("clip", [1.0, 0.0])
def test_gradient_clipping_bounds_one_step(synthetic_voc, tmp_path, clip):
    """One training step on a loss scaled by 1e6: clipped to norm 1, SGD (momentum 0.9, Nesterov) moves the weights
    by at most lr * (1.9 * 1 + weight decay); unclipped, by orders of magnitude more."""
    from yolox_mods.core import TrainOptions
    from yolox_mods.exp_files import load_exp

    exp_file = tmp_path / "scaled_nano.py"
    exp_file.write_text(scaled_loss_exp(1e6))
    exp = load_exp(str(exp_file), ["data_dir", synthetic_voc, "output_dir", str(tmp_path), "input_size", "(96,96)",
                                   "test_size", "(96,96)", "random_size", "None", "warmup_epochs", "0",
                                   "data_num_workers", "0", "grad_clip_norm", str(clip), "seed", "0"])
    trainer = exp.get_trainer(TrainOptions(batch_size=4, device="cpu", experiment_name="scaled"))
    trainer.before_train()
    trainer.epoch, trainer.iter = 0, 0
    lr = trainer.optimizer.param_groups[0]["lr"]
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train_one_iter()
    moved = torch.sqrt(sum(((p.detach() - b) ** 2).sum() for p, b in zip(trainer.model.parameters(), before)))
    if clip:
        assert moved <= lr * 2.5, (float(moved), lr)
    else:
        assert moved > 1000 * lr, (float(moved), lr)


def test_truncated_checkpoint_is_named(tmp_path):
    path = tmp_path / "latest_ckpt.pth"
    torch.save({"model": {"w": torch.zeros(1000)}}, path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(CheckpointError, match=f"{path}: truncated or not a PyTorch checkpoint"):
        load_checkpoint(str(path))


WORKER_KILLING_EXP = '''
import os
import signal

from torch.utils.data import get_worker_info

from yolox_mods.data import VOCDataset
from yolox_mods.exp import LiteExp


class WorkerKillingVOC(VOCDataset):
    """Kills the loader worker that decodes the 3rd image, as the OOM killer or a crashing decoder would."""

    def load_image(self, index):
        if index == 2 and get_worker_info() is not None:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().load_image(index)


class Exp(LiteExp):
    def get_dataset(self, image_sets, img_size, preproc, cache=False):
        return WorkerKillingVOC(self.data_dir, image_sets, img_size, preproc, cache=cache)
'''


def test_killed_loader_worker_is_named_with_its_image(synthetic_voc, tmp_path):
    exp = tmp_path / "worker_killing_nano.py"
    exp.write_text(WORKER_KILLING_EXP)
    result = train(synthetic_voc, tmp_path, str(exp), "mosaic_prob", "0", workers="2")
    assert result.returncode == 2, result.stderr[-2000:]
    image = os.path.join(synthetic_voc, "VOC2007", "JPEGImages", "000002.jpg")
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: a data loader worker died (killed by signal: Killed) while loading sample 2 ({image})")

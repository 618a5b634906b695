"""Scoring a checkpoint or a model of an exp on one of its splits, and YOLOX's ``--speed`` timing."""
import time
from typing import Optional, Tuple

import torch
from yolox.utils import get_world_size, postprocess

from .common import CheckpointError, load_checkpoint, load_exact
from .common.provenance import RunSetting
from .evaluators import Evaluation
from .pruning import apply_architecture


def check_trained_act(source: str, trained_act: Optional[str], exp_name: str, built_act: str) -> None:
    """Activations have no weights, so a model trained with another ``act`` loads silently and scores near zero: a
    checkpoint or evaluation record (``source``) that records its activation (every one since the activation
    study) must match the activation that ``exp_name`` builds, else ``CheckpointError`` says which to set."""
    if trained_act is not None and trained_act != built_act:
        raise CheckpointError(f"{source}: trained with act {trained_act!r}, but {exp_name} builds {built_act!r}; "
                              f"add 'act {trained_act}' to the command or use an exp with that activation")


def load_weights(exp, model: torch.nn.Module, ckpt_path: str) -> None:
    """``ckpt_path``'s evaluated weights into ``model`` (built by ``exp``, with its activation), reshaped first to
    the architecture of a pruned checkpoint."""
    checkpoint = load_checkpoint(ckpt_path)
    check_trained_act(ckpt_path, checkpoint.get("act"), exp.exp_name, exp.act)
    if checkpoint.get("architecture") is not None:
        apply_architecture(model, checkpoint["architecture"], ckpt_path)
    load_exact(model, checkpoint["model"], ckpt_path)


def trained_run(ckpt_path: str) -> Tuple[Optional[int], int, Optional[RunSetting]]:
    """The epochs ``ckpt_path``'s run trained (its ``start_epoch``), those of the weights it started from
    (``prior_epochs``, 0 when not recorded) and how it was trained (None when not recorded): what the benchmark's
    equal-epoch and one-setting guards compare."""
    checkpoint = load_checkpoint(ckpt_path)
    training = checkpoint.get("training")
    return (checkpoint.get("start_epoch"), checkpoint.get("prior_epochs", 0),
            RunSetting.from_dict(training, ckpt_path) if training is not None else None)


def load_for_eval(exp, ckpt_path: Optional[str], device="cpu") -> torch.nn.Module:
    """``exp``'s model with ``ckpt_path``'s weights (None: its initial weights), in eval mode on ``device``."""
    model = exp.get_model()
    if ckpt_path is not None:
        load_weights(exp, model, ckpt_path)
    return model.to(device).eval()


def evaluate_model(exp, model, batch_size: int = 8, fp16: bool = False, split: str = "test",
                   legacy: bool = False) -> Evaluation:
    """Score ``model`` (a PyTorch model or a ``runtime.OnnxDetector``) on ``split`` with the exp's evaluator,
    distributed over the process group when there is one."""
    distributed = get_world_size() > 1
    evaluator = exp.get_evaluator(batch_size, distributed, legacy=legacy, split=split)
    return evaluator.score(model, distributed, fp16)


def measure_speed(exp, model, batch_size: int, split: str, legacy: bool = False) -> Tuple[float, float, int]:
    """YOLOX's ``--speed``: (forward ms/image, NMS ms/image, images) over the split's images."""
    device = next(model.parameters()).device
    loader = exp.get_eval_loader(batch_size, False, legacy=legacy, split=split)
    forward = nms = 0.0
    images = 0
    with torch.no_grad():
        for batch, _, _, _ in loader:
            start = time.perf_counter()
            outputs = model(batch.to(device))
            middle = time.perf_counter()
            postprocess(outputs, exp.num_classes, exp.test_conf, exp.nmsthre)
            forward, nms = forward + middle - start, nms + time.perf_counter() - middle
            images += len(batch)
    return 1000 * forward / images, 1000 * nms / images, images

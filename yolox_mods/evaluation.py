"""Scoring a checkpoint or a model of an exp on one of its splits, and YOLOX's ``--speed`` timing."""
import time
from typing import Optional, Tuple

import torch
from yolox.utils import get_world_size, postprocess

from .common import CheckpointError, load_checkpoint, load_exact
from .evaluators import Evaluation


def check_trained_act(exp, checkpoint: dict, ckpt_path: str) -> None:
    """Activations have no weights, so a model trained with another ``act`` loads silently and scores near zero: a
    checkpoint that records its activation (every one since the activation study) must match ``exp.act``, else
    ``CheckpointError`` says which to set."""
    trained_act = checkpoint.get("act")
    if trained_act is not None and trained_act != exp.act:
        raise CheckpointError(f"{ckpt_path}: trained with act {trained_act!r}, but this exp builds {exp.act!r}; "
                              f"add 'act {trained_act}' to the command")


def load_weights(exp, model: torch.nn.Module, ckpt_path: str) -> None:
    """``ckpt_path``'s evaluated weights into ``model`` (built by ``exp``, with its activation)."""
    checkpoint = load_checkpoint(ckpt_path)
    check_trained_act(exp, checkpoint, ckpt_path)
    load_exact(model, checkpoint["model"], ckpt_path)


def trained_epochs(ckpt_path: str) -> Optional[int]:
    """The epochs ``ckpt_path``'s weights were trained (its ``start_epoch``; a fine-tune counts its own), or None
    when the file does not record them: what the benchmark's one-schedule-per-exp guard compares."""
    return load_checkpoint(ckpt_path).get("start_epoch")


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

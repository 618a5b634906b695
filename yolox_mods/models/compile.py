"""``torch.compile`` of a YOLOX model's convolutional parts for training, with a checked fallback to eager.

The backbone (with the PAFPN) and the head's per-level conv towers are compiled in place (``nn.Module.compile``,
so checkpoint keys do not change); the head's loss, with SimOTA's data-dependent shapes, stays eager.
"""
from typing import Callable, List

import torch
import torch.nn as nn


def compiled_parts(model: nn.Module) -> List[nn.Module]:
    head = model.head
    return [model.backbone, *head.stems, *head.cls_convs, *head.reg_convs]


def _undo(parts: List[nn.Module]) -> None:
    for part in parts:
        part._compiled_call_impl = None


def compile_for_training(model: nn.Module, example: Callable[[], torch.Tensor], warn: Callable[[str], None],
                         backend: str = "inductor") -> bool:
    """Compile ``model``'s conv parts and try one training step on ``example()`` (the training batch shape), then
    put back every buffer the step changed (BN statistics) and clear the gradients. On any failure the model is
    left eager, ``warn`` says why, and False is returned."""
    parts = compiled_parts(model)
    saved = {name: buffer.clone() for name, buffer in model.named_buffers()}
    try:
        for part in parts:
            part.compile(backend=backend)
        example().backward()
    except Exception as error:  # a compiler failure of any kind means: train eagerly
        _undo(parts)
        warn(f"torch.compile failed ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
             "training eagerly")
        return False
    finally:
        with torch.no_grad():
            for name, buffer in model.named_buffers():
                buffer.copy_(saved[name])
        model.zero_grad(set_to_none=True)
    return True


def is_compiled(model: nn.Module) -> bool:
    return all(getattr(part, "_compiled_call_impl", None) is not None for part in compiled_parts(model))


def uncompiled(model: nn.Module) -> nn.Module:
    """``model`` with compilation undone in place (for a copy such as the EMA's, which is only evaluated)."""
    _undo(compiled_parts(model))
    return model

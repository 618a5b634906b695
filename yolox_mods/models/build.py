"""Build a YOLOX-nano-shaped detector from YOLOX's own modules plus block swaps."""
from typing import Mapping, Optional

import torch.nn as nn
from yolox.models import YOLOPAFPN, YOLOX, YOLOXHead

from ..blocks import BlockSpec, create_act
from .dark2_pafpn import Dark2PAFPN
from .places import swap_blocks

IN_CHANNELS = (256, 512, 1024)
# the activations YOLOX 0.3.0's own modules know; others (hswish) replace their SiLUs after building
YOLOX_ACTIVATIONS = ("silu", "relu", "lrelu")


def replace_activations(model: nn.Module, old: type, act: str) -> None:
    """Every ``old`` activation module in ``model`` replaced by a fresh ``create_act(act)``."""
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, old):
                setattr(parent, name, create_act(act))


def build_yolox(num_classes: int, depth: float, width: float, act: str = "silu", *,
                blocks: Mapping[str, BlockSpec] = (), dark2_block: Optional[BlockSpec] = None) -> YOLOX:
    """Stock YOLOX-nano layout (depthwise-separable convs), then ``blocks`` swapped in at their places.

    ``dark2_block`` set to ``(conv, ksize)`` feeds dark2 features into the PAFPN (``Dark2PAFPN``).
    ``act`` is any name in ``blocks.ACTIVATIONS``. BN settings and head biases follow YOLOX's ``get_model``.
    """
    base_act = act if act in YOLOX_ACTIVATIONS else "silu"
    if dark2_block is None:
        neck = YOLOPAFPN(depth, width, in_channels=list(IN_CHANNELS), depthwise=True, act=base_act)
    else:
        neck = Dark2PAFPN(depth, width, IN_CHANNELS, depthwise=True, act=base_act, dark2_block=dark2_block)
    head = YOLOXHead(num_classes, width, in_channels=list(IN_CHANNELS), act=base_act, depthwise=True)
    model = YOLOX(neck, head)
    if act != base_act:
        replace_activations(model, nn.SiLU, act)
    swap_blocks(model, dict(blocks), act)
    _yolox_settings(model)
    return model


def _yolox_settings(model: YOLOX) -> None:
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eps = 1e-3
            module.momentum = 0.03
    model.head.initialize_biases(1e-2)


def reinitialize(model: YOLOX) -> YOLOX:
    """Fresh weights, as ``build_yolox`` gives them, for a model whose channel counts were changed after building
    (a pruned architecture trained from scratch): every conv and BatchNorm reset, then YOLOX's settings."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.BatchNorm2d)):
            module.reset_parameters()
    _yolox_settings(model)
    return model

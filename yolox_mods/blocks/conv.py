"""Conv -> BatchNorm -> activation, the unit every other block is built from."""
from typing import Optional

import torch
import torch.nn as nn

from .padding import get_padding

# YOLOX's names and settings (LeakyReLU slope 0.1), plus hswish: the ReLU family runs faster than SiLU in CPU
# runtimes and in INT8 (docs/results.md)
ACTIVATIONS = {
    "silu": lambda: nn.SiLU(inplace=True),
    "relu": lambda: nn.ReLU(inplace=True),
    "lrelu": lambda: nn.LeakyReLU(0.1, inplace=True),
    "hswish": lambda: nn.Hardswish(inplace=True),
}


def create_act(act: Optional[str]) -> nn.Module:
    """An activation by name (``ACTIVATIONS``); ``None`` means no activation."""
    if act is None:
        return nn.Identity()
    if act not in ACTIVATIONS:
        raise ValueError(f"unknown activation {act!r}; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[act]()


class ConvBnAct(nn.Module):
    """YOLOX ``BaseConv`` with 'same' padding from ``get_padding`` and an optional activation.

    Shape: (N, C_in, H, W) -> (N, C_out, ceil(H/s), ceil(W/s)); C_in and C_out divisible by ``groups``.
    Submodules are named ``conv``/``bn``/``act`` as in YOLOX, so YOLOX checkpoints map onto it.
    """

    def __init__(self, in_channels: int, out_channels: int, ksize: int, stride: int = 1,
                 act: Optional[str] = "silu", *, groups: int = 1):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"channels {in_channels}->{out_channels} not divisible by groups={groups}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.conv = nn.Conv2d(in_channels, out_channels, ksize, stride, get_padding(ksize),
                              groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = create_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))

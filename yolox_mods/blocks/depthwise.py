"""Vanilla depthwise conv and the depthwise-separable conv (depthwise + pointwise) YOLOX-nano uses."""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn

from .conv import ConvBnAct
from .mixconv import MixConv

KernelSize = Union[int, Sequence[int]]


class DepthwiseConv(ConvBnAct):
    """Depthwise conv (groups = C_in) with BN and activation; no pointwise mixing.

    Shape: (N, C_in, H, W) -> (N, C_out, ceil(H/s), ceil(W/s)); C_out must be a multiple of C_in
    (the multiplier gives each input channel C_out / C_in filters).
    """

    def __init__(self, in_channels: int, out_channels: int, ksize: int, stride: int = 1,
                 act: Optional[str] = "silu"):
        if out_channels % in_channels:
            raise ValueError(f"depthwise conv needs out_channels ({out_channels}) to be a multiple of "
                             f"in_channels ({in_channels})")
        super().__init__(in_channels, out_channels, ksize, stride, act, groups=in_channels)


class DepthwiseSeparableConv(nn.Module):
    """Depthwise (or mixed-kernel depthwise) conv followed by a 1x1 conv, each with BN and activation.

    Shape: (N, C_in, H, W) -> (N, C_out, ceil(H/s), ceil(W/s)); any C_in, C_out.
    An int ``ksize`` makes the depthwise half a ``DepthwiseConv`` and the state dict matches YOLOX's ``DWConv``
    (``dconv``/``pconv``), so stock YOLOX-nano weights load into it; several kernels make it a ``MixConv``.
    """

    def __init__(self, in_channels: int, out_channels: int, ksize: KernelSize, stride: int = 1,
                 act: Optional[str] = "silu"):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.dconv = (DepthwiseConv(in_channels, in_channels, ksize, stride, act) if isinstance(ksize, int)
                      else MixConv(in_channels, in_channels, ksize, stride, act))
        self.pconv = ConvBnAct(in_channels, out_channels, 1, 1, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pconv(self.dconv(x))

"""Ghost module and Ghost bottleneck (GhostNet, Han et al. 2020, https://arxiv.org/abs/1911.11907)."""
from typing import Optional

import torch
import torch.nn as nn

from .conv import ConvBnAct
from .depthwise import DepthwiseConv


class GhostModule(nn.Module):
    """A primary conv makes C_out / ratio channels; a cheap depthwise conv makes the rest from them.

    Shape: (N, C_in, H, W) -> (N, C_out, ceil(H/s), ceil(W/s)); C_out divisible by ``ratio``.
    Primary and cheap outputs add up to exactly C_out (nothing is sliced off), so pruners see every channel.
    """

    def __init__(self, in_channels: int, out_channels: int, ksize: int = 1, stride: int = 1,
                 act: Optional[str] = "silu", *, ratio: int = 2, cheap_ksize: int = 3):
        super().__init__()
        if ratio < 2 or out_channels % ratio:
            raise ValueError(f"GhostModule needs out_channels ({out_channels}) divisible by ratio ({ratio} >= 2)")
        primary_channels = out_channels // ratio
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.primary = ConvBnAct(in_channels, primary_channels, ksize, stride, act)
        self.cheap = DepthwiseConv(primary_channels, out_channels - primary_channels, cheap_ksize, 1, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        primary = self.primary(x)
        return torch.cat([primary, self.cheap(primary)], dim=1)


class GhostBottleneck(nn.Module):
    """Ghost module -> (depthwise stride-s conv) -> Ghost module, plus a shortcut; no SE.

    Shape: (N, C_in, H, W) -> (N, C_out, ceil(H/s), ceil(W/s)); ``mid_channels`` (default C_out) and C_out
    divisible by ``ratio``. The shortcut is the identity when C_in == C_out and s == 1, otherwise a depthwise
    ``ksize`` conv with stride s and a 1x1 conv, as in GhostNet.
    """

    def __init__(self, in_channels: int, out_channels: int, ksize: int = 3, stride: int = 1,
                 act: Optional[str] = "silu", *, mid_channels: Optional[int] = None, ratio: int = 2):
        super().__init__()
        mid_channels = mid_channels or out_channels
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.ghost1 = GhostModule(in_channels, mid_channels, 1, 1, act, ratio=ratio)
        self.downsample = (DepthwiseConv(mid_channels, mid_channels, ksize, stride, act=None)
                           if stride > 1 else nn.Identity())
        self.ghost2 = GhostModule(mid_channels, out_channels, 1, 1, act=None, ratio=ratio)
        if in_channels == out_channels and stride == 1:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                DepthwiseConv(in_channels, in_channels, ksize, stride, act=None),
                ConvBnAct(in_channels, out_channels, 1, 1, act=None),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ghost2(self.downsample(self.ghost1(x))) + self.shortcut(x)

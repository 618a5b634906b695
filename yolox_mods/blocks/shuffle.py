"""Group pointwise conv, channel shuffle and the ShuffleNetV1 unit (Zhang et al. 2018, arXiv:1707.01083)."""
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .conv import ConvBnAct, create_act
from .depthwise import DepthwiseConv


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """(N, g*c, H, W) -> (N, c*g, H, W): channel j of group i moves to position j*g + i."""
    n, channels, h, w = x.shape
    if channels % groups:
        raise ValueError(f"{channels} channels cannot be shuffled in {groups} groups")
    return x.view(n, groups, channels // groups, h, w).transpose(1, 2).reshape(n, channels, h, w)


class ChannelShuffle(nn.Module):
    """Module form of ``channel_shuffle``; shape (N, C, H, W) -> (N, C, H, W), C divisible by ``groups``."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(x, self.groups)


class GroupPointwiseConv(ConvBnAct):
    """1x1 conv in ``groups`` groups with BN and activation.

    Shape: (N, C_in, H, W) -> (N, C_out, H, W); C_in and C_out divisible by ``groups``.
    """

    def __init__(self, in_channels: int, out_channels: int, groups: int, act: Optional[str] = "relu"):
        super().__init__(in_channels, out_channels, 1, 1, act, groups=groups)
        self.groups = groups


class ShuffleUnit(nn.Module):
    """ShuffleNetV1 unit: gconv1x1 -> shuffle -> depthwise (stride s) -> gconv1x1, then add or concat.

    Shape: (N, C_in, H, W) -> (N, C_out, ceil(H/s), ceil(W/s)).
    - stride 1: residual add, so C_out == C_in.
    - stride 2: the branch makes C_out - C_in channels, concatenated with a 3x3 average-pooled input.
    ``mid_channels`` and the branch output must be divisible by ``groups`` (``first_groups`` for the first 1x1,
    which ShuffleNetV1 leaves ungrouped in the first unit because its input is tiny). ``depthwise`` builds the
    middle conv from ``(channels, channels, stride)``: a vanilla 3x3 by default, any shared block when swapped.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, groups: int, *,
                 mid_channels: int, first_groups: Optional[int] = None,
                 depthwise: Optional[Callable[[int, int, int], nn.Module]] = None, act: str = "relu"):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"ShuffleUnit stride must be 1 or 2, got {stride}")
        if stride == 1 and in_channels != out_channels:
            raise ValueError(f"a stride-1 ShuffleUnit adds its input, so in ({in_channels}) must equal "
                             f"out ({out_channels})")
        branch_channels = out_channels - in_channels if stride == 2 else out_channels
        first_groups = groups if first_groups is None else first_groups
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.groups = groups
        self.reduce = GroupPointwiseConv(in_channels, mid_channels, first_groups, act)
        self.shuffle = ChannelShuffle(groups) if first_groups > 1 else nn.Identity()
        make_depthwise = depthwise or (lambda c_in, c_out, s: DepthwiseConv(c_in, c_out, 3, s, act=None))
        self.depthwise = make_depthwise(mid_channels, mid_channels, stride)
        self.expand = GroupPointwiseConv(mid_channels, branch_channels, groups, act=None)
        self.act = create_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.expand(self.depthwise(self.shuffle(self.reduce(x))))
        if self.stride == 1:
            return self.act(x + branch)
        shortcut = F.avg_pool2d(x, kernel_size=3, stride=2, padding=1)
        return self.act(torch.cat([shortcut, branch], dim=1))

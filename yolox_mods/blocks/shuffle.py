"""Group pointwise conv, channel shuffle and the ShuffleNetV1 unit (Zhang et al. 2018, arXiv:1707.01083)."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .conv import create_act
from .factory import BlockSpec, create_conv


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


def equal_splits(channels: int, groups: int) -> List[int]:
    if channels % groups:
        raise ValueError(f"{channels} channels cannot be split into {groups} equal groups")
    return [channels // groups] * groups


class LowRankPointwise(nn.Module):
    """A 1x1 conv factored through ``rank`` channels: (N, C_in, H, W) -> (N, rank, H, W) -> (N, C_out, H, W),
    nothing in between, so the product of the two weights is one (C_out, C_in) matrix of rank <= ``rank``.
    It costs rank * (C_in + C_out) MACs per pixel instead of C_in * C_out (Tucker-2 / truncated SVD)."""

    def __init__(self, in_channels: int, out_channels: int, rank: int):
        super().__init__()
        self.down = nn.Conv2d(in_channels, rank, 1, bias=False)
        self.up = nn.Conv2d(rank, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.down(x))


class GroupPointwiseConv(nn.Module):
    """1x1 conv in groups (group i maps ``in_splits[i]`` channels to ``out_splits[i]``), then BN and act.

    Shape: (N, sum(in_splits), H, W) -> (N, sum(out_splits), H, W). Splits default to ``groups`` equal parts of
    C_in and C_out. Groups may differ in size, which is what channel pruning leaves behind; one conv per group
    keeps every group's weights addressable by the pruner and decomposer. ``ranks[i]`` (None: full) makes group
    i a ``LowRankPointwise``, which is what low-rank factorisation leaves behind.
    """

    def __init__(self, in_channels: int, out_channels: int, groups: int, act: Optional[str] = "relu", *,
                 in_splits: Optional[Sequence[int]] = None, out_splits: Optional[Sequence[int]] = None,
                 ranks: Optional[Sequence[Optional[int]]] = None):
        super().__init__()
        self.in_splits = list(in_splits or equal_splits(in_channels, groups))
        self.out_splits = list(out_splits or equal_splits(out_channels, groups))
        if (len(self.in_splits), len(self.out_splits)) != (groups, groups) or sum(self.in_splits) != in_channels \
                or sum(self.out_splits) != out_channels or min(self.in_splits + self.out_splits) < 1:
            raise ValueError(f"splits {self.in_splits} -> {self.out_splits} do not describe {groups} groups of "
                             f"{in_channels} -> {out_channels} channels")
        self.ranks = list(ranks) if ranks is not None else [None] * groups
        if len(self.ranks) != groups or any(r is not None and r < 1 for r in self.ranks):
            raise ValueError(f"ranks {self.ranks} do not give {groups} groups a rank >= 1 (or None)")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.groups = groups
        self.convs = nn.ModuleList(nn.Conv2d(i, o, 1, bias=False) if r is None else LowRankPointwise(i, o, r)
                                   for i, o, r in zip(self.in_splits, self.out_splits, self.ranks))
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = create_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.groups == 1:
            return self.act(self.bn(self.convs[0](x)))
        parts = torch.split(x, self.in_splits, dim=1)
        return self.act(self.bn(torch.cat([conv(part) for conv, part in zip(self.convs, parts)], dim=1)))


class ShuffleUnit(nn.Module):
    """ShuffleNetV1 unit: gconv1x1 -> shuffle -> depthwise (stride s) -> gconv1x1, then add or concat.

    Shape: (N, C_in, H, W) -> (N, C_out, ceil(H/s), ceil(W/s)).
    - stride 1: residual add, so C_out == C_in.
    - stride 2: the branch makes C_out - C_in channels, concatenated with a 3x3 average-pooled input
      (only the ``shortcut_channels`` of it, if given, after channel pruning).
    ``mid_channels`` and the branch output must be divisible by ``groups`` (``first_groups`` for the first 1x1,
    which ShuffleNetV1 leaves ungrouped in the first unit because its input is tiny), unless explicit
    ``reduce_splits`` (per-group inputs of the first 1x1) and ``expand_splits`` (per-group outputs of the last)
    are given. Unequal groups, a partial shortcut and low-rank groups (``reduce_ranks``, ``expand_ranks``) are an
    architecture, not a compression step: pruning and factorisation produce them, and the same architecture
    trained from scratch (the control for compression) is built from them. ``depthwise`` names the middle conv
    (``create_conv``, no activation): a vanilla 3x3 by default, any shared block when swapped.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, groups: int, *,
                 mid_channels: int, first_groups: Optional[int] = None,
                 depthwise: BlockSpec = ("dw", 3), act: str = "relu",
                 reduce_splits: Optional[Sequence[int]] = None, expand_splits: Optional[Sequence[int]] = None,
                 shortcut_channels: Optional[Sequence[int]] = None,
                 reduce_ranks: Optional[Sequence[Optional[int]]] = None,
                 expand_ranks: Optional[Sequence[Optional[int]]] = None):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"ShuffleUnit stride must be 1 or 2, got {stride}")
        if stride == 1 and in_channels != out_channels:
            raise ValueError(f"a stride-1 ShuffleUnit adds its input, so in ({in_channels}) must equal "
                             f"out ({out_channels})")
        shortcut = list(range(in_channels)) if shortcut_channels is None else list(shortcut_channels)
        branch_channels = out_channels - len(shortcut) if stride == 2 else out_channels
        first_groups = groups if first_groups is None else first_groups
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.groups = groups
        self.reduce = GroupPointwiseConv(in_channels, mid_channels, first_groups, act, in_splits=reduce_splits,
                                         ranks=reduce_ranks)
        self.shuffle = ChannelShuffle(groups) if first_groups > 1 else nn.Identity()
        conv, ksize = depthwise
        self.depthwise = create_conv(conv, mid_channels, mid_channels, ksize, stride, act=None)
        self.expand = GroupPointwiseConv(mid_channels, branch_channels, groups, act=None, out_splits=expand_splits,
                                         ranks=expand_ranks)
        self.act = create_act(act)
        # which pooled input channels the stride-2 shortcut keeps (all, unless channel pruning removed some)
        self.shortcut_channels = None if len(shortcut) == in_channels else shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.expand(self.depthwise(self.shuffle(self.reduce(x))))
        if self.stride == 1:
            return self.act(x + branch)
        shortcut = F.avg_pool2d(x, kernel_size=3, stride=2, padding=1)
        if self.shortcut_channels is not None:
            shortcut = shortcut[:, self.shortcut_channels]
        return self.act(torch.cat([shortcut, branch], dim=1))

"""Mixed-kernel depthwise conv (MDConv / MixConv, Tan & Le 2019, https://arxiv.org/abs/1907.09595)."""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn

from .conv import create_act
from .padding import get_padding


def split_channels(channels: int, num_groups: int) -> List[int]:
    """Even split; the remainder goes to the first group (timm's convention)."""
    if channels < num_groups:
        raise ValueError(f"cannot split {channels} channels into {num_groups} kernel groups")
    split = [channels // num_groups] * num_groups
    split[0] += channels - sum(split)
    return split


class MixConv(nn.Module):
    """Depthwise conv whose channels are split into groups, each with its own kernel size, then BN + act.

    Shape: (N, C_in, H, W) -> (N, C_out, ceil(H/s), ceil(W/s)); C_out a multiple of C_in, C_in >= number of
    kernels, every kernel odd. One kernel size reduces exactly to a depthwise conv. The groups are split evenly
    when built; the split is read from the convs, so a channel-pruned MixConv keeps its uneven groups.
    """

    def __init__(self, in_channels: int, out_channels: int, ksize: Union[int, Sequence[int]],
                 stride: int = 1, act: Optional[str] = "silu"):
        super().__init__()
        kernels = [ksize] if isinstance(ksize, int) else list(ksize)
        if out_channels % in_channels:
            raise ValueError(f"MixConv needs out_channels ({out_channels}) to be a multiple of "
                             f"in_channels ({in_channels})")
        multiplier = out_channels // in_channels
        self.kernels = kernels
        self.convs = nn.ModuleList(
            nn.Conv2d(c, c * multiplier, k, stride, get_padding(k), groups=c, bias=False)
            for c, k in zip(split_channels(in_channels, len(kernels)), kernels)
        )
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = create_act(act)

    @property
    def in_splits(self) -> List[int]:
        return [conv.in_channels for conv in self.convs]

    @property
    def in_channels(self) -> int:
        return sum(self.in_splits)

    @property
    def out_channels(self) -> int:
        return sum(conv.out_channels for conv in self.convs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(x, self.in_splits, dim=1)
        x = torch.cat([conv(part) for conv, part in zip(self.convs, parts)], dim=1)
        return self.act(self.bn(x))


@torch.no_grad()
def merged_depthwise(mix: MixConv) -> nn.Sequential:
    """An eval-mode MixConv as one depthwise conv: each kernel zero-padded (centred) to the largest, BN folded
    into a bias, same activation. Equal outputs up to float rounding; more multiply-adds (every group runs at the
    largest kernel) but no split, concat or unfused BN, which ONNX Runtime runs faster (docs/results.md).
    A MixConv in training mode is refused: its BN normalises by batch statistics, which a folded bias cannot.

    Shape: as ``mix``.
    """
    if mix.training:
        raise ValueError("merged_depthwise folds BN running statistics: call it on a MixConv in eval mode")
    conv = mix.convs[0]
    largest = max(mix.kernels)
    merged = nn.Conv2d(mix.in_channels, mix.out_channels, largest, conv.stride, get_padding(largest),
                       groups=mix.in_channels, bias=True)
    weight = torch.zeros_like(merged.weight)
    start = 0
    for branch in mix.convs:
        offset = (largest - branch.kernel_size[0]) // 2
        end = start + branch.out_channels
        weight[start:end, :, offset:offset + branch.kernel_size[0], offset:offset + branch.kernel_size[1]] = \
            branch.weight
        start = end
    bn = mix.bn
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    merged.weight.copy_(weight * scale.view(-1, 1, 1, 1))
    merged.bias.copy_(bn.bias - bn.running_mean * scale)
    return nn.Sequential(merged, mix.act).eval()


def merge_mixconvs(model: nn.Module) -> int:
    """Replace every MixConv inside ``model`` by ``merged_depthwise`` (for inference only); returns how many."""
    count = 0
    for name, child in model.named_children():
        if isinstance(child, MixConv):
            setattr(model, name, merged_depthwise(child))
            count += 1
        else:
            count += merge_mixconvs(child)
    return count

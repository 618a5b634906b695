"""``create_conv``: one entry point that turns a block name (or a callable) into a module."""
from typing import Callable, Dict, Optional, Sequence, Union

import torch.nn as nn

from .conv import ConvBnAct
from .depthwise import DepthwiseSeparableConv, KernelSize, create_depthwise
from .ghost import GhostBottleneck, GhostModule
from .mixconv import MixConv

ConvFactory = Callable[..., nn.Module]

CONV_BLOCKS: Dict[str, ConvFactory] = {
    "base": ConvBnAct,
    "dwsep": DepthwiseSeparableConv,
    "dw": create_depthwise,
    "mix": MixConv,
    "ghost": GhostModule,
    "ghost_bottleneck": GhostBottleneck,
}


def create_conv(conv: Union[str, ConvFactory], in_channels: int, out_channels: int, ksize: KernelSize,
                stride: int = 1, act: Optional[str] = "silu") -> nn.Module:
    """Build a block with the drop-in signature ``(in_channels, out_channels, ksize, stride, act)``.

    ``conv`` is a name from ``CONV_BLOCKS`` or any callable with that signature. For "dw" and "dwsep" a
    sequence ``ksize`` means mixed kernels (MixConv), so callers never branch on block type.
    """
    check_conv_spec(conv, ksize)
    if not callable(conv):
        conv = CONV_BLOCKS[conv]
    return conv(in_channels, out_channels, ksize, stride, act)


def check_conv_spec(conv: Union[str, ConvFactory], ksize: KernelSize) -> None:
    """What ``create_conv`` checks before building, without building (a config can be validated early): a known
    block name, one kernel size unless the block mixes kernels, every kernel size a positive odd int."""
    if not callable(conv):
        if conv not in CONV_BLOCKS:
            raise ValueError(f"unknown conv block {conv!r}; choose one of {sorted(CONV_BLOCKS)} or pass a callable")
        if not isinstance(ksize, int) and conv not in ("dw", "dwsep", "mix"):
            raise ValueError(f"conv block {conv!r} takes one kernel size, got {ksize}")
    kernels = [ksize] if isinstance(ksize, int) else list(ksize) if isinstance(ksize, (tuple, list)) else [ksize]
    if not kernels or not all(isinstance(k, int) and k > 0 and k % 2 for k in kernels):
        raise ValueError(f"kernel sizes must be positive odd ints, got {ksize!r}")


def as_kernel(ksize: Union[int, Sequence[int]]) -> KernelSize:
    """Config files and the CLI give lists; keep ints as ints and sequences as tuples."""
    return ksize if isinstance(ksize, int) else tuple(ksize)

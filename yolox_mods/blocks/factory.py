"""``create_conv``: the one way to turn a block name (or a callable) into a module, and ``BlockSpec``, the one way
a config names a block."""
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import torch.nn as nn

from .conv import ConvBnAct
from .depthwise import DepthwiseConv, DepthwiseSeparableConv, KernelSize
from .ghost import GhostBottleneck, GhostModule
from .mixconv import MixConv

ConvFactory = Callable[..., nn.Module]

# (block name or callable, kernel size or sizes), e.g. ("dw", 7), ("mix", (3, 5, 7, 9)), ("dwsep", 5): what exps
# put at a place of the detector and what the classifier puts in every ShuffleNet unit's middle conv
BlockSpec = Tuple[Union[str, ConvFactory], KernelSize]

CONV_BLOCKS: Dict[str, ConvFactory] = {
    "base": ConvBnAct,
    "dwsep": DepthwiseSeparableConv,
    "dw": DepthwiseConv,
    "mix": MixConv,
    "ghost": GhostModule,
    "ghost_bottleneck": GhostBottleneck,
}
# blocks that take a sequence of kernel sizes; "mix" needs two or more, or it would be "dw" under other weight names
MULTI_KERNEL_BLOCKS = ("dwsep", "mix")


def create_conv(conv: Union[str, ConvFactory], in_channels: int, out_channels: int, ksize: KernelSize,
                stride: int = 1, act: Optional[str] = "silu") -> nn.Module:
    """Build a block with the drop-in signature ``(in_channels, out_channels, ksize, stride, act)``.

    ``conv`` is a name from ``CONV_BLOCKS`` or any callable with that signature. Each block has one spelling:
    mixed kernels are ``"mix"`` (or ``"dwsep"`` with a kernel sequence, for its depthwise half), never ``"dw"``.
    """
    check_conv_spec(conv, ksize)
    if not callable(conv):
        conv = CONV_BLOCKS[conv]
    return conv(in_channels, out_channels, as_kernel(ksize), stride, act)


def check_conv_spec(conv: Union[str, ConvFactory], ksize: KernelSize) -> None:
    """What ``create_conv`` checks before building, without building (a config can be validated early): a known
    block name, one kernel size unless the block mixes kernels, every kernel size a positive odd int."""
    kernels = [ksize] if isinstance(ksize, int) else list(ksize) if isinstance(ksize, (tuple, list)) else [ksize]
    if not kernels or not all(isinstance(k, int) and not isinstance(k, bool) and k > 0 and k % 2 for k in kernels):
        raise ValueError(f"kernel sizes must be positive odd ints, got {ksize!r}")
    if callable(conv):
        return
    if conv not in CONV_BLOCKS:
        raise ValueError(f"unknown conv block {conv!r}; choose one of {sorted(CONV_BLOCKS)} or pass a callable")
    if not isinstance(ksize, int) and conv not in MULTI_KERNEL_BLOCKS:
        hint = "; mixed kernels are 'mix'" if conv == "dw" else ""
        raise ValueError(f"conv block {conv!r} takes one kernel size, got {ksize!r}{hint}")
    if conv == "mix" and len(kernels) < 2:
        raise ValueError(f"'mix' needs two or more kernel sizes, got {ksize!r}; one kernel is 'dw'")


def as_kernel(ksize: Union[int, Sequence[int]]) -> KernelSize:
    """Config files and the CLI give lists; keep ints as ints and sequences as tuples."""
    return ksize if isinstance(ksize, int) else tuple(ksize)

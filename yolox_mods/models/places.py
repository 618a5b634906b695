"""Named places in a YOLOX model where a block can be swapped in, and the swap itself."""
import re
from typing import Dict, List, Mapping, Optional, Tuple

import torch.nn as nn

from ..blocks import BlockSpec, create_conv
from ..common.errors import ConfigError


def _stage(stage: str, index: str) -> str:
    return rf"backbone\.backbone\.dark{stage}\.{index}"


# CSPDarknet stages are Sequential(down, CSPLayer) for dark2-4 and Sequential(down, SPP, CSPLayer) for dark5.
STAGE_DOWN = {str(s): _stage(str(s), "0") for s in range(2, 6)}
STAGE_CSP = {**{str(s): _stage(str(s), "1") for s in range(2, 5)}, "5": _stage("5", "2")}


def _any(patterns) -> str:
    return "(?:" + "|".join(patterns) + ")"


# Module-name patterns in a YOLOX model built by YOLOX's own YOLOPAFPN/YOLOXHead (and Dark2PAFPN).
PLACES: Dict[str, str] = {
    # stride-2 conv opening each backbone stage (dark2..dark5)
    "backbone_down": _any(STAGE_DOWN.values()),
    # 3x3 conv of every CSP bottleneck in the backbone
    "backbone_csp": _any(STAGE_CSP.values()) + r"\.m\.\d+\.conv2",
    # whole CSP bottlenecks of the backbone (for bottleneck-level blocks such as Ghost bottlenecks)
    "backbone_bottleneck": _any(STAGE_CSP.values()) + r"\.m\.\d+",
    # stride-2 convs of the PAFPN's bottom-up path (and the dark2 path of Dark2PAFPN)
    "neck_down": r"backbone\.(?:bu_conv\d|backbone\.dark2_down)",
    # 3x3 conv of every CSP bottleneck in the PAFPN
    "neck_csp": r"backbone\.C3_\w+\.m\.\d+\.conv2",
    # the two 3x3 convs of each cls and reg branch in the head
    "head": r"head\.(?:cls|reg)_convs\.\d+\.\d+",
}
for _s in STAGE_DOWN:
    PLACES[f"dark{_s}_down"] = STAGE_DOWN[_s]
    PLACES[f"dark{_s}_csp"] = STAGE_CSP[_s] + r"\.m\.\d+\.conv2"


def find_place(model: nn.Module, place: str) -> List[str]:
    """Names of the modules of ``model`` at ``place``; an unknown place or one matching nothing is an error."""
    if place not in PLACES:
        raise ConfigError(f"unknown place {place!r}; choose from {sorted(PLACES)}")
    pattern = re.compile(PLACES[place] + r"$")
    names = [name for name, _ in model.named_modules() if pattern.match(name)]
    if not names:
        raise ConfigError(f"place {place!r} matches no module of {type(model).__name__}")
    return names


def conv_geometry(module: nn.Module) -> Tuple[int, int, int]:
    """(in_channels, out_channels, stride) of a conv block: first conv's input, last conv's output."""
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ConfigError(f"{type(module).__name__} has no convolution to replace")
    stride = max(conv.stride[0] for conv in convs)
    return convs[0].in_channels, convs[-1].out_channels, stride


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def swap_blocks(model: nn.Module, blocks: Mapping[str, BlockSpec], act: Optional[str] = "silu") -> List[str]:
    """Replace the modules at each place by ``create_conv(conv, in, out, ksize, stride, act)``.

    ``blocks`` maps a place to ``(conv, ksize)``, e.g. ``{"head": ("dw", 5), "dark3_csp": ("mix", (3, 5, 7, 9))}``.
    Two places that reach the same module (or one inside the other) are an error, so the result never depends on
    the order of ``blocks``. Returns a line per replaced module, for the log.
    """
    targets = {place: find_place(model, place) for place in blocks}
    owner: Dict[str, str] = {}
    for place, names in targets.items():
        for name in names:
            for other_name, other in owner.items():
                if name == other_name or name.startswith(other_name + ".") or other_name.startswith(name + "."):
                    raise ConfigError(f"blocks: places {other!r} and {place!r} both reach {name}; give one")
            owner[name] = place
    swapped = []
    for place, (conv, ksize) in blocks.items():
        for name in targets[place]:
            in_channels, out_channels, stride = conv_geometry(model.get_submodule(name))
            new = create_conv(conv, in_channels, out_channels, ksize, stride, act)
            _set_submodule(model, name, new)
            swapped.append(f"{name}: {conv} k={ksize} ({in_channels}->{out_channels}, s{stride})")
    return swapped

"""ShuffleNetV1 (Zhang et al. 2018, arXiv:1707.01083) on the shared ``yolox_mods.blocks``."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from yolox_mods.blocks import BlockSpec, ConvBnAct, ShuffleUnit
from yolox_mods.common import CheckpointError, atomic_save, load_checkpoint, load_exact

from .storage import pack_state_dict, unpack_state_dict

# stage output channels at width 1.0, by number of groups (paper, Table 1)
STAGE_CHANNELS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088),
                  8: (384, 768, 1536)}


class ShuffleNetV1(nn.Module):
    """Stem (3x3 stride-2 conv + max-pool) -> stages of ``ShuffleUnit``s -> global average pool -> FC.

    Shape: (N, 3, H, W) -> (N, num_classes). ``stage_channels`` defaults to the paper's channels for ``groups``
    scaled by ``width`` (g3 w0.25: 60/120/240, stem 6). ``depthwise`` picks the block in every unit's middle
    conv from the shared factory, e.g. ("dw", 3) (the paper), ("dw", 5), ("mix", (3, 5, 7, 9)), ("ghost", 3);
    ``unit_overrides`` maps "stage.unit" to extra ``ShuffleUnit`` arguments (group splits and shortcut channels
    left by channel pruning). Every constructor argument is kept in ``self.config``, so a checkpoint rebuilds
    the exact architecture, pruned or not.
    """

    def __init__(self, num_classes: int, groups: int = 3, width: float = 0.25,
                 stage_repeats: Sequence[int] = (4, 8, 4), stage_channels: Optional[Sequence[int]] = None,
                 stem_channels: Optional[int] = None, depthwise: BlockSpec = ("dw", 3),
                 stage_groups: Optional[Sequence[int]] = None, mid_channels: Optional[Sequence[int]] = None,
                 unit_overrides: Optional[Dict[str, dict]] = None):
        super().__init__()
        stage_channels = list(stage_channels or [int(c * width) for c in STAGE_CHANNELS[groups]])
        stem_channels = stem_channels or int(24 * width)
        stage_groups = list(stage_groups or [groups] * len(stage_repeats))
        mid_channels = list(mid_channels or [c // 4 for c in stage_channels])
        unit_overrides = dict(unit_overrides or {})
        self.config = dict(num_classes=num_classes, groups=groups, width=width, stage_repeats=list(stage_repeats),
                           stage_channels=stage_channels, stem_channels=stem_channels, depthwise=tuple(depthwise),
                           stage_groups=stage_groups, mid_channels=mid_channels, unit_overrides=unit_overrides)
        self.stem = nn.Sequential(ConvBnAct(3, stem_channels, 3, 2, act="relu"),
                                  nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        stages, in_channels = [], stem_channels
        for index, (repeats, out_channels) in enumerate(zip(stage_repeats, stage_channels)):
            units = []
            for unit in range(repeats):
                stride = 2 if unit == 0 else 1
                units.append(ShuffleUnit(
                    in_channels, out_channels, stride, stage_groups[index], mid_channels=mid_channels[index],
                    first_groups=1 if index == 0 and unit == 0 else None, depthwise=tuple(depthwise),
                    **unit_overrides.get(f"{index}.{unit}", {})))
                in_channels = out_channels
            stages.append(nn.Sequential(*units))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.stages(self.stem(x))), 1))


class StageTaps:
    """Forward hooks that keep the latest output of every ``model.stages[i]``."""

    def __init__(self, model: nn.Module):
        self.features: Dict[int, torch.Tensor] = {}
        self.hooks = [stage.register_forward_hook(self._keep(index)) for index, stage in enumerate(model.stages)]

    def _keep(self, index: int):
        def hook(module, inputs, output):
            self.features[index] = output
        return hook

    def ordered(self) -> List[torch.Tensor]:
        return [self.features[index] for index in sorted(self.features)]

    def remove(self) -> None:
        for hook in self.hooks:
            hook.remove()


def build_model(config: dict) -> ShuffleNetV1:
    """Rebuild a model from its ``config`` (as saved in checkpoints)."""
    return ShuffleNetV1(**config)


def save_model(path: str, model: ShuffleNetV1, input_size: int, classes: Sequence[str], stage: str) -> None:
    """Weights with the architecture config, input size and class names: all ``load_model`` needs. Weights that
    are mostly zeros (unstructured pruning) are stored packed (``storage.pack_state_dict``)."""
    atomic_save({"model": pack_state_dict(model.state_dict()), "config": model.config, "input_size": input_size,
                 "classes": classes, "stage": stage}, path)


def load_model(path: str):
    """(model, input size, class names) from a compression checkpoint; anything else is a named error."""
    checkpoint = load_checkpoint(path)
    if "config" not in checkpoint or "input_size" not in checkpoint:
        raise CheckpointError(f"{path}: not a classification checkpoint (no architecture config)")
    try:
        model = build_model(checkpoint["config"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: architecture config cannot be built ({error})") from None
    load_exact(model, unpack_state_dict(checkpoint["model"]), path)
    return model.eval(), checkpoint["input_size"], checkpoint["classes"]

"""Group decomposition: give a stage's group 1x1 convs more groups (e.g. g3 -> g6), initialised from the originals.

Every old group of (in_i -> out_i) channels is cut into ``factor`` smaller groups along both axes, and each new
group starts from the matching diagonal block of the old weights; the off-diagonal blocks are what the model
gives up. The channel shuffle follows the new group count, so the depthwise conv and the second 1x1 conv are
re-indexed to see every mid channel where it now lands: where that is, old and new, comes from each unit's mid
channel space (``techniques.channels``).
"""
import copy
from typing import List, Sequence

import torch

from yolox_mods.common import ConfigError

from ..models import ShuffleNetV1, build_model
from .channels import channel_spaces, stage_space
from .prune import check_full_rank, dense_weight, load_from_dense


def split_each(splits: Sequence[int], factor: int, what: str) -> List[int]:
    """[a, b] -> [a/f, ..., b/f, ...] with the remainder of each group in its first part."""
    parts = []
    for size in splits:
        if size < factor:
            raise ConfigError(f"a group of {size} {what} channels cannot be split {factor} ways")
        parts += [size // factor + (1 if i < size % factor else 0) for i in range(factor)]
    return parts


def decompose_groups(model: ShuffleNetV1, stage: int, factor: int = 2) -> ShuffleNetV1:
    """A new model whose ``stage`` uses ``factor`` x more groups in every 1x1 conv and channel shuffle."""
    check_full_rank(model)
    config = copy.deepcopy(model.config)
    old_groups = config["stage_groups"][stage]
    new_groups = old_groups * factor
    mid = config["mid_channels"][stage]
    if mid % new_groups:
        raise ConfigError(f"stage {stage}: {mid} mid channels cannot be shuffled in {new_groups} groups")
    overrides = dict(config["unit_overrides"])
    for u, unit in enumerate(model.stages[stage]):
        entry = dict(overrides.get(f"{stage}.{u}", {}))
        if unit.reduce.groups > 1:  # the first unit of the first stage keeps its ungrouped 1x1
            entry["reduce_splits"] = split_each(unit.reduce.in_splits, factor, "input")
        entry["expand_splits"] = split_each(unit.expand.out_splits, factor, "output")
        overrides[f"{stage}.{u}"] = entry
    config["stage_groups"][stage] = new_groups
    config["unit_overrides"] = overrides

    new_model = build_model(config)
    new_model.load_state_dict({k: v for k, v in model.state_dict().items()
                               if not k.startswith(f"stages.{stage}.")}, strict=False)
    old_spaces, new_spaces = channel_spaces(model), channel_spaces(new_model)
    for u, (old, new) in enumerate(zip(model.stages[stage], new_model.stages[stage])):
        name = f"{stage_space(stage)}.unit{u}"
        # the reduce conv's channel c sat at position old_positions[c] after the old shuffle, new_positions[c] now
        old_positions = old_spaces[name].producers[0].positions
        new_positions = new_spaces[name].producers[0].positions
        to_old = torch.empty(mid, dtype=torch.long)
        to_old[new_positions] = torch.as_tensor(old_positions)
        if new.reduce.groups == old.reduce.groups:
            new.reduce.load_state_dict(old.reduce.state_dict())
        else:
            load_from_dense(new.reduce, dense_weight(old.reduce))
            new.reduce.bn.load_state_dict(old.reduce.bn.state_dict())
        old_dw, new_dw = old.depthwise.state_dict(), new.depthwise.state_dict()
        new.depthwise.load_state_dict({k: v[to_old] if v.dim() > 0 and v.shape[0] == mid else v
                                       for k, v in old_dw.items() if k in new_dw})
        load_from_dense(new.expand, dense_weight(old.expand)[:, to_old])
        new.expand.bn.load_state_dict(old.expand.bn.state_dict())
    return new_model

"""Low-rank factorisation: every group of a ShuffleNetV1's group 1x1 convs replaced by two thinner 1x1 convs.

A group's (out, in) weight W is factored by Tucker-2 (tensorly's ``partial_tucker`` over both channel modes),
W ~ U_out C U_in^T with a (rank, rank) core C, into ``down = U_in^T`` (in -> rank) and ``up = U_out C``
(rank -> out). For a 1x1 conv this is the truncated SVD, the best rank-r approximation (Eckart-Young). A group
is factored only where it saves MACs: rank * (in + out) < in * out. The depthwise convs (one input channel each)
and the 6-channel stem have nothing to factor.
"""
import copy
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from yolox_mods.blocks import GroupPointwiseConv, LowRankPointwise
from yolox_mods.common import ConfigError

from ..metrics import count_macs
from ..models import ShuffleNetV1, build_model

# bisection steps of ``factorise_to_macs``: the ratio is then known to 2^-12, finer than one rank of any group
SEARCH_STEPS = 12


def is_factorised(model: torch.nn.Module) -> bool:
    return any(isinstance(module, LowRankPointwise) for module in model.modules())


def tucker2_pointwise(weight: torch.Tensor, rank: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """(down (rank, in, 1, 1), up (out, rank, 1, 1)) with ``up @ down`` the Tucker-2 approximation of the 1x1
    conv ``weight`` (out, in, 1, 1)."""
    from tensorly.decomposition import partial_tucker

    matrix = weight.detach()[:, :, 0, 0].double().numpy()
    (core, (u_out, u_in)), _ = partial_tucker(matrix, rank=[rank, rank], modes=[0, 1], init="svd")
    down, up = np.ascontiguousarray(u_in.T), u_out @ core
    return (torch.from_numpy(down).to(weight.dtype)[:, :, None, None],
            torch.from_numpy(up).to(weight.dtype)[:, :, None, None])


def group_ranks(conv: GroupPointwiseConv, ratio: float) -> List[Optional[int]]:
    """Per group: round(ratio * min(in, out)) (at least 1), or None where that rank would not save MACs."""
    ranks = []
    for cin, cout in zip(conv.in_splits, conv.out_splits):
        rank = max(1, round(ratio * min(cin, cout)))
        ranks.append(rank if rank * (cin + cout) < cin * cout else None)
    return ranks


def _config_with_ranks(model: ShuffleNetV1, ratio: float, stages: Sequence[int]) -> dict:
    config = copy.deepcopy(model.config)
    overrides = dict(config["unit_overrides"])
    for stage in stages:
        for index, unit in enumerate(model.stages[stage]):
            entry = dict(overrides.get(f"{stage}.{index}", {}))
            for conv, key in ((unit.reduce, "reduce_ranks"), (unit.expand, "expand_ranks")):
                ranks = group_ranks(conv, ratio)
                if any(rank is not None for rank in ranks):
                    entry[key] = ranks
            if entry:
                overrides[f"{stage}.{index}"] = entry
    config["unit_overrides"] = overrides
    return config


def _checked_stages(model: ShuffleNetV1, stages: Optional[Sequence[int]]) -> List[int]:
    if is_factorised(model):
        raise ConfigError("the model is already factorised: factorise once, from an unfactorised stage")
    stages = list(range(len(model.stages))) if stages is None else list(stages)
    bad = [s for s in stages if not 0 <= s < len(model.stages)]
    if bad:
        raise ConfigError(f"stages {bad} are not stage indices 0-{len(model.stages) - 1}")
    return stages


def factorise(model: ShuffleNetV1, rank_ratio: float, stages: Optional[Sequence[int]] = None) -> ShuffleNetV1:
    """A new model whose group 1x1 convs in ``stages`` (default all) are low-rank where that saves MACs,
    initialised by Tucker-2 of the originals; every other weight copied."""
    if not 0 < rank_ratio <= 1:
        raise ConfigError(f"rank_ratio must be in (0, 1], got {rank_ratio}")
    stages = _checked_stages(model, stages)
    new_model = build_model(_config_with_ranks(model, rank_ratio, stages))
    new_keys = set(new_model.state_dict())
    new_model.load_state_dict({k: v for k, v in model.state_dict().items() if k in new_keys}, strict=False)
    old_modules = dict(model.named_modules())
    with torch.no_grad():
        for name, module in new_model.named_modules():
            if isinstance(module, LowRankPointwise):
                down, up = tucker2_pointwise(old_modules[name].weight, module.down.out_channels)
                module.down.weight.copy_(down)
                module.up.weight.copy_(up)
    return new_model


def factorise_to_macs(model: ShuffleNetV1, budget: int, input_size: int,
                      stages: Optional[Sequence[int]] = None) -> ShuffleNetV1:
    """``factorise`` at the largest rank ratio (one for all groups) whose thop MACs at ``input_size`` are at most
    ``budget``."""
    stages = _checked_stages(model, stages)

    def macs(ratio: float) -> int:
        return count_macs(build_model(_config_with_ranks(model, ratio, stages)), input_size)

    low, high = 0.0, 1.0
    if macs(1e-6) > budget:
        raise ConfigError(f"even rank 1 in every group of stages {stages} leaves {macs(1e-6):,} MACs "
                          f"> the budget {budget:,}")
    for _ in range(SEARCH_STEPS):
        middle = (low + high) / 2
        low, high = (middle, high) if macs(middle) <= budget else (low, middle)
    return factorise(model, max(low, 1e-6), stages)

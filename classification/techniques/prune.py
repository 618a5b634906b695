"""Structured pruning of ShuffleNetV1: whole units (layer pruning) and stage output channels (channel pruning).

Both return a new, genuinely smaller ``ShuffleNetV1`` (fewer thop MACs), rebuilt from its config and loaded with
the kept weights. As in Torch-Pruning, which layers share a channel (``techniques.channels``), how much a
channel matters (``IMPORTANCE``, a function of one channel space) and the structural surgery (``prune_channels``,
cutting every layer linked to a space) are separate. Torch-Pruning itself is not used: 1.6.1 builds this model's
dependency graph but gives the stride-2 unit's concat of pooled shortcut and branch no index offsets and fails
with an IndexError (docs/results.md, 2026-11-25 22:38).
"""
import copy
import functools
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from yolox_mods.blocks import GroupPointwiseConv, LowRankPointwise
from yolox_mods.common import ConfigError

from ..data import Split, make_loader
from ..metrics import count_macs
from ..models import ShuffleNetV1, StageTaps, build_model
from .channels import ChannelSpace, cascade, channel_spaces, kept_channels, stage_space


# ----------------------------------------------------------------------------- group pointwise helpers
def check_full_rank(module: nn.Module) -> None:
    """Channel pruning and group decomposition read and write whole group weights, which a low-rank group does
    not have."""
    if any(isinstance(block, LowRankPointwise) for block in module.modules()):
        raise ConfigError("channel pruning and group decomposition need full-rank group convs: factorise (kind "
                          "lowrank) after them, not before")


def dense_weight(conv: GroupPointwiseConv) -> torch.Tensor:
    """The (out, in) matrix of a group 1x1 conv, zero outside its diagonal group blocks."""
    check_full_rank(conv)
    dense = torch.zeros(conv.out_channels, conv.in_channels)
    row = col = 0
    for block, rows, cols in zip(conv.convs, conv.out_splits, conv.in_splits):
        dense[row:row + rows, col:col + cols] = block.weight.detach()[:, :, 0, 0]
        row, col = row + rows, col + cols
    return dense


def group_of(splits: Sequence[int]) -> List[int]:
    """Group index of every channel for the given group sizes."""
    return [group for group, size in enumerate(splits) for _ in range(size)]


def kept_splits(splits: Sequence[int], keep: Sequence[int], what: str) -> List[int]:
    """Group sizes after keeping channels ``keep``; a group left empty is an error."""
    groups = group_of(splits)
    counts = [0] * len(splits)
    for channel in keep:
        counts[groups[channel]] += 1
    if min(counts) == 0:
        raise ConfigError(f"pruning would empty a group of {what} (group sizes left: {counts})")
    return counts


def load_from_dense(conv: GroupPointwiseConv, dense: torch.Tensor) -> None:
    """Copy a dense (out, in) matrix's diagonal group blocks into ``conv``'s per-group weights."""
    row = col = 0
    with torch.no_grad():
        for block, rows, cols in zip(conv.convs, conv.out_splits, conv.in_splits):
            block.weight.copy_(dense[row:row + rows, col:col + cols, None, None])
            row, col = row + rows, col + cols


def copy_bn(target: nn.BatchNorm2d, source: nn.BatchNorm2d, keep: Sequence[int]) -> None:
    index = torch.as_tensor(list(keep), dtype=torch.long)
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(target, name).copy_(getattr(source, name)[index])


# ----------------------------------------------------------------------------- layer pruning
def unit_weight_std(unit: nn.Module) -> float:
    """Standard deviation of all conv weights of a unit: the layer-pruning score (low = dropped first)."""
    weights = [m.weight.detach().flatten() for m in unit.modules() if isinstance(m, nn.Conv2d)]
    return float(torch.cat(weights).std())


def prune_layers(model: ShuffleNetV1, stage_repeats: Sequence[int],
                 score: Callable[[nn.Module], float] = unit_weight_std) -> ShuffleNetV1:
    """Keep ``stage_repeats[s]`` units per stage: the stride-2 first unit and the highest-scoring stride-1 units
    (order preserved). A dropped residual unit becomes the identity, so the rest keep their weights."""
    config = copy.deepcopy(model.config)
    if len(stage_repeats) != len(config["stage_repeats"]):
        raise ConfigError(f"stage_repeats {list(stage_repeats)} must name all {len(config['stage_repeats'])} stages")
    kept_units, overrides = {}, {}
    for s, (stage, repeats) in enumerate(zip(model.stages, stage_repeats)):
        if not 1 <= repeats <= len(stage):
            raise ConfigError(f"stage {s} has {len(stage)} units; cannot keep {repeats}")
        ranked = sorted(range(1, len(stage)), key=lambda u: score(stage[u]), reverse=True)
        kept = [0] + sorted(ranked[:repeats - 1])
        kept_units[s] = kept
        for new_index, old_index in enumerate(kept):
            if f"{s}.{old_index}" in config["unit_overrides"]:
                overrides[f"{s}.{new_index}"] = config["unit_overrides"][f"{s}.{old_index}"]
    config["stage_repeats"] = list(stage_repeats)
    config["unit_overrides"] = overrides
    pruned = build_model(config)
    pruned.stem.load_state_dict(model.stem.state_dict())
    pruned.classifier.load_state_dict(model.classifier.state_dict())
    for s, kept in kept_units.items():
        for new_index, old_index in enumerate(kept):
            pruned.stages[s][new_index].load_state_dict(model.stages[s][old_index].state_dict())
    return pruned


# ----------------------------------------------------------------------------- channel importance
def as_matrix(module: nn.Module) -> torch.Tensor:
    """The (out, in) weight matrix of a 1x1 layer: a group pointwise conv (zeros off its group blocks) or a Linear."""
    return dense_weight(module) if isinstance(module, GroupPointwiseConv) else module.weight.detach()


def _norm_importance(p: int):
    def importance(space: ChannelSpace, outputs=None) -> torch.Tensor:
        """Lp norm of every weight that touches each channel: producers' rows and consumers' columns."""
        scores = torch.zeros(space.size)
        for link in space.producers:
            scores[link.positions] += as_matrix(link.module).norm(p=p, dim=1)
        for link in space.consumers:
            scores[link.positions] += as_matrix(link.module).norm(p=p, dim=0)
        return scores
    return importance


def bn_importance(space: ChannelSpace, outputs=None) -> torch.Tensor:
    """Sum of |BN scale| over the producers' BNs that write each channel (network slimming)."""
    scores = torch.zeros(space.size)
    for link in space.producers:
        scores[link.positions] += link.module.bn.weight.detach().abs()
    return scores


def hrank_importance(space: ChannelSpace, outputs: Sequence[torch.Tensor]) -> torch.Tensor:
    """HRank (Lin et al. 2020): the average rank of each channel's feature map over the recorded batches
    (``outputs``: the space's (N, C, H, W) activations); low-rank maps carry little information."""
    ranks = torch.cat([torch.linalg.matrix_rank(batch.float()) for batch in outputs]).float()
    return ranks.mean(0)


def taylor_importance(space: ChannelSpace, products: Sequence[torch.Tensor]) -> torch.Tensor:
    """First-order Taylor (Molchanov et al. 2017): |mean over positions of activation x gradient of the loss| per
    channel and image, averaged over images (``products``: the space's (N, C, H, W) activation x gradient): the
    estimated change of the loss if the channel were zeroed."""
    return torch.cat([batch.mean(dim=(2, 3)).abs() for batch in products]).mean(0)


# criterion name -> (channel space, its recorded tensors or None) -> one score per channel; low scores go first.
# Criteria in ``DATA_DRIVEN`` read what their recorder records on training images, the others only weights.
IMPORTANCE: Dict[str, Callable[[ChannelSpace, Optional[Sequence[torch.Tensor]]], torch.Tensor]] = {
    "l1": _norm_importance(1),
    "l2": _norm_importance(2),
    "bn": bn_importance,
    "hrank": hrank_importance,
    "taylor": taylor_importance,
}


def stage_outputs(model: ShuffleNetV1, split: Split, input_size: int, batches: int = 2,
                  batch_size: int = 32, times_gradient: bool = False) -> Dict[int, List[torch.Tensor]]:
    """Every stage's output on ``batches`` batches of ``split`` (eval transforms, in order), per stage; with
    ``times_gradient``, multiplied by the gradient of the task loss (cross-entropy) with respect to it. BN uses its
    running statistics and no weight changes (parameter gradients are cleared after)."""
    taps = StageTaps(model)
    recorded: Dict[int, List[torch.Tensor]] = {s: [] for s in range(len(model.stages))}
    model.eval()
    try:
        with torch.set_grad_enabled(times_gradient):
            for index, (images, labels) in enumerate(make_loader(split, input_size, batch_size, train=False,
                                                                 num_workers=0)):
                if index == batches:
                    break
                logits = model(images)
                outputs = taps.ordered()
                if times_gradient:
                    gradients = torch.autograd.grad(F.cross_entropy(logits, labels), outputs)
                    outputs = [(output * gradient).detach() for output, gradient in zip(outputs, gradients)]
                for s, output in enumerate(outputs):
                    recorded[s].append(output)
    finally:
        taps.remove()
    return recorded


DATA_DRIVEN = {"hrank": stage_outputs, "taylor": functools.partial(stage_outputs, times_gradient=True)}


def stage_scores(model: ShuffleNetV1, stages: Sequence[int], criterion: str = "l1",
                 data: Optional[Tuple[Split, int]] = None) -> Dict[int, torch.Tensor]:
    """``criterion``'s importance of every output channel of each of ``stages``. ``data`` (training split, input
    size) feeds the data-driven criteria."""
    if criterion not in IMPORTANCE:
        raise ConfigError(f"unknown criterion {criterion!r}; choose from {sorted(IMPORTANCE)}")
    outputs: Dict[int, Optional[List[torch.Tensor]]] = {s: None for s in stages}
    if criterion in DATA_DRIVEN:
        if data is None:
            raise ConfigError(f"criterion {criterion!r} reads activations: it needs training images")
        outputs = DATA_DRIVEN[criterion](model, *data)
    spaces = channel_spaces(model)
    return {s: IMPORTANCE[criterion](spaces[stage_space(s)], outputs[s]) for s in stages}


def global_order(scores: Dict[int, torch.Tensor]) -> List[Tuple[int, int]]:
    """(stage, channel) pairs, least important first, scores divided by their stage's mean to compare stages."""
    return [(s, c) for _, s, c in sorted((float(v / scores[s].mean()), s, c)
                                         for s in scores for c, v in enumerate(scores[s]))]


def select_channels(model: ShuffleNetV1, remove: Dict[int, int], criterion: str = "l1",
                    scope: str = "local", data: Optional[Tuple[Split, int]] = None) -> Dict[int, List[int]]:
    """Channels to keep per stage. ``remove`` maps stage -> channels to remove. "local" removes that many of
    each stage's lowest scores; "global" removes the same total, wherever scores (divided by their stage's mean,
    to compare stages) are lowest. ``data`` (training split, input size) feeds the data-driven criteria."""
    if scope not in ("local", "global"):
        raise ConfigError(f"scope must be 'local' or 'global', got {scope!r}")
    scores = stage_scores(model, list(remove), criterion, data)
    if scope == "local":
        drop = {s: set(torch.argsort(scores[s])[:n].tolist()) for s, n in remove.items()}
    else:
        drop = {s: set() for s in remove}
        for s, c in global_order(scores)[:sum(remove.values())]:
            drop[s].add(c)
    return {s: [c for c in range(model.config["stage_channels"][s]) if c not in drop[s]] for s in remove}


# ----------------------------------------------------------------------------- channel surgery
def cascade_keep(model: ShuffleNetV1, keep: Dict[int, Sequence[int]]) -> Dict[int, List[int]]:
    """Kept channels of every stage, adding the removals that follow from earlier stages (``channels.cascade``)."""
    kept = cascade(channel_spaces(model), {stage_space(s): channels for s, channels in keep.items()})
    return {s: kept[stage_space(s)] for s in range(len(model.stages))}


def all_of(module: nn.Module) -> List[int]:
    """Every input channel of a layer that loses none."""
    return list(range(module.in_channels if hasattr(module, "in_channels") else module.in_features))


def pruned_config(model: ShuffleNetV1, keep: Dict[int, Sequence[int]]):
    """(config of the model ``prune_channels`` builds, per-layer kept inputs, kept outputs); a ``ConfigError``
    when a group would be left empty."""
    spaces = channel_spaces(model)
    kept = cascade(spaces, {stage_space(s): channels for s, channels in keep.items()})
    inputs, outputs = kept_channels(spaces, kept)
    config = copy.deepcopy(model.config)
    overrides = dict(config["unit_overrides"])
    config["stage_channels"] = [len(kept[stage_space(s)]) for s in range(len(model.stages))]
    for s, stage in enumerate(model.stages):
        for u, unit in enumerate(stage):
            entry = dict(overrides.get(f"{s}.{u}", {}))
            entry["reduce_splits"] = kept_splits(unit.reduce.in_splits, inputs.get(unit.reduce, all_of(unit.reduce)),
                                                 f"stage {s} unit {u}")
            entry["expand_splits"] = kept_splits(unit.expand.out_splits,
                                                 outputs.get(unit.expand, range(unit.expand.out_channels)),
                                                 f"stage {s} unit {u} output")
            if u == 0:
                source, sources = spaces[stage_space(s)].carried
                new_index = {c: i for i, c in enumerate(kept[source])}
                entry["shortcut_channels"] = [new_index[sources[p]] for p in kept[stage_space(s)] if p < len(sources)]
            overrides[f"{s}.{u}"] = entry
    config["unit_overrides"] = overrides
    return config, inputs, outputs


def prune_channels(model: ShuffleNetV1, keep: Dict[int, Sequence[int]]) -> ShuffleNetV1:
    """A new model keeping channels ``keep[s]`` (indices) of each listed stage, with every layer linked to a
    stage's channel space cut to match and all remaining weights carried over."""
    config, inputs, outputs = pruned_config(model, keep)
    pruned = build_model(config)
    pruned.stem.load_state_dict(model.stem.state_dict())
    for old_stage, new_stage in zip(model.stages, pruned.stages):
        for old, new in zip(old_stage, new_stage):
            writes = outputs.get(old.expand, list(range(old.expand.out_channels)))
            load_from_dense(new.reduce, dense_weight(old.reduce)[:, inputs.get(old.reduce, all_of(old.reduce))])
            new.reduce.bn.load_state_dict(old.reduce.bn.state_dict())
            new.depthwise.load_state_dict(old.depthwise.state_dict())
            load_from_dense(new.expand, dense_weight(old.expand)[writes])
            copy_bn(new.expand.bn, old.expand.bn, writes)
    with torch.no_grad():
        pruned.classifier.weight.copy_(model.classifier.weight[:, inputs.get(model.classifier,
                                                                             all_of(model.classifier))])
        pruned.classifier.bias.copy_(model.classifier.bias)
    return pruned


def channels_for_ratio(model: ShuffleNetV1, ratio: Dict[int, float]) -> Dict[int, int]:
    """``{stage: fraction}`` -> ``{stage: channels to remove}``, rounded, of each stage's current channels."""
    for stage, fraction in ratio.items():
        if not 0 < fraction < 1:
            raise ConfigError(f"ratio of stage {stage} must be between 0 and 1 (exclusive), got {fraction}")
    return {s: round(fraction * model.config["stage_channels"][s]) for s, fraction in ratio.items()}


def prune_to_macs(model: ShuffleNetV1, budget: int, input_size: int, criterion: str = "l1",
                  step: int = 4, data: Optional[Tuple[Split, int]] = None) -> ShuffleNetV1:
    """Prune by a MACs budget, as Torch-Pruning's and NNI's users ask for it: remove the ``step`` globally
    lowest-scoring stage channels (scores divided by their stage's mean; re-scored on the pruned model each time)
    until thop MACs at ``input_size`` are at most ``budget``. A channel whose removal would empty a group conv's
    group is passed over for the next one; the budget is an error only when no channel can go."""
    if step < 1:
        raise ConfigError(f"step must be a positive number of channels, got {step}")
    stages = list(range(len(model.config["stage_channels"])))
    while count_macs(model, input_size) > budget:
        keep = {s: list(range(model.config["stage_channels"][s])) for s in stages}
        removed = 0
        for s, c in global_order(stage_scores(model, stages, criterion, data)):
            trial = {**keep, s: [k for k in keep[s] if k != c]}
            try:
                pruned_config(model, trial)
            except ConfigError:  # the last channel of some group
                continue
            keep, removed = trial, removed + 1
            if removed == step:
                break
        if not removed:
            raise ConfigError(f"MACs budget {budget:,} not reached at {count_macs(model, input_size):,}: every "
                              "remaining channel is the last of a group")
        model = prune_channels(model, keep)
    return model


def prune_stage_channels(model: ShuffleNetV1, remove: Dict[int, int], criterion: str = "l1",
                         scope: str = "local", data: Optional[Tuple[Split, int]] = None) -> ShuffleNetV1:
    """Score (``criterion``), select (``scope``) and cut: the one call the compression pipeline makes."""
    return prune_channels(model, select_channels(model, remove, criterion, scope, data))

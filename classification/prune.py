"""Structured pruning of ShuffleNetV1: whole units (layer pruning) and stage output channels (channel pruning).

Both return a new, genuinely smaller ``ShuffleNetV1`` (fewer thop MACs), rebuilt from its config and loaded with
the kept weights. Scoring (``IMPORTANCE``) is kept apart from the structural surgery (``prune_channels``), as in
Torch-Pruning. Torch-Pruning itself is not used: 1.6.1 builds this model's dependency graph but gives the
stride-2 unit's concat of pooled shortcut and branch no index offsets and fails with an IndexError
(docs/results.md, 2026-11-25 23:05).

A stage channel is one position of a stage's residual stream. It is produced by the stage's first unit (a pooled
shortcut channel, or a branch output) and refined by every stride-1 unit (expand output added to it); it is read
by every unit's first 1x1 conv, by the next stage's first unit (which also pools it into *its* shortcut, so a
removed channel disappears from every later stage too) and by the classifier.
"""
import copy
from typing import Callable, Dict, List, Sequence

import torch
import torch.nn as nn

from yolox_mods.blocks import GroupPointwiseConv
from yolox_mods.common import ConfigError

from .models import ShuffleNetV1, build_model


# ----------------------------------------------------------------------------- group pointwise helpers
def dense_weight(conv: GroupPointwiseConv) -> torch.Tensor:
    """The (out, in) matrix of a group 1x1 conv, zero outside its diagonal group blocks."""
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
def _stage_readers(model: ShuffleNetV1, s: int) -> List[torch.Tensor]:
    """(out, C_s) matrices of every layer that reads stage s's channels."""
    readers = [dense_weight(unit.reduce) for unit in list(model.stages[s])[1:]]
    if s + 1 < len(model.stages):
        readers.append(dense_weight(model.stages[s + 1][0].reduce))
    else:
        readers.append(model.classifier.weight.detach())
    return readers


def _stage_writers(model: ShuffleNetV1, s: int):
    """(C_s positions, expand unit) pairs: which stage channels each unit's expand conv writes."""
    first = model.stages[s][0]
    shortcut = len(shortcut_sources(first))
    yield list(range(shortcut, shortcut + first.expand.out_channels)), first.expand
    for unit in list(model.stages[s])[1:]:
        yield list(range(unit.out_channels)), unit.expand


def _norm_importance(p: int):
    def importance(model: ShuffleNetV1, s: int) -> torch.Tensor:
        scores = torch.zeros(model.config["stage_channels"][s])
        for positions, expand in _stage_writers(model, s):
            scores[positions] += dense_weight(expand).norm(p=p, dim=1)
        for reader in _stage_readers(model, s):
            scores += reader.norm(p=p, dim=0)
        return scores
    return importance


def bn_importance(model: ShuffleNetV1, s: int) -> torch.Tensor:
    """Sum of |BN scale| over the expand BNs that write each stage channel (network slimming)."""
    scores = torch.zeros(model.config["stage_channels"][s])
    for positions, expand in _stage_writers(model, s):
        scores[positions] += expand.bn.weight.detach().abs()
    return scores


# criterion name -> (model, stage) -> one score per stage channel; low scores are pruned first
IMPORTANCE: Dict[str, Callable[[ShuffleNetV1, int], torch.Tensor]] = {
    "l1": _norm_importance(1),
    "l2": _norm_importance(2),
    "bn": bn_importance,
}


def select_channels(model: ShuffleNetV1, remove: Dict[int, int], criterion: str = "l1",
                    scope: str = "local") -> Dict[int, List[int]]:
    """Channels to keep per stage. ``remove`` maps stage -> channels to remove. "local" removes that many of
    each stage's lowest scores; "global" removes the same total, wherever scores (divided by their stage's mean,
    to compare stages) are lowest."""
    if criterion not in IMPORTANCE:
        raise ConfigError(f"unknown criterion {criterion!r}; choose from {sorted(IMPORTANCE)}")
    scores = {s: IMPORTANCE[criterion](model, s) for s in remove}
    if scope == "local":
        drop = {s: set(torch.argsort(scores[s])[:n].tolist()) for s, n in remove.items()}
    elif scope == "global":
        pooled = sorted((float(v / scores[s].mean()), s, c) for s in scores for c, v in enumerate(scores[s]))
        drop = {s: set() for s in remove}
        for _, s, c in pooled[:sum(remove.values())]:
            drop[s].add(c)
    else:
        raise ConfigError(f"scope must be 'local' or 'global', got {scope!r}")
    return {s: [c for c in range(model.config["stage_channels"][s]) if c not in drop[s]] for s in remove}


# ----------------------------------------------------------------------------- channel surgery
def shortcut_sources(unit) -> List[int]:
    """Input channels a stride-2 unit's shortcut passes on; an empty list (all pruned) is not 'all channels'."""
    return list(range(unit.in_channels)) if unit.shortcut_channels is None else list(unit.shortcut_channels)


def cascade_keep(model: ShuffleNetV1, keep: Dict[int, Sequence[int]]) -> Dict[int, List[int]]:
    """Kept channels of every stage, adding the removals that follow from earlier stages: the next stage's
    shortcut channel of a removed channel is gone too."""
    full: Dict[int, List[int]] = {}
    for s, stage in enumerate(model.stages):
        channels = list(keep.get(s, range(model.config["stage_channels"][s])))
        if s > 0:
            first = stage[0]
            shortcut = shortcut_sources(first)
            lost = {j for j, source in enumerate(shortcut) if source not in set(full[s - 1])}
            channels = [c for c in channels if c not in lost]
        full[s] = channels
    return full


def prune_channels(model: ShuffleNetV1, keep: Dict[int, Sequence[int]]) -> ShuffleNetV1:
    """A new model keeping channels ``keep[s]`` (indices) of each listed stage, with every dependent layer cut
    to match and all remaining weights carried over."""
    keep = cascade_keep(model, keep)
    config = copy.deepcopy(model.config)
    overrides = dict(config["unit_overrides"])
    config["stage_channels"] = [len(keep[s]) for s in range(len(model.stages))]
    previous = list(range(config["stem_channels"]))
    for s, stage in enumerate(model.stages):
        position = {c: i for i, c in enumerate(previous)}
        for u, unit in enumerate(stage):
            reads = previous if u == 0 else keep[s]
            entry = dict(overrides.get(f"{s}.{u}", {}))
            entry["reduce_splits"] = kept_splits(unit.reduce.in_splits, reads, f"stage {s} unit {u}")
            if u == 0:
                shortcut = shortcut_sources(unit)
                n_short = len(shortcut)
                entry["shortcut_channels"] = [position[shortcut[c]] for c in keep[s] if c < n_short]
                writes = [c - n_short for c in keep[s] if c >= n_short]
            else:
                writes = keep[s]
            entry["expand_splits"] = kept_splits(unit.expand.out_splits, writes, f"stage {s} unit {u} output")
            overrides[f"{s}.{u}"] = entry
        previous = keep[s]
    config["unit_overrides"] = overrides

    pruned = build_model(config)
    pruned.stem.load_state_dict(model.stem.state_dict())
    previous = list(range(config["stem_channels"]))
    for s, (old_stage, new_stage) in enumerate(zip(model.stages, pruned.stages)):
        for u, (old, new) in enumerate(zip(old_stage, new_stage)):
            reads = previous if u == 0 else keep[s]
            n_short = len(shortcut_sources(old)) if u == 0 else 0
            writes = [c - n_short for c in keep[s] if c >= n_short]
            load_from_dense(new.reduce, dense_weight(old.reduce)[:, reads])
            new.reduce.bn.load_state_dict(old.reduce.bn.state_dict())
            new.depthwise.load_state_dict(old.depthwise.state_dict())
            load_from_dense(new.expand, dense_weight(old.expand)[writes])
            copy_bn(new.expand.bn, old.expand.bn, writes)
        previous = keep[s]
    with torch.no_grad():
        pruned.classifier.weight.copy_(model.classifier.weight[:, previous])
        pruned.classifier.bias.copy_(model.classifier.bias)
    return pruned


def prune_stage_channels(model: ShuffleNetV1, remove: Dict[int, int], criterion: str = "l1",
                         scope: str = "local") -> ShuffleNetV1:
    """Score (``criterion``), select (``scope``) and cut: the one call the compression pipeline makes."""
    return prune_channels(model, select_channels(model, remove, criterion, scope))

"""Which layers of a ShuffleNetV1 share which channels: the one dependency model that channel importance, channel
surgery and group decomposition read, kept apart from both (as Torch-Pruning separates its dependency graph from
importance and pruner).

A ``ChannelSpace`` is a set of channels that several layers touch together: removing or moving channel i of the
space means cutting output ``i`` of every producer and input ``i`` of every consumer, at the positions their
``Link`` gives. ShuffleNetV1 has three kinds:

- ``"stem"``: the stem conv's output, read by the first unit of stage 0;
- ``"stage{s}"``, a stage's residual stream: written by every unit's expand conv (the stride-2 first unit writes
  only the positions after its pooled shortcut), read by every stride-1 unit's reduce conv, by the next stage's
  first reduce conv and, after the last stage, by the classifier. Its first positions are *carried*: the pooled
  shortcut copies channels of the previous space, so a channel removed there is gone here too;
- ``"stage{s}.unit{u}"``, a unit's mid channels in shuffled order: the reduce conv's output channel j lands at
  position ``positions[j]`` of the channel shuffle, where the depthwise conv and the expand conv read it.

The same three relations describe YOLOX's CSPDarknet and PAFPN, which is how detector pruning can reuse this: a
concat is producers at offset positions (CSP's two branches into conv3, PAFPN's upsampled lateral beside the
backbone feature), a residual add is two producers of one space (CSP bottlenecks), and a channel-preserving
pooling or upsampling is a carry. A builder for YOLOX's modules would return these same ``ChannelSpace``s;
importance and surgery would not change.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from yolox_mods.blocks import ChannelShuffle, channel_shuffle


@dataclass
class Link:
    """``module``'s channel j (its output for a producer, its input for a consumer) is position ``positions[j]``
    of the space."""
    module: nn.Module
    positions: List[int]


@dataclass
class ChannelSpace:
    name: str
    size: int
    producers: List[Link] = field(default_factory=list)
    consumers: List[Link] = field(default_factory=list)
    # (source space, source channel of each of this space's first positions): the pooled shortcut's copy
    carried: Optional[Tuple[str, List[int]]] = None


def shuffle_positions(channels: int, groups: int) -> List[int]:
    """``positions[c]``: where channel ``c`` lands after ``channel_shuffle(x, groups)``."""
    order = channel_shuffle(torch.arange(channels, dtype=torch.float32).view(1, channels, 1, 1), groups)
    return torch.argsort(order.flatten().long()).tolist()


def shortcut_sources(unit) -> List[int]:
    """Input channels a stride-2 unit's shortcut passes on; an empty list (all pruned) is not 'all channels'."""
    return list(range(unit.in_channels)) if unit.shortcut_channels is None else list(unit.shortcut_channels)


def stage_space(stage: int) -> str:
    return f"stage{stage}"


def channel_spaces(model) -> Dict[str, ChannelSpace]:
    """Every channel space of ``model`` (a ``ShuffleNetV1``, pruned or not), in forward order."""
    spaces: Dict[str, ChannelSpace] = {}
    stem = model.stem[0]
    previous = ChannelSpace("stem", stem.out_channels, producers=[Link(stem, list(range(stem.out_channels)))])
    spaces[previous.name] = previous
    for s, stage in enumerate(model.stages):
        stream = ChannelSpace(stage_space(s), stage[0].out_channels)
        for u, unit in enumerate(stage):
            reads = previous if u == 0 else stream
            reads.consumers.append(Link(unit.reduce, list(range(reads.size))))
            if u == 0:
                sources = shortcut_sources(unit)
                stream.carried = (previous.name, sources)
                written = list(range(len(sources), stream.size))
            else:
                written = list(range(stream.size))
            stream.producers.append(Link(unit.expand, written))
            mid = unit.reduce.out_channels
            shuffled = (shuffle_positions(mid, unit.shuffle.groups) if isinstance(unit.shuffle, ChannelShuffle)
                        else list(range(mid)))
            identity = list(range(mid))
            spaces[f"{stream.name}.unit{u}"] = ChannelSpace(
                f"{stream.name}.unit{u}", mid, producers=[Link(unit.reduce, shuffled)],
                consumers=[Link(unit.depthwise, identity), Link(unit.expand, identity)])
        spaces[stream.name] = stream
        previous = stream
    previous.consumers.append(Link(model.classifier, list(range(previous.size))))
    return spaces


def cascade(spaces: Dict[str, ChannelSpace], keep: Dict[str, Sequence[int]]) -> Dict[str, List[int]]:
    """Kept positions of every space, given those of some (the rest keep all), plus the removals a carry implies:
    a carried position whose source channel is removed upstream is removed too."""
    full: Dict[str, List[int]] = {}
    for name, space in spaces.items():
        kept = list(keep.get(name, range(space.size)))
        if space.carried is not None:
            source, sources = space.carried
            upstream = set(full[source])
            kept = [p for p in kept if p >= len(sources) or sources[p] in upstream]
        full[name] = kept
    return full


def kept_channels(spaces: Dict[str, ChannelSpace], kept: Dict[str, Sequence[int]]):
    """(kept inputs, kept outputs) of every linked module, as its own channel indices: what surgery cuts. A module
    linked to no space that loses channels keeps all of them (absent from both maps)."""
    inputs: Dict[nn.Module, List[int]] = {}
    outputs: Dict[nn.Module, List[int]] = {}
    for name, space in spaces.items():
        kept_set = set(kept[name])
        if len(kept_set) == space.size:
            continue
        for link in space.producers:
            outputs[link.module] = [j for j, p in enumerate(link.positions) if p in kept_set]
        for link in space.consumers:
            inputs[link.module] = [j for j, p in enumerate(link.positions) if p in kept_set]
    return inputs, outputs

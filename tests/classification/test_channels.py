"""The channel dependency model agrees with what the network computes (forward hooks), pruned or not."""
import pytest
import torch
import torch.nn.functional as F

from classification.models import ShuffleNetV1
from classification.techniques.channels import channel_spaces, stage_space
from classification.techniques.prune import prune_channels


def unpruned():
    return ShuffleNetV1(6).eval()


def pruned():
    model = ShuffleNetV1(6).eval()
    return prune_channels(model, {0: [c for c in range(60) if c % 7], 1: list(range(10, 120))}).eval()


def record(model, x):
    """Every stage's output and its first unit's output, and each unit's reduce output and depthwise input."""
    seen = {}
    hooks = [stage.register_forward_hook(lambda m, i, o, s=s: seen.__setitem__(stage_space(s), o))
             for s, stage in enumerate(model.stages)]
    hooks += [stage[0].register_forward_hook(lambda m, i, o, s=s: seen.__setitem__(stage_space(s) + ".first", o))
              for s, stage in enumerate(model.stages)]
    for s, stage in enumerate(model.stages):
        for u, unit in enumerate(stage):
            name = f"{stage_space(s)}.unit{u}"
            hooks.append(unit.reduce.register_forward_hook(lambda m, i, o, n=name: seen.__setitem__(n + ".out", o)))
            hooks.append(unit.depthwise.register_forward_hook(lambda m, i, o, n=name: seen.__setitem__(n + ".in",
                                                                                                        i[0])))
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return seen


@pytest.mark.parametrize("build", [unpruned, pruned])
def test_spaces_match_the_forward_pass(build):
    torch.manual_seed(0)
    model = build()
    spaces = channel_spaces(model)
    seen = record(model, torch.randn(2, 3, 80, 80))
    for s in range(len(model.stages)):
        space = spaces[stage_space(s)]
        assert space.size == seen[space.name].shape[1]
        for link in space.consumers:
            width = getattr(link.module, "in_channels", None) or link.module.in_features
            assert len(link.positions) == width
        # the first unit's carried positions are the pooled source channels (every stage output is post-ReLU, so
        # the ReLU after the concat leaves them as they are)
        source, sources = space.carried
        if source != "stem":
            pooled = F.avg_pool2d(seen[source], kernel_size=3, stride=2, padding=1)
            torch.testing.assert_close(seen[space.name + ".first"][:, :len(sources)], pooled[:, sources])
        for u in range(len(model.stages[s])):
            mid = spaces[f"{space.name}.unit{u}"]
            reduce_out, depthwise_in = seen[mid.name + ".out"], seen[mid.name + ".in"]
            torch.testing.assert_close(depthwise_in[:, mid.producers[0].positions], reduce_out)


def test_stage_space_links():
    spaces = channel_spaces(unpruned())
    stage2 = spaces["stage2"]
    assert (stage2.size, len(stage2.producers), len(stage2.consumers)) == (240, 4, 4)  # 3 reduce convs + classifier
    assert stage2.producers[0].positions == list(range(120, 240)) and stage2.carried == ("stage1", list(range(120)))
    assert len(spaces["stage1"].consumers) == 8  # 7 stride-1 units and stage 2's first unit

import pytest
import torch

from classification.metrics import count_macs
from classification.models import ShuffleNetV1
from classification.techniques.channels import shuffle_positions
from classification.techniques.decompose import decompose_groups
from classification.techniques.prune import dense_weight, load_from_dense, prune_channels, select_channels
from yolox_mods.blocks import ChannelShuffle


def block_mask(out_splits, in_splits):
    mask = torch.zeros(sum(out_splits), sum(in_splits))
    row = col = 0
    for rows, cols in zip(out_splits, in_splits):
        mask[row:row + rows, col:col + cols] = 1
        row, col = row + rows, col + cols
    return mask


def test_g3_to_g6_shapes_macs_and_config():
    model = ShuffleNetV1(6)
    decomposed = decompose_groups(model, 2, 2)
    assert decomposed.config["stage_groups"] == [3, 3, 6]
    assert all(len(unit.expand.convs) == 6 for unit in decomposed.stages[2])
    assert count_macs(decomposed, 80) < count_macs(model, 80)
    assert decomposed(torch.randn(1, 3, 80, 80)).shape == (1, 6)


@pytest.mark.parametrize("stage,width", [(0, 0.5), (2, 0.25)])  # stage 0 at w0.25 has 15 mid channels: no g6
def test_decomposition_is_exact_when_dropped_blocks_are_zero(stage, width):
    """With no weight outside the new groups' blocks (expand judged after the new shuffle), nothing is lost. Stage
    0's first unit has an ungrouped first 1x1 and no shuffle: its mid channels must not be re-indexed."""
    torch.manual_seed(0)
    model = ShuffleNetV1(6, width=width).eval()
    mid = model.config["mid_channels"][stage]
    for unit in model.stages[stage]:
        to_old = torch.arange(mid)
        if isinstance(unit.shuffle, ChannelShuffle):
            to_old[shuffle_positions(mid, 6)] = torch.as_tensor(shuffle_positions(mid, 3))
            reduce_in = [s // 2 for s in unit.reduce.in_splits for _ in range(2)]
            load_from_dense(unit.reduce, dense_weight(unit.reduce) * block_mask([mid // 6] * 6, reduce_in))
        expand_out = [s // 2 for s in unit.expand.out_splits for _ in range(2)]
        mask_old = torch.zeros(unit.expand.out_channels, mid)
        mask_old[:, to_old] = block_mask(expand_out, [mid // 6] * 6)
        load_from_dense(unit.expand, dense_weight(unit.expand) * mask_old)
    x = torch.randn(2, 3, 80, 80)
    torch.testing.assert_close(decompose_groups(model, stage, 2).eval()(x), model(x))


def test_decompose_after_channel_pruning():
    model = ShuffleNetV1(6)
    pruned = prune_channels(model, select_channels(model, {2: 30}))
    decomposed = decompose_groups(pruned, 2, 2)
    assert decomposed.config["stage_channels"] == [60, 120, 210]
    assert decomposed(torch.randn(1, 3, 80, 80)).shape == (1, 6)


def test_too_many_groups_refused():
    with pytest.raises(ValueError, match="cannot be shuffled"):
        decompose_groups(ShuffleNetV1(6), 0, 4)  # 15 mid channels in 12 groups

import pytest
import torch

from yolox_mods.blocks import GroupPointwiseConv, ShuffleUnit, channel_shuffle


def test_channel_shuffle_permutation():
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert channel_shuffle(x, 3).flatten().tolist() == [0, 2, 4, 1, 3, 5]
    assert channel_shuffle(channel_shuffle(x, 3), 2).flatten().tolist() == x.flatten().tolist()


def test_group_pointwise_params():
    conv = GroupPointwiseConv(12, 24, groups=3)
    assert sum(p.numel() for p in conv.parameters()) == 12 * 24 // 3 + 2 * 24


@pytest.mark.parametrize("stride,in_ch,out_ch", [(1, 60, 60), (2, 60, 120)])
def test_shuffle_unit_shapes(stride, in_ch, out_ch):
    unit = ShuffleUnit(in_ch, out_ch, stride, 3, mid_channels=out_ch // 4)
    assert unit(torch.randn(2, in_ch, 10, 10)).shape == (2, out_ch, 10 // stride, 10 // stride)


def test_shuffle_unit_rejects_bad_residual():
    with pytest.raises(ValueError, match="must equal"):
        ShuffleUnit(60, 120, 1, 3, mid_channels=30)

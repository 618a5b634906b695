import pytest
import torch

from yolox_mods.blocks import DepthwiseConv, MixConv, create_conv, split_channels


def test_split_gives_remainder_to_first_group():
    assert split_channels(10, 4) == [4, 2, 2, 2]
    assert split_channels(12, 4) == [3, 3, 3, 3]


@pytest.mark.parametrize("kernels", [(3, 5), (3, 5, 7, 9)])
@pytest.mark.parametrize("stride", [1, 2])
def test_mixconv_shape_and_params(kernels, stride):
    block = MixConv(18, 36, kernels, stride)
    y = block(torch.randn(2, 18, 13, 13))
    assert y.shape == (2, 36, -(-13 // stride), -(-13 // stride))
    splits = split_channels(18, len(kernels))
    expected = sum(c * 2 * k * k for c, k in zip(splits, kernels)) + 2 * 36
    assert sum(p.numel() for p in block.parameters()) == expected


def test_one_kernel_equals_plain_depthwise():
    mix, plain = MixConv(12, 12, (5,)), DepthwiseConv(12, 12, 5)
    plain.conv.weight.data.copy_(mix.convs[0].weight.data)
    mix.eval(), plain.eval()
    x = torch.randn(2, 12, 11, 11)
    torch.testing.assert_close(mix(x), plain(x))


def test_each_group_sees_only_its_channels():
    block = MixConv(4, 4, (3, 5), act=None).eval()
    x = torch.zeros(1, 4, 9, 9)
    x[:, 3] = 1.0  # only the second kernel group's channels are non-zero
    y = block(x) - block(torch.zeros_like(x))
    assert torch.allclose(y[:, :2], torch.zeros_like(y[:, :2]))


def test_factory_sequence_kernel_means_mixconv():
    assert isinstance(create_conv("dw", 8, 8, (3, 5)), MixConv)
    assert isinstance(create_conv("dw", 8, 8, 3), DepthwiseConv)
    with pytest.raises(ValueError, match="one kernel size"):
        create_conv("base", 8, 8, (3, 5))
    with pytest.raises(ValueError, match="unknown conv block"):
        create_conv("dwconv", 8, 8, 3)


def test_mixconv_rejects_even_kernel_and_too_few_channels():
    with pytest.raises(ValueError, match="odd"):
        MixConv(8, 8, (3, 4))
    with pytest.raises(ValueError, match="cannot split"):
        MixConv(2, 2, (3, 5, 7))

import pytest
import torch
import torch.nn as nn

from yolox_mods.blocks import DepthwiseConv, MixConv, create_conv, merge_mixconvs, merged_depthwise, split_channels


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


def test_factory_has_one_spelling_per_block():
    assert isinstance(create_conv("mix", 8, 8, [3, 5]), MixConv)
    assert isinstance(create_conv("dw", 8, 8, 3), DepthwiseConv)
    # MixConv under "dw", or a one-kernel MixConv, would be a second set of checkpoint keys for the same block
    with pytest.raises(ValueError, match="mixed kernels are 'mix'"):
        create_conv("dw", 8, 8, (3, 5))
    with pytest.raises(ValueError, match="one kernel is 'dw'"):
        create_conv("mix", 8, 8, (3,))
    with pytest.raises(ValueError, match="one kernel size"):
        create_conv("base", 8, 8, (3, 5))
    with pytest.raises(ValueError, match="unknown conv block"):
        create_conv("dwconv", 8, 8, 3)


def test_mixconv_rejects_even_kernel_and_too_few_channels():
    with pytest.raises(ValueError, match="odd"):
        MixConv(8, 8, (3, 4))
    with pytest.raises(ValueError, match="cannot split"):
        MixConv(2, 2, (3, 5, 7))


@pytest.mark.parametrize("stride,multiplier", [(1, 1), (2, 1), (1, 2), (2, 2)])
def test_merged_depthwise_equals_mixconv_in_eval(stride, multiplier):
    torch.manual_seed(0)
    mix = MixConv(13, 13 * multiplier, (3, 5, 7, 9), stride=stride)
    # BN statistics far from their initial values, so a wrong fold shows
    for tensor in (mix.bn.weight.data, mix.bn.running_var):
        tensor.uniform_(0.5, 2.0)
    for tensor in (mix.bn.bias.data, mix.bn.running_mean):
        tensor.uniform_(-1.0, 1.0)
    mix.eval()
    merged = merged_depthwise(mix)
    conv = merged[0]
    assert conv.kernel_size == (9, 9) and conv.groups == 13 and conv.out_channels == 13 * multiplier
    # the 3x3 group's kernels sit centred in zeros
    assert conv.weight[:4, :, :3].abs().sum() == 0 and conv.weight[:4, :, 3:6, 3:6].abs().sum() > 0
    x = torch.randn(2, 13, 17, 17)
    with torch.no_grad():
        torch.testing.assert_close(merged(x), mix(x), rtol=1e-5, atol=1e-5)


def test_merge_mixconvs_replaces_nested_blocks_only():
    model = nn.Sequential(nn.Conv2d(3, 8, 1), nn.Sequential(MixConv(8, 8, (3, 5))), MixConv(8, 8, 3)).eval()
    assert merge_mixconvs(model) == 2
    assert not any(isinstance(m, MixConv) for m in model.modules())
    assert isinstance(model[0], nn.Conv2d)


def test_merged_depthwise_refuses_training_mode():
    with pytest.raises(ValueError, match="eval mode"):
        merged_depthwise(MixConv(8, 8, (3, 5)))

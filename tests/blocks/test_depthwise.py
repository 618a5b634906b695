import pytest
import torch

from yolox_mods.blocks import DepthwiseConv, DepthwiseSeparableConv, get_padding


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("ksize", [3, 5, 7])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_shape_params_backward(ksize, stride, multiplier):
    block = DepthwiseConv(8, 8 * multiplier, ksize, stride)
    x = torch.randn(2, 8, 15, 15)
    y = block(x)
    assert y.shape == (2, 8 * multiplier, -(-15 // stride), -(-15 // stride))
    # one k x k filter per output channel, no bias; BN has weight + bias per channel
    assert n_params(block) == 8 * multiplier * ksize * ksize + 2 * 8 * multiplier
    # gradients against finite differences (double precision, BN in training mode)
    small = DepthwiseConv(2, 2 * multiplier, ksize, stride).double()
    assert torch.autograd.gradcheck(small, torch.randn(1, 2, 4, 4, dtype=torch.double, requires_grad=True))


def test_depthwise_rejects_non_multiple_channels():
    with pytest.raises(ValueError, match="multiple of in_channels"):
        DepthwiseConv(8, 12, 3)


def test_even_kernel_rejected():
    with pytest.raises(ValueError, match="odd"):
        get_padding(4)


def test_separable_params_and_yolox_state_dict_compatibility():
    from yolox.models.network_blocks import DWConv

    block = DepthwiseSeparableConv(16, 32, 3, 2)
    assert n_params(block) == (16 * 9 + 2 * 16) + (16 * 32 + 2 * 32)
    yolox_block = DWConv(16, 32, 3, 2)
    block.load_state_dict(yolox_block.state_dict())
    block.eval(), yolox_block.eval()
    x = torch.randn(1, 16, 9, 9)
    torch.testing.assert_close(block(x), yolox_block(x))

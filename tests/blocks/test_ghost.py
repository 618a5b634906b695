import pytest
import torch

from yolox_mods.blocks import GhostBottleneck, GhostModule


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("stride", [1, 2])
def test_ghost_module_shape_and_params(stride):
    block = GhostModule(16, 32, 1, stride)
    assert block(torch.randn(2, 16, 10, 10)).shape == (2, 32, 10 // stride, 10 // stride)
    primary = 16 * 16 + 2 * 16          # 1x1 conv 16 -> 16, BN
    cheap = 16 * 9 + 2 * 16             # depthwise 3x3 16 -> 16, BN
    assert n_params(block) == primary + cheap


def test_ghost_outputs_add_up_exactly():
    block = GhostModule(8, 24, ratio=3)
    assert block.primary.out_channels + block.cheap.out_channels == 24
    with pytest.raises(ValueError, match="divisible by ratio"):
        GhostModule(8, 25, ratio=2)


@pytest.mark.parametrize("stride,in_ch,out_ch", [(1, 16, 16), (2, 16, 32), (1, 16, 24)])
def test_ghost_bottleneck_shape_and_backward(stride, in_ch, out_ch):
    block = GhostBottleneck(in_ch, out_ch, 3, stride)
    x = torch.randn(2, in_ch, 12, 12, requires_grad=True)
    y = block(x)
    assert y.shape == (2, out_ch, 12 // stride, 12 // stride)
    y.mean().backward()
    assert x.grad.abs().sum() > 0


def test_ghost_bottleneck_identity_shortcut_params():
    block = GhostBottleneck(16, 16, 3, 1)
    ghost = (8 * 16 + 2 * 8) + (8 * 9 + 2 * 8)  # GhostModule(16, 16): primary 16->8, cheap 8->8
    assert n_params(block) == 2 * ghost

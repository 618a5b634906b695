import pytest
import torch

from classification.metrics import compression_score, count_macs, count_params, macro_f1
from classification.models import ShuffleNetV1, build_model

# thop MACs of ShuffleNetV1 g3 w0.25, 9 classes (BN counted, functional avg-pool shortcut not); the reference
# counts 0.903-0.905x these at every size (a counting convention, see docs/results.md)
MACS_9_CLASSES = {64: 1_127_328, 80: 1_866_360, 96: 2_533_488, 112: 3_592_392}
REFERENCE_MACS = {64: 1_018_137, 80: 1_688_940, 96: 2_288_097, 112: 3_249_021}


@pytest.mark.parametrize("size", sorted(MACS_9_CLASSES))
def test_macs_pinned_and_proportional_to_reference(size):
    model = ShuffleNetV1(9)
    assert count_macs(model, size) == MACS_9_CLASSES[size]
    assert 0.90 < REFERENCE_MACS[size] / MACS_9_CLASSES[size] < 0.91
    assert count_params(model) == 67_071


def test_architecture_and_rebuild():
    model = ShuffleNetV1(6)
    assert [len(s) for s in model.stages] == [4, 8, 4]
    assert [s[-1].out_channels for s in model.stages] == [60, 120, 240]
    assert model.stem[0].out_channels == 6
    rebuilt = build_model(model.config)
    rebuilt.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 80, 80)
    torch.testing.assert_close(rebuilt.eval()(x), model.eval()(x))


@pytest.mark.parametrize("depthwise,width", [(("dw", 3), 0.25), (("dw", 5), 0.25), (("mix", (3, 5, 7, 9)), 0.25),
                                             (("ghost", 3), 0.5)])
def test_shared_blocks_swap_in(depthwise, width):
    model = ShuffleNetV1(6, width=width, depthwise=depthwise)
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 6)


def test_ghost_needs_even_mid_channels():
    with pytest.raises(ValueError, match=r"out_channels \(15\) divisible by ratio"):
        ShuffleNetV1(6, depthwise=("ghost", 3))  # stage 1 has 15 mid channels at width 0.25


def test_macro_f1_and_score():
    assert macro_f1([0, 0, 1, 1], [0, 0, 1, 1], 2) == 1.0
    assert macro_f1([0, 0, 1, 1], [0, 1, 1, 1], 2) == pytest.approx((2 / 3 + 0.8) / 2)
    assert compression_score(500, 0.5, 1000, 0.5) == 0.5
    assert compression_score(500, 0.4, 1000, 0.5) == pytest.approx(0.5 + 0.2)
    assert compression_score(500, 0.6, 1000, 0.5) == pytest.approx(0.5 - 0.1)

"""Low-rank factorisation of the group 1x1 convs (Tucker-2 through tensorly), checked against torch's SVD."""
import pytest
import torch

from classification.metrics import count_macs
from classification.models import ShuffleNetV1, load_model, save_model
from classification.techniques.decompose import decompose_groups
from classification.techniques.lowrank import factorise, factorise_to_macs, group_ranks, tucker2_pointwise
from classification.techniques.prune import prune_stage_channels
from yolox_mods.blocks import LowRankPointwise
from yolox_mods.common import ConfigError


@pytest.mark.parametrize("out_channels,in_channels,rank", [(20, 30, 5), (80, 20, 7), (15, 6, 2), (9, 9, 8)])
def test_tucker2_of_a_1x1_conv_is_the_best_rank_r_approximation(out_channels, in_channels, rank):
    """Eckart-Young: the best rank-r error (Frobenius, squared) is the sum of the discarded squared singular
    values, computed here by torch's SVD, independently of tensorly."""
    torch.manual_seed(rank)
    weight = torch.randn(out_channels, in_channels, 1, 1)
    down, up = tucker2_pointwise(weight, rank)
    assert down.shape == (rank, in_channels, 1, 1) and up.shape == (out_channels, rank, 1, 1)
    error = (up[:, :, 0, 0] @ down[:, :, 0, 0] - weight[:, :, 0, 0]).double().norm() ** 2
    singular = torch.linalg.svdvals(weight[:, :, 0, 0].double())
    assert float(error) == pytest.approx(float((singular[rank:] ** 2).sum()), rel=1e-4)


def make_low_rank(model: ShuffleNetV1, ratio: float) -> None:
    """Give every group that ``ratio`` factorises a weight of exactly its rank, so nothing is lost."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for unit in (u for stage in model.stages for u in stage):
            for conv in (unit.reduce, unit.expand):
                for block, rank in zip(conv.convs, group_ranks(conv, ratio)):
                    if rank is not None:
                        out_channels, in_channels = block.weight.shape[:2]
                        block.weight.copy_((torch.randn(out_channels, rank, generator=generator)
                                            @ torch.randn(rank, in_channels, generator=generator))[:, :, None, None])


def test_a_weight_of_the_kept_rank_is_factorised_without_loss():
    model = ShuffleNetV1(6).eval()
    make_low_rank(model, 0.5)
    factorised = factorise(model, 0.5).eval()
    x = torch.randn(2, 3, 80, 80)
    assert torch.allclose(factorised(x), model(x), atol=1e-3, rtol=1e-3)
    assert any(isinstance(m, LowRankPointwise) for m in factorised.modules())


def test_macs_drop_by_what_each_factored_group_saves():
    """thop's count of the factorised model against the saving worked out per group: (in*out - r*(in+out)) per
    output pixel. At 80 px the stages see 20 (after the stem's conv and pool), 10 and 5 px and put out 10, 5, 3."""
    model = ShuffleNetV1(6)
    factorised = factorise(model, 0.3)
    saved = 0
    for stage, side_in, side_out in zip(model.stages, (20, 10, 5), (10, 5, 3)):
        for index, unit in enumerate(stage):
            # the first unit's reduce runs before its stride-2 depthwise conv
            reduce_pixels = (side_in if index == 0 else side_out) ** 2
            for conv, pixels in ((unit.reduce, reduce_pixels), (unit.expand, side_out ** 2)):
                for cin, cout, rank in zip(conv.in_splits, conv.out_splits, group_ranks(conv, 0.3)):
                    if rank is not None:
                        saved += (cin * cout - rank * (cin + cout)) * pixels
    assert saved > 0
    assert count_macs(model, 80) - count_macs(factorised, 80) == saved


def test_a_group_is_factored_only_where_it_saves_macs():
    model = ShuffleNetV1(6)
    unit = model.stages[2][1]  # groups of 80 -> 20 and 20 -> 80 channels: rank 16 costs 1600 = 80 * 20
    assert group_ranks(unit.reduce, 15 / 20) == [15, 15, 15]
    assert group_ranks(unit.reduce, 16 / 20) == [None, None, None]
    assert factorise(model, 1.0).config["unit_overrides"] == model.config["unit_overrides"]


def test_factorised_checkpoint_rebuilds_and_exports(tmp_path):
    model = factorise(ShuffleNetV1(6), 0.4).eval()
    path = str(tmp_path / "lowrank.pth")
    save_model(path, model, 80, list("abcdef"), "lowrank")
    loaded, size, _ = load_model(path)
    x = torch.randn(1, 3, 80, 80)
    assert size == 80 and torch.equal(loaded(x), model(x))
    torch.onnx.export(loaded, (x,), str(tmp_path / "lowrank.onnx"), opset_version=13, dynamo=False)


def test_budget_search_takes_the_largest_ratio_that_fits():
    model = ShuffleNetV1(6)
    budget = 1_300_000
    factorised = factorise_to_macs(model, budget, 80)
    assert count_macs(factorised, 80) <= budget
    ranks = factorised.config["unit_overrides"]["2.1"]["expand_ranks"]
    # one more rank in every group is over budget
    assert count_macs(factorise(model, (ranks[0] + 1) / 20), 80) > budget
    with pytest.raises(ConfigError, match="even rank 1"):
        factorise_to_macs(model, 100_000, 80)


def test_structural_surgery_after_factorising_is_refused():
    factorised = factorise(ShuffleNetV1(6), 0.5)
    with pytest.raises(ConfigError, match="factorise .*after them"):
        prune_stage_channels(factorised, {2: 6})
    with pytest.raises(ConfigError, match="factorise .*after them"):
        decompose_groups(factorised, 2, 2)
    with pytest.raises(ConfigError, match="already factorised"):
        factorise(factorised, 0.3)
    with pytest.raises(ConfigError, match="rank_ratio"):
        factorise(ShuffleNetV1(6), 0.0)

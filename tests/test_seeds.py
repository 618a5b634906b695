"""The comparison rule shared by the detector and classifier studies."""
import pytest

from yolox_mods.common.seeds import seed_stats, versus


def test_seed_stats():
    stats = seed_stats([10.0, 14.0, 12.0])
    assert stats["mean"] == 12.0 and stats["std"] == pytest.approx(2.0) and stats["spread"] == 4.0
    assert seed_stats([3.0])["std"] is None and seed_stats([3.0])["spread"] == 0.0


def test_versus_uses_the_larger_spread_and_refuses_single_runs():
    assert versus([0.17, 0.19], [0.10, 0.12], 2, 100) == "+7.00 (beyond seed spread)"
    # the difference (2.5) is inside the candidate's own spread (4), though beyond the reference's (1)
    assert versus([10.0, 14.0], [9.0, 10.0], 1) == "+2.5 (within seed spread: no difference)"
    assert versus([18.0], [10.0], 1) == "+8.0 (one run: spread not measured)"
    assert versus([9.0, 9.2], [10.0, 10.1], 2) == "-0.95 (beyond seed spread)"


def test_versus_with_a_bootstrap_interval_needs_both_to_call_a_difference():
    assert versus([0.17, 0.19], [0.10, 0.12], 2, 100, interval=(0.03, 0.11)) == (
        "+7.00, 95% CI [+3.00, +11.00] (difference: beyond seed spread, CI excludes 0)")
    assert versus([0.17, 0.19], [0.10, 0.12], 2, 100, interval=(-0.01, 0.15)) == (
        "+7.00, 95% CI [-1.00, +15.00] (no difference shown: beyond seed spread, CI includes 0)")
    assert versus([18.0], [10.0], 1, interval=(2.0, 14.0)) == (
        "+8.0, 95% CI [+2.0, +14.0] (no difference shown: one run: spread not measured, CI excludes 0)")

"""The latency harness every figure comes from: rounds of warm blocks in rotated order, ratios taken within a
round with a bootstrap interval over rounds, and a busy machine marked."""
import statistics
import subprocess
import sys
import time

import pytest

from yolox_mods.common.timing import Ratio, ThreadSettings, measure_latency, ratio_interval


def sleeper(seconds):
    return lambda: time.sleep(seconds)


def test_a_known_ratio_is_measured_within_its_interval():
    run = measure_latency({"fast": sleeper(0.002), "slow": sleeper(0.006)}, rounds=7, calls_per_block=5, warmup=1)
    assert [order[0] for order in run.orders] == ["fast", "slow"] * 3 + ["fast"]  # rotated every round
    assert all(len(times) == 7 for times in run.per_round.values())
    ratio = run.ratio("slow", "fast")
    # sleep overshoots by a roughly constant amount, so the ratio lies a little under 3
    assert 2.0 < ratio.low <= ratio.median <= ratio.high < 3.3
    assert run.ms("slow") == statistics.median(run.per_round["slow"])
    assert run.ratio("fast", "fast").describe() == "1.00x [1.00, 1.00]"
    described = run.describe()
    assert "7 rounds, one warm block of 5 batch-1 calls per model per round, order rotated" in described
    assert ThreadSettings().describe() in described and run.machine.cpu in described


def test_the_interval_is_the_bootstrap_of_per_round_ratios():
    candidate, reference = [4.0, 4.6, 3.4, 4.2, 3.8, 4.0, 5.0], [2.0] * 7
    ratio = ratio_interval(candidate, reference, draws=4000)
    assert ratio.per_round == [2.0, 2.3, 1.7, 2.1, 1.9, 2.0, 2.5] and ratio.median == 2.0
    # the median of 7 rounds drawn with replacement is one of the rounds' ratios
    assert {ratio.low, ratio.high} <= set(ratio.per_round) and ratio.low < 2.0 < ratio.high
    assert ratio.high >= 2.3 and not ratio.resolved and ratio.describe().endswith(" not resolved")
    tight = ratio_interval([2.0, 2.02, 1.98, 2.01, 1.99, 2.0, 2.03], [1.0] * 7)
    assert tight.resolved and tight.describe() == f"{tight.median:.2f}x [{tight.low:.2f}, {tight.high:.2f}]"
    assert Ratio(1.0, 0.91, 1.09, []).resolved and not Ratio(1.0, 0.89, 1.05, []).resolved


@pytest.mark.skipif(sys.platform != "linux", reason="the load is read from /proc/stat")
def test_a_busy_machine_is_marked():
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        run = measure_latency({"a": sleeper(0.02), "b": sleeper(0.02)}, rounds=3, calls_per_block=5, warmup=0)
    finally:
        spinner.kill()
        spinner.wait()
    # the spinner holds one core while the runners mostly sleep: its share is far above the 10% threshold
    assert run.busy_rounds == [1, 2, 3]
    assert all(sample.others > 0.3 for sample in run.load)
    assert "BUSY machine in rounds [1, 2, 3]" in run.describe()
    assert run.to_dict()["busy_rounds"] == [1, 2, 3]

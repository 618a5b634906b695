"""Block comparison in ShuffleNetV1 at matched MACs (issue 7, item 4)."""
import json
import os

import numpy as np
import pytest

from classification.cli.block_study import main
from classification.data import make_synthetic_folder
from classification.metrics import count_macs
from classification.models import ShuffleNetV1
from classification.studies.block_study import BLOCKS, match_mid_channels, summarise, summary_table


def test_every_block_is_matched_to_the_k3_model_within_3_percent():
    target = count_macs(ShuffleNetV1(6), 80)
    assert target == 1_865_640
    for name, block in BLOCKS.items():
        mids, macs = match_mid_channels(block, target, 80, 6)
        assert abs(macs / target - 1) <= 0.03, name
        assert all(m % (6 if name == "ghost" else 3) == 0 for m in mids), (name, mids)
        assert count_macs(ShuffleNetV1(6, depthwise=block, mid_channels=mids), 80) == macs
    assert match_mid_channels(BLOCKS["dw_k3"], target, 80, 6)[0] == [15, 30, 60]
    # the bisection's pick against its neighbours among the factors 0.4-1.6 (MACs grow with them): neither is closer
    (mids, macs), step = match_mid_channels(BLOCKS["dw_k5"], target, 80, 6), 3
    candidates = list(dict.fromkeys(tuple(max(step, int(round(c * f / step)) * step) for c in (15, 30, 60))
                                    for f in np.arange(0.4, 1.6, 0.01)))
    index = candidates.index(tuple(mids))
    for neighbour in (candidates[index - 1], candidates[index + 1]):
        neighbour_macs = count_macs(ShuffleNetV1(6, depthwise=BLOCKS["dw_k5"], mid_channels=neighbour), 80)
        assert abs(neighbour_macs - target) >= abs(macs - target), neighbour


def test_unreachable_budget_is_refused():
    with pytest.raises(ValueError, match="more than 3% from 100"):
        match_mid_channels(BLOCKS["dw_k7"], 100, 80, 6)


def test_summary_calls_a_difference_inside_the_seed_spread_no_difference():
    rows = [{"block": b, "seed": s, "mid_channels": [3], "macs": 10, "params": 5, "f1": f}
            for b, s, f in [("dw_k3", 0, 0.60), ("dw_k3", 1, 0.64), ("dw_k5", 0, 0.62), ("dw_k5", 1, 0.63),
                            ("dw_k7", 0, 0.70), ("dw_k7", 1, 0.71)]]
    summary = summarise(rows)
    assert [s["f1_mean"] for s in summary] == [0.62, 0.625, 0.705]
    assert summary[0]["f1_spread"] == 0.04 and summary[0]["f1_std"] == pytest.approx(0.0283, abs=1e-4)
    table = summary_table(summary)
    assert "+0.0050 (within seed spread: no difference)" in table
    assert "+0.0850 (beyond seed spread)" in table


@pytest.mark.slow
def test_study_runs_and_resumes(tmp_path, log_messages):
    data = make_synthetic_folder(str(tmp_path / "data"), classes=3, train_per_class=8, val_per_class=4, size=48)
    args = ["--data", data, "--output", str(tmp_path / "out"), "--blocks", "dw_k3", "ghost", "--seeds", "0", "1",
            "--epochs", "1", "--input-size", "48", "--batch-size", "8", "--workers", "0", "--tolerance", "0.05"]
    main(args)
    summary = json.load(open(tmp_path / "out" / "blocks.json"))
    assert [s["block"] for s in summary] == ["dw_k3", "ghost"] and all(s["seeds"] == [0, 1] for s in summary)
    assert os.path.getsize(tmp_path / "out" / "blocks.png") > 0
    log_messages.clear()
    main(args)
    assert sum(message.endswith("done, skipped") for message in log_messages) == 4
    log_messages.clear()
    main(args + ["--epochs", "2", "--seeds", "0"])  # other settings: trained afresh, not mixed in
    assert not any(message.endswith("done, skipped") for message in log_messages)
    assert [s["seeds"] for s in json.load(open(tmp_path / "out" / "blocks.json"))] == [[0], [0]]

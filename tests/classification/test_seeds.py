"""The over-seeds summary of compression runs: statistics, verdicts, latency columns and bad input."""
import json
import os

import pytest

from classification.cli.seeds import main
from classification.models import ShuffleNetV1, save_model


def write_run(folder, rows):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "results.json"), "w") as file:
        json.dump(rows, file)
    return str(folder)


def row(stage, f1, test_f1, macs=1000, seconds=60.0, kind="train"):
    return {"stage": stage, "kind": kind, "macs": macs, "params": 10, "nonzero_params": 10, "bytes": 400,
            "f1": f1, "test_f1": test_f1, "seconds": seconds}


@pytest.fixture
def three_runs(tmp_path):
    """Test F1 of 'small' 0.70/0.72/0.74 against 'big' 0.60/0.61/0.62 (beyond both spreads) and of 'same'
    0.605/0.615/0.60 (within them)."""
    runs = []
    for seed, (small, big, same) in enumerate([(0.70, 0.60, 0.605), (0.72, 0.61, 0.615), (0.74, 0.62, 0.60)]):
        runs.append(write_run(tmp_path / f"s{seed}", [row("big", 0.5, big, macs=2000, seconds=120 * (seed + 1)),
                                                      row("small", 0.5, small, kind="channel_prune"),
                                                      row("same", 0.5, same)]))
    return runs


def test_mean_std_spread_and_verdicts(three_runs, tmp_path, capsys):
    out = str(tmp_path / "summary")
    main([*three_runs, "--output", out, "--reference", "big", "--latency-runs", "0"])
    summary = {s["stage"]: s for s in json.load(open(os.path.join(out, "seeds.json")))}
    small = summary["small"]
    assert small["test_f1"] == [0.70, 0.72, 0.74]
    assert small["test_mean"] == pytest.approx(0.72) and small["test_std"] == pytest.approx(0.02)
    assert small["test_spread"] == pytest.approx(0.04)
    assert summary["big"]["minutes"] == pytest.approx(4.0)  # 2, 4 and 6 minutes
    table = capsys.readouterr().out
    assert "+0.1100 (beyond seed spread)" in table
    assert "| same |" in table and "(within seed spread: no difference)" in table
    from PIL import Image

    with Image.open(os.path.join(out, "seeds.png")) as png:
        assert png.format == "PNG" and png.size == (1430, 550)  # two panels, 13 x 5 inches at 110 dpi


def test_stages_picks_and_orders_the_rows(three_runs, tmp_path):
    out = str(tmp_path / "summary")
    main([*three_runs, "--output", out, "--reference", "big", "--latency-runs", "0", "--stages", "same", "big"])
    assert [s["stage"] for s in json.load(open(os.path.join(out, "seeds.json")))] == ["same", "big"]


def test_seeds_whose_pruning_picked_other_channels_show_their_mac_range(tmp_path, capsys):
    runs = [write_run(tmp_path / f"s{seed}", [row("pruned", 0.5, 0.6, macs=macs)])
            for seed, macs in enumerate([1_075_930, 1_076_394, 1_076_000])]
    main([*runs, "--output", str(tmp_path / "out"), "--reference", "", "--latency-runs", "0"])
    entry = json.load(open(tmp_path / "out" / "seeds.json"))[0]
    assert entry["macs"] == 1_076_108 and entry["macs_range"] == [1_075_930, 1_076_394]
    assert "| 1,076,108 (1,075,930-1,076,394) |" in capsys.readouterr().out


def test_latency_columns_time_each_stage_checkpoint(tmp_path):
    run = write_run(tmp_path / "s0", [row("tiny", 0.5, 0.5)])
    save_model(os.path.join(run, "tiny.pth"), ShuffleNetV1(3, stage_repeats=(1, 1, 1)), 32, ["a", "b", "c"], "tiny")
    main([run, "--output", str(tmp_path / "out"), "--reference", "", "--latency-runs", "3"])
    entry = json.load(open(tmp_path / "out" / "seeds.json"))[0]
    assert entry["torch_ms"] > 0 and entry["onnx_ms"] > 0


@pytest.mark.parametrize("case, message", [
    ("missing", "s9/results.json: cannot read a compression run's results"),
    ("twice", "runs given more than once"),
    ("reference", "reference stage 'nothing' is in none of the runs"),
    ("stages", "--stages: nothing in none of the runs (they have: big, small, same)"),
    ("stages without reference", "--reference big is not among --stages"),
])
def test_bad_input_is_one_error_line(three_runs, tmp_path, capfd, case, message):
    runs, extra = list(three_runs), []
    if case == "missing":
        runs.append(str(tmp_path / "s9"))
    elif case == "twice":
        runs.append(runs[0])
    elif case == "stages":
        extra = ["--stages", "big", "nothing"]
    elif case == "stages without reference":
        extra = ["--stages", "small", "--reference", "big"]
    else:
        extra = ["--reference", "nothing"]
    with pytest.raises(SystemExit) as exit_info:
        main([*runs, "--output", str(tmp_path / "out"), "--latency-runs", "0", *extra])
    assert exit_info.value.code != 0
    error = capfd.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error:") and message in error[0]

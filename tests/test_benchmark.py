"""tools/benchmark.py --quick --train --train-speed: every output is written, with latency ratios, mAP and the
trainer-vs-plain-loop speed ratio."""
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_quick_benchmark_writes_results(tmp_path):
    result = subprocess.run([sys.executable, "tools/benchmark.py", "--quick", "--train", "--train-speed", "--profile",
                             "--speed-rounds", "1", "--output", str(tmp_path),
                             "--exps", "exps/yolox_voc_nano.py", "exps/mdconv_nano.py"],
                            capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.load(open(tmp_path / "variants.json"))
    assert [r["exp"] for r in rows] == ["yolox_voc_nano", "mdconv_nano"]
    stock, mdconv = rows
    assert stock["latency_ratio"] == {"torch@128": 1.0, "onnx@128": 1.0}
    assert set(mdconv["latency_ms"]) == {"torch@128", "onnx@128"}
    assert all(0 <= r["map50"] <= 1 and r["train_img_per_s"] > 0 for r in rows)
    assert mdconv["params_m"] == pytest.approx(0.8851, abs=1e-4)
    table = open(tmp_path / "variants.md").read()
    assert "ratios are to yolox_voc_nano" in table and "mdconv_nano" in table
    assert os.path.getsize(tmp_path / "variants.png") > 1000
    speed = json.load(open(tmp_path / "train_speed.json"))
    assert speed["exp"] == "yolox_voc_nano" and speed["size"] == 128 and speed["iterations"] == 2
    (round_,) = speed["rounds"]
    assert round_["plain_img_per_s"] > 0 and round_["ratio"] == pytest.approx(
        round_["ours_img_per_s"] / round_["plain_img_per_s"], rel=1e-2)
    assert "our trainer / plain YOLOX loop" in table
    profile = open(tmp_path / "onnx_profile.md").read()
    assert "| depthwise 9x9 " in profile and "| conv 1x1 " in profile  # MixConv's largest kernel is 9
    assert re.search(r"\| total +\| +[\d.]+ +\| +[\d.]+ +\|", profile)

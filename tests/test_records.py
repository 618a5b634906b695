"""The records tools hand each other: ``EvalRecord`` (tools/eval.py --json, test_eval.json), the versioned curve,
and the run setting the benchmark compares before pairing runs."""
import glob
import json
import os
import subprocess
import sys

import pytest

from tests.test_benchmark import write_eval

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def committed_records():
    paths = []
    for path in sorted(glob.glob(os.path.join(ROOT, "results", "**", "*.json"), recursive=True)):
        with open(path) as file:
            values = json.load(file)
        if isinstance(values, dict) and "mAP50" in values and "per_class_AP50" in values:
            paths.append(path)
    return paths


def test_every_committed_evaluation_reads_as_a_record_and_round_trips():
    from yolox_mods.evaluators import EVAL_RECORD_VERSION, EvalRecord

    paths = committed_records()
    assert len(paths) >= 150  # results/quick (3 per run) and results/deployment
    for path in paths:
        record = EvalRecord.read(path)
        with open(path) as file:
            stored = json.load(file)
        assert stored["version"] == EVAL_RECORD_VERSION, path  # migrated, not only readable
        assert EvalRecord.from_dict(json.loads(record.to_json()), path) == record
        assert record.map50 == stored["mAP50"] and record.images == stored["images"]
        if record.runtime == "torch":  # the benchmark pairs PyTorch runs by how they were trained
            assert record.training is not None and record.training.protocol == "quick", path


def test_every_committed_curve_is_version_2_with_its_setting():
    from yolox_mods.core.curve import read_curve

    paths = glob.glob(os.path.join(ROOT, "results", "**", "curve.json"), recursive=True)
    assert paths
    for path in paths:
        with open(path) as file:
            assert json.load(file)["version"] == 2, path
        assert read_curve(path).training.loader_workers in (0, 2)


def test_a_file_from_before_the_version_reads_through_the_adapter(tmp_path):
    from yolox_mods.evaluators import EvalRecord

    legacy = {"exp": "stock", "ckpt": "run/latest_ckpt.pth", "int8": None, "split": "test",
              "image_sets": [["2007", "test"]], "images": 4, "mAP50": 12.5, "mAP50_95": 6.0,
              "per_class_AP50": {"cat": 12.5}, "matches": "x.matches.npz"}
    record = EvalRecord.from_dict(legacy, "old.json")
    assert (record.runtime, record.model_file, record.map50, record.per_class_ap50, record.training) == (
        "torch", "run/latest_ckpt.pth", 12.5, {"cat": 12.5}, None)
    exported = {**legacy, "openvino": "m.xml", "runtime": "openvino-int8"}
    del exported["ckpt"]
    assert EvalRecord.from_dict(exported, "ov.json").model_file == "m.xml"
    assert EvalRecord.from_dict(exported, "ov.json").int8

    future = tmp_path / "future.json"
    future.write_text(json.dumps({**legacy, "version": 7}))
    with pytest.raises(ValueError, match=f"{future}: evaluation record version 7; this yolox-lite reads version 1"):
        EvalRecord.read(str(future))
    extra = {**json.loads(EvalRecord.from_dict(legacy, "x").to_json()), "colour": "red"}
    with pytest.raises(ValueError, match=r"x.json: not an evaluation record \(unexpected fields \['colour'\]\)"):
        EvalRecord.from_dict(extra, "x.json")
    with pytest.raises(ValueError, match="bad.json: unknown runtime 'tensorrt'"):
        EvalRecord.from_dict({**legacy, "runtime": "tensorrt"}, "bad.json")


def test_a_bare_list_curve_is_read_as_version_1(tmp_path):
    from yolox_mods.common.provenance import RunSetting
    from yolox_mods.core.curve import Curve, read_curve

    points = [{"epoch": 5, "minutes": 1.0, "mAP50": 2.0, "mAP50_95": 1.0}]
    old = tmp_path / "curve.json"
    old.write_text(json.dumps(points))
    assert read_curve(str(old)) == Curve(points, None)
    new = tmp_path / "new.json"
    Curve(points, RunSetting("quick", 0)).write(str(new))
    assert read_curve(str(new)).training.comparable() == ("quick", 0)
    (tmp_path / "other.json").write_text(json.dumps({"version": 3, "points": points}))
    with pytest.raises(ValueError, match="other.json: not a learning curve of version 2"):
        read_curve(str(tmp_path / "other.json"))


def test_runs_of_two_loader_settings_are_not_paired_unless_asked(tmp_path):
    from yolox_mods.benchmark import read_evaluations

    exps = {"stock": "silu", "final": "silu"}
    stock = write_eval(tmp_path / "stock.json", "stock", 10.0, 5.0, {})
    final = write_eval(tmp_path / "final.json", "final", 12.0, 6.0, {},
                       training={"protocol": "quick", "loader_workers": 2})
    with pytest.raises(ValueError, match=r"final.json: trained with another setting than .*stock.json \(loader "
                                         r"workers 2 vs 0\); compare runs of one setting, or pass --mixed-settings"):
        read_evaluations([stock, final], exps)
    assert set(read_evaluations([stock, final], exps, mixed_settings=True)) == {"stock", "final"}
    unknown = write_eval(tmp_path / "unknown.json", "final", 12.0, 6.0, {}, training=None)
    with pytest.raises(ValueError, match="unknown.json: does not record how its run was trained"):
        read_evaluations([stock, unknown], exps)
    # an exported model's score is paired with its own weights, not by setting
    exported = write_eval(tmp_path / "onnx.json", "final", 11.0, 5.5, {}, training=None, runtime="onnx")
    assert len(read_evaluations([stock, exported], exps)["final"]) == 1

    # the CLI names the difference in its one error line, before any measurement
    stock = write_eval(tmp_path / "s.json", "yolox_voc_nano", 10.0, 5.0, {})
    final = write_eval(tmp_path / "f.json", "final_nano", 12.0, 6.0, {},
                       training={"protocol": "quick", "loader_workers": 2})
    latency = tmp_path / "latency"
    latency.mkdir()
    (latency / "latency.json").write_text(json.dumps({
        "exps": ["exps/yolox_voc_nano.py", "exps/final_nano.py"], "per_round": {}, "orders": [], "load": [],
        "calls_per_block": 1, "threads": {}, "machine": {"cpu": "x", "flags": [], "cores": 2}}))
    result = subprocess.run([sys.executable, "tools/benchmark.py", "report", "--latency", str(latency), "--evals",
                             stock, final, "--output", str(tmp_path / "out")],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {final}: trained with another setting")


def test_the_current_setting_names_this_machine_and_checkout():
    from yolox_mods.common.provenance import CPU_FLAGS, RunSetting

    setting = RunSetting.current("quick", 0, 2)
    if os.path.exists("/proc/cpuinfo"):
        flags = set(open("/proc/cpuinfo").read().split("flags")[1].split("\n")[0].split())
        assert setting.cpu_flags == [flag for flag in CPU_FLAGS if flag in flags]
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        assert setting.commit == head.stdout.strip() and isinstance(setting.dirty, bool)
    import torch

    assert setting.torch == torch.__version__.split("+")[0] or setting.torch == torch.__version__

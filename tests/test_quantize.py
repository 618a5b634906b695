"""INT8 quantization of an exported model: calibrated on training images, evaluable through the same path."""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from yolox_mods.benchmark.latency import untie_constants
from yolox_mods.cli import quantize_onnx as quantize_cli
from yolox_mods.exp_files import load_exp
from yolox_mods.export import export_onnx
from yolox_mods.quantize import (
    calibration_batches,
    output_fidelity,
    output_tail,
    quantization_sensitivity,
    quantize_onnx,
    quantize_openvino,
    training_images,
)
from yolox_mods.runtime import OnnxDetector, OpenVINODetector
from yolox_mods.weights import weights_digest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_int8_model_keeps_metadata_and_tracks_fp32(synthetic_voc, tmp_path, capfd):
    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"), ["data_dir", synthetic_voc])
    torch.manual_seed(0)
    # spread BN statistics as training leaves them: a fresh model has near-constant tensors that percentile
    # calibration cannot histogram
    model = untie_constants(exp.get_model().eval())
    fp32 = str(tmp_path / "fp32.onnx")
    export_onnx(model, fp32, (96, 96))
    images = training_images(exp, 8)
    assert len(images) == 8 and all("/JPEGImages/" in p for p in images)
    test_ids = set(open(os.path.join(synthetic_voc, "VOC2007", "ImageSets", "Main", "test.txt")).read().split())
    assert not {os.path.splitext(os.path.basename(p))[0] for p in images} & test_ids
    int8 = str(tmp_path / "int8.onnx")
    report = quantize_onnx(fp32, int8, images, "u8s8", per_channel=True, reduce_range=False)
    assert report["quantize_nodes"] > 50 and report["bytes"] < 0.5 * report["fp32_bytes"]
    # the head's scores and output concats stay in float: no quantize node reads them
    tail = output_tail(onnx.load(fp32))
    assert {"/head/Sigmoid", "/head/Sigmoid_5", "/head/Concat", "/head/Concat_6"} <= set(tail)
    quantized_graph = onnx.load(int8).graph
    producer = {output: node.name for node in quantized_graph.node for output in node.output}
    assert not [n for n in quantized_graph.node if n.op_type == "QuantizeLinear" and producer.get(n.input[0]) in tail]
    keys = [p.key for p in onnx.load(int8).metadata_props]
    assert len(keys) == len(set(keys))  # each key once
    meta = {p.key: p.value for p in onnx.load(int8).metadata_props}
    assert meta["yolox_lite_input_size"] == "96,96"
    assert meta["yolox_lite_int8"] == "u8s8,per_channel,percentile,float_outputs"
    assert meta["yolox_lite_weights"] == OnnxDetector(int8).weights == weights_digest(model)  # INT8 keeps the source
    batch = torch.rand(2, 3, 96, 96) * 255
    assert OnnxDetector(int8).int8 == "u8s8,per_channel,percentile,float_outputs" and OnnxDetector(fp32).int8 is None
    ours, theirs = OnnxDetector(int8)(batch), OnnxDetector(fp32)(batch)
    assert ours.shape == theirs.shape
    # boxes in pixels after decoding: INT8 stays close to FP32 (a broken graph would be off by orders)
    assert (ours[..., :4] - theirs[..., :4]).abs().median() < 8.0
    with pytest.raises(ValueError, match="no node named 'nope'"):
        quantize_onnx(fp32, int8, images, keep_float=["nope"])
    quantize_cli.main(["-n", "yolox_voc_nano", "--onnx", fp32, "--output", str(tmp_path / "cli.onnx"), "--calib", "4",
                       "--types", "u8u8", "data_dir", synthetic_voc])
    out = capfd.readouterr().out
    assert '"types": "u8u8"' in out and '"reduce_range": true' in out  # the measured default
    assert '"calibration": "percentile"' in out and '"float_outputs": true' in out
    quantize_cli.main(["-n", "yolox_voc_nano", "--onnx", fp32, "--output", str(tmp_path / "cli.onnx"), "--calib", "4",
                       "--no-reduce-range", "--calibration", "minmax", "--quantized-outputs", "data_dir",
                       synthetic_voc])
    out = capfd.readouterr().out
    assert '"reduce_range": false' in out and '"calibration": "minmax"' in out and '"float_outputs": false' in out


def test_nncf_openvino_int8_keeps_metadata_and_tracks_fp32(synthetic_voc, tmp_path, capfd):
    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"), ["data_dir", synthetic_voc])
    torch.manual_seed(0)
    fp32 = str(tmp_path / "fp32.onnx")
    export_onnx(exp.get_model().eval(), fp32, (96, 96))
    int8 = str(tmp_path / "ov" / "int8.xml")
    report = quantize_openvino(fp32, int8, training_images(exp, 8), preset="performance")
    assert report["preset"] == "performance" and report["fake_quantize_nodes"] > 50
    assert os.path.exists(str(tmp_path / "ov" / "int8.bin"))
    assert sorted(os.listdir(tmp_path / "ov")) == ["int8.bin", "int8.xml"]  # the staging folder is gone
    quantized = OpenVINODetector(int8)
    assert quantized.size == (96, 96) and quantized.int8 == "nncf,performance" and OpenVINODetector(fp32).int8 is None
    assert quantized.weights == OpenVINODetector(fp32).weights == OnnxDetector(fp32).weights is not None
    batch = torch.rand(2, 3, 96, 96) * 255
    ours, theirs = quantized(batch), OpenVINODetector(fp32)(batch)
    assert ours.shape == theirs.shape and (ours[..., :4] - theirs[..., :4]).abs().median() < 8.0
    with pytest.raises(ValueError, match="no node named 'nope'"):
        quantize_openvino(fp32, int8, training_images(exp, 2), keep_float=["nope"])
    with pytest.raises(SystemExit):
        quantize_cli.main(["-n", "yolox_voc_nano", "--onnx", fp32, "--output", int8, "--runtime", "openvino",
                           "--reduce-range", "data_dir", synthetic_voc])
    assert ("error: --types, --per-tensor, --reduce-range, --calibration and --quantized-outputs are ONNX Runtime "
            "settings; NNCF's is --preset" in capfd.readouterr().err)
    with pytest.raises(SystemExit):
        quantize_cli.main(["-n", "yolox_voc_nano", "--onnx", fp32, "--output", str(tmp_path / "x.onnx"),
                           "--preset", "mixed", "data_dir", synthetic_voc])
    assert "error: --preset is NNCF's setting (with --runtime openvino)" in capfd.readouterr().err


def test_sensitivity_table_matches_a_hand_computed_sqnr(synthetic_voc, tmp_path, capfd):
    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"), ["data_dir", synthetic_voc])
    torch.manual_seed(0)
    fp32, int8 = str(tmp_path / "fp32.onnx"), str(tmp_path / "int8.onnx")
    export_onnx(exp.get_model().eval(), fp32, (96, 96))
    images = training_images(exp, 6)
    report = quantize_onnx(fp32, int8, images, keep_float=["/head/Concat_6"], calibration="minmax",
                           float_outputs=False)
    assert report["calibration"] == "minmax" and report["kept_float"] == ["/head/Concat_6"]
    # a fresh model's near-constant tensors cannot be binned by the default percentile: minmax, and the report says so
    fallback = quantize_onnx(fp32, str(tmp_path / "fallback.onnx"), images)
    assert fallback["calibration"] == "minmax (percentile could not bin a near-constant tensor)"
    capfd.readouterr()  # ONNX Runtime's own progress lines
    rows = quantization_sensitivity(fp32, int8, images[:3])
    assert [r["local_db"] for r in rows] == sorted(r["local_db"] for r in rows)
    by_node = {r["node"]: r for r in rows}
    assert "/head/Concat_6" not in by_node  # kept in float: its output has no quantize-dequantize pair
    # accumulated error of a late tensor against the FP32 model, by hand with two plain sessions that, like the
    # table, run the quantize-dequantize graph as written (unfused)
    last = by_node["/head/Concat_2"]
    tensor = last["tensor"]
    outputs = {}
    for name, path in (("fp32", fp32), ("int8", int8)):
        model = onnx.load(path)
        if name == "int8":  # the value after the tensor's own quantize -> dequantize pair
            consumer = {i: n for n in model.graph.node for i in n.input}
            quantize = consumer[tensor]
            assert quantize.op_type == "QuantizeLinear"
            dequantize = consumer[quantize.output[0]]
            assert dequantize.op_type == "DequantizeLinear"
            tensor = dequantize.output[0]
        model.graph.output.append(onnx.ValueInfoProto(name=tensor))
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        outputs[name] = np.concatenate([session.run([tensor], batch)[0].ravel()
                                        for batch in calibration_batches(images[:3], (96, 96))])
    noise = np.linalg.norm(outputs["fp32"] - outputs["int8"])
    assert last["accumulated_db"] == pytest.approx(20 * np.log10(np.linalg.norm(outputs["fp32"]) / noise), abs=0.01)
    table = str(tmp_path / "sens.json")
    quantize_cli.main(["-n", "yolox_voc_nano", "--onnx", fp32, "--sensitivity", int8, "--output", table,
                       "--calib", "2", "--show", "3", "data_dir", synthetic_voc])
    printed = capfd.readouterr().out.strip().splitlines()
    assert len(printed) == 5 and printed[0].startswith("outputs against FP32 on 2 held-out training images")
    assert "local dB" in printed[1] and len(json.load(open(table))["tensors"]) == len(rows)
    # held out: the other end of the calibration images' order
    assert not set(training_images(exp, 6, held_out=True)) & set(images)
    assert output_fidelity(fp32, fp32, images[:2])["classes_db"] > 100
    fidelity = output_fidelity(fp32, int8, images[:2])
    assert 0 < fidelity["boxes_db"] < 100 and 0 < fidelity["classes_db"] < 100

"""INT8 post-training quantization of an exported model, calibrated on training images only, with what breaks in
INT8 left in float by name: ONNX Runtime static quantization (QDQ) and NNCF's for OpenVINO."""
import os
import tempfile
from typing import Iterator, Sequence, Tuple

import numpy as np

from .common.errors import ConfigError
from .common.images import read_image
from .common.io import atomic_open

# (activation type, weight type) by name. On CPUs without VNNI, U8S8 products can saturate the 16-bit
# intermediate of AVX2 kernels; ``reduce_range`` (7-bit weights) or U8U8 avoid it. Measured on stock nano's
# published weights (2,000 test images, mAP50 10.17 in FP32): U8S8 8.29, U8U8 8.61, U8S8 with reduce_range 9.51
# at the same latency, so U8S8 with reduce_range is the default (docs/results.md).
TYPE_PAIRS = {"u8s8": ("QUInt8", "QInt8"), "u8u8": ("QUInt8", "QUInt8"), "s8s8": ("QInt8", "QInt8")}


def calibration_batches(image_paths: Sequence[str], size: Tuple[int, int]) -> Iterator[dict]:
    """``{"images": (1, 3, H, W) float32}`` per image, letterboxed exactly as evaluation does it."""
    from yolox.data.data_augment import preproc

    for path in image_paths:
        array, _ = preproc(read_image(path), size)
        yield {"images": array[None]}


def quantize_onnx(fp32_path: str, int8_path: str, calibration_images: Sequence[str], types: str = "u8s8",
                  per_channel: bool = True, reduce_range: bool = True, keep_float: Sequence[str] = ()) -> dict:
    """Write an INT8 QDQ copy of ``fp32_path`` (a tools/export_onnx.py file, whose metadata it keeps) to
    ``int8_path``. ``keep_float``: node names left unquantized. Returns what was done, for the log."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    if types not in TYPE_PAIRS:
        raise ConfigError(f"types must be one of {sorted(TYPE_PAIRS)}, got {types!r}")
    if not calibration_images:
        raise ConfigError("quantization needs calibration images (training images, never test images)")
    model = onnx.load(fp32_path)
    meta = {p.key: p.value for p in model.metadata_props}
    size = tuple(int(v) for v in meta["yolox_lite_input_size"].split(","))
    unknown = sorted(set(keep_float) - {node.name for node in model.graph.node})
    if unknown:
        raise ConfigError(f"{fp32_path}: no node named {unknown[0]!r} to keep in float")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = calibration_batches(calibration_images, size)

        def get_next(self):
            return next(self.batches, None)

    activation, weight = (getattr(QuantType, name) for name in TYPE_PAIRS[types])
    with tempfile.TemporaryDirectory() as work:
        raw = os.path.join(work, "int8.onnx")
        quantize_static(fp32_path, raw, Reader(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                        reduce_range=reduce_range, activation_type=activation, weight_type=weight,
                        nodes_to_exclude=list(keep_float))
        quantized = onnx.load(raw)
    for key, value in {**meta, "yolox_lite_int8": f"{types}{',per_channel' if per_channel else ''}"
                                                  f"{',reduce_range' if reduce_range else ''}"}.items():
        quantized.metadata_props.add(key=key, value=value)
    with atomic_open(int8_path, "wb") as file:
        file.write(quantized.SerializeToString())
    quantize_nodes = sum(node.op_type == "QuantizeLinear" for node in quantized.graph.node)
    return {"path": int8_path, "calibration_images": len(calibration_images), "types": types,
            "per_channel": per_channel, "reduce_range": reduce_range, "kept_float": list(keep_float),
            "quantize_nodes": quantize_nodes, "bytes": os.path.getsize(int8_path),
            "fp32_bytes": os.path.getsize(fp32_path)}


def quantize_openvino(fp32_path: str, int8_path: str, calibration_images: Sequence[str],
                      keep_float: Sequence[str] = ()) -> dict:
    """Write an NNCF INT8 OpenVINO IR (``int8_path``, an ``.xml`` with its ``.bin`` beside it) of ``fp32_path``
    (a tools/export_onnx.py file, whose metadata OpenVINO carries over) with NNCF's default post-training
    quantization (symmetric activations, per-channel weights, fast bias correction). ``keep_float``: node names
    left in float. Returns what was done, for the log."""
    import nncf
    import openvino

    from .runtime import read_openvino_model

    if not int8_path.endswith(".xml"):
        raise ConfigError(f"an OpenVINO model is written as .xml + .bin; got {int8_path!r}")
    if not calibration_images:
        raise ConfigError("quantization needs calibration images (training images, never test images)")
    model = read_openvino_model(fp32_path)
    size = tuple(int(v) for v in model.get_rt_info(["framework", "yolox_lite_input_size"]).astype(str).split(","))
    names = {op.get_friendly_name() for op in model.get_ops()}
    unknown = sorted(set(keep_float) - names)
    if unknown:
        raise ConfigError(f"{fp32_path}: no node named {unknown[0]!r} to keep in float")
    dataset = nncf.Dataset(list(calibration_batches(calibration_images, size)), lambda batch: batch["images"])
    quantized = nncf.quantize(model, dataset, subset_size=len(calibration_images),
                              ignored_scope=nncf.IgnoredScope(names=list(keep_float)) if keep_float else None)
    quantized.set_rt_info("nncf", ["framework", "yolox_lite_int8"])
    directory = os.path.dirname(os.path.abspath(int8_path))
    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as work:
        staged = os.path.join(work, "int8.xml")
        openvino.save_model(quantized, staged, compress_to_fp16=False)
        # the weights first: an .xml is never left pointing at a missing or older .bin
        os.replace(staged[:-4] + ".bin", int8_path[:-4] + ".bin")
        os.replace(staged, int8_path)
    fake_quantize = sum(op.get_type_name() == "FakeQuantize" for op in quantized.get_ops())
    return {"path": int8_path, "calibration_images": len(calibration_images), "runtime": "openvino",
            "kept_float": list(keep_float), "fake_quantize_nodes": fake_quantize,
            "bytes": os.path.getsize(int8_path) + os.path.getsize(int8_path[:-4] + ".bin"),
            "fp32_bytes": os.path.getsize(fp32_path)}


def training_images(exp, count: int, seed: int = 0) -> list:
    """``count`` image paths drawn (seeded) from ``exp.train_sets``: calibration never sees val or test."""
    from .data.voc import scan_voc

    records = scan_voc(exp.data_dir, exp.train_sets, exp.class_names, decode_images=False).records
    order = np.random.default_rng(seed).permutation(len(records))[:count]
    return [records[i].image_path for i in order]

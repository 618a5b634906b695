"""INT8 post-training quantization of an exported model with ONNX Runtime (static, QDQ), calibrated on training
images only, with what breaks in INT8 left in float by name."""
import os
import tempfile
from typing import Iterator, Sequence, Tuple

import numpy as np

from .common.errors import ConfigError
from .common.images import read_image
from .common.io import atomic_open

# (activation type, weight type) by name. On CPUs without VNNI, U8S8 products can saturate the 16-bit
# intermediate of AVX2 kernels; ``reduce_range`` (7-bit weights) or U8U8 avoid it (docs/results.md).
TYPE_PAIRS = {"u8s8": ("QUInt8", "QInt8"), "u8u8": ("QUInt8", "QUInt8"), "s8s8": ("QInt8", "QInt8")}


def calibration_batches(image_paths: Sequence[str], size: Tuple[int, int]) -> Iterator[dict]:
    """``{"images": (1, 3, H, W) float32}`` per image, letterboxed exactly as evaluation does it."""
    from yolox.data.data_augment import preproc

    for path in image_paths:
        array, _ = preproc(read_image(path), size)
        yield {"images": array[None]}


def quantize_onnx(fp32_path: str, int8_path: str, calibration_images: Sequence[str], types: str = "u8s8",
                  per_channel: bool = True, reduce_range: bool = False, keep_float: Sequence[str] = ()) -> dict:
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


def training_images(exp, count: int, seed: int = 0) -> list:
    """``count`` image paths drawn (seeded) from ``exp.train_sets``: calibration never sees val or test."""
    from .data.voc import scan_voc

    records = scan_voc(exp.data_dir, exp.train_sets, exp.class_names, decode_images=False).records
    order = np.random.default_rng(seed).permutation(len(records))[:count]
    return [records[i].image_path for i in order]

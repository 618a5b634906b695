"""A compressed classifier as it runs on a CPU: exported to ONNX, quantized to INT8 (ONNX Runtime static QDQ,
calibrated on training images only), and scored in ONNX Runtime on the test split: macro F1, accuracy, bytes and
batch-1 latency, FP32 against INT8 (``python -m classification.deploy``)."""
import functools
import os
from typing import Dict, Iterator, List, Optional

import numpy as np
import torch

from yolox_mods.common import ConfigError, atomic_open
from yolox_mods.common.onnx import onnx_session, static_int8
from yolox_mods.common.timing import LatencyRun, ThreadSettings, measure_latency

from .data import ImageDataset, Split, load_data
from .metrics import count_macs, macro_f1
from .models import ShuffleNetV1, load_model


def export_classifier(model: ShuffleNetV1, size: int, path: str) -> None:
    """``model`` (eval mode, input ``images`` (1, 3, size, size), output ``logits``) written to ``path`` atomically."""
    import io

    buffer = io.BytesIO()
    torch.onnx.export(model.eval(), (torch.zeros(1, 3, size, size),), buffer, input_names=["images"],
                      output_names=["logits"], opset_version=13, dynamo=False)
    with atomic_open(path, "wb") as file:
        file.write(buffer.getvalue())


def feeds(split: Split, size: int, indices) -> Iterator[dict]:
    """``{"images": (1, 3, size, size)}`` per image, with the evaluation transform."""
    dataset = ImageDataset(split, size, train=False)
    for index in indices:
        yield {"images": dataset[index][0][None].numpy()}


def quantize_classifier(fp32_path: str, int8_path: str, train: Split, size: int, count: int = 100, seed: int = 0,
                        types: str = "u8s8", reduce_range: bool = True, calibration: str = "percentile") -> str:
    """An INT8 copy of ``fp32_path`` calibrated on ``count`` training images drawn with ``seed``; returns the
    calibration method used (``static_int8``)."""
    if count < 1:
        raise ConfigError("quantization needs calibration images (training images, never test images)")
    chosen = np.random.default_rng(seed).permutation(len(train.labels))[:count]
    quantized, used = static_int8(fp32_path, lambda: feeds(train, size, chosen), types, True, reduce_range,
                                  calibration)
    with atomic_open(int8_path, "wb") as file:
        file.write(quantized.SerializeToString())
    return used


def onnx_scores(path: str, split: Split, size: int) -> dict:
    """Macro F1 and accuracy of an ONNX classifier on ``split``, and its size on disk."""
    session = onnx_session(path, threads=2)
    logits = [session.run(None, feed)[0] for feed in feeds(split, size, range(len(split.labels)))]
    predictions = np.concatenate(logits).argmax(1)
    labels = np.asarray(split.labels)
    return {"f1": macro_f1(labels, predictions, len(split.classes)), "accuracy": float(np.mean(predictions == labels)),
            "bytes": os.path.getsize(path)}


def onnx_latency(paths: Dict[str, str], size: int, runs: int, threads: Optional[ThreadSettings] = None) -> LatencyRun:
    """Batch-1 latency of the ONNX files ``paths`` (name -> file) side by side in one harness run: 7 rounds of warm
    blocks of ``runs`` / 7 calls each, every session on ``threads``."""
    threads = threads or ThreadSettings()
    image = {"images": np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)}
    runners = {name: functools.partial(onnx_session(path, threads.threads, threads.spinning,
                                                    threads.inter_threads).run, None, image)
               for name, path in paths.items()}
    return measure_latency(runners, calls_per_block=max(1, runs // 7), threads=threads)


def deploy(ckpt: str, data: str, output: str, calib: int = 100, runs: int = 100, types: str = "u8s8",
           reduce_range: bool = True, calibration: str = "percentile") -> List[dict]:
    """FP32 and INT8 rows for the checkpoint ``ckpt``, scored on the test split of ``data`` (val when it has none);
    the two ``.onnx`` files are written to ``output``."""
    model, size, classes = load_model(ckpt)
    train, val, test = load_data(data)
    if list(train.classes) != list(classes):
        raise ConfigError(f"{ckpt}: trained on classes {list(classes)}, {data} has {list(train.classes)}")
    split, split_name = (test, "test") if test is not None else (val, "val")
    os.makedirs(output, exist_ok=True)
    stem = os.path.join(output, os.path.splitext(os.path.basename(ckpt))[0])
    fp32, int8 = f"{stem}_fp32.onnx", f"{stem}_int8.onnx"
    export_classifier(model, size, fp32)
    used = quantize_classifier(fp32, int8, train, size, calib, types=types, reduce_range=reduce_range,
                               calibration=calibration)
    macs = count_macs(model, size)
    latency = onnx_latency({"FP32": fp32, "INT8": int8}, size, runs)
    rows = []
    for precision, path in (("FP32", fp32), ("INT8", int8)):
        ratio = latency.ratio(precision, "FP32")
        rows.append({"checkpoint": ckpt, "precision": precision, "split": split_name, "images": len(split.labels),
                     "macs": macs, **onnx_scores(path, split, size), "latency_ms": latency.ms(precision),
                     "latency_vs_fp32": ratio.describe(), "latency_run": latency.describe()})
    rows[1]["int8"] = {"types": types, "reduce_range": reduce_range, "calibration": used,
                       "calibration_images": calib}
    return rows

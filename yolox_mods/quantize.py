"""INT8 post-training quantization of an exported model, calibrated on training images only, with what breaks in
INT8 left in float by name: ONNX Runtime static quantization (QDQ) and NNCF's for OpenVINO."""
import os
import tempfile
from typing import Iterator, Sequence, Tuple

import numpy as np

from .common.errors import ConfigError
from .common.images import read_image
from .common.io import atomic_open
from .common.onnx import onnx_session, static_int8
from .export import exported_size

# The ONNX Runtime defaults (docs/results.md): the type pair is chosen on val, where U8S8 with reduce_range scores
# the best INT8 mAP of the pairs on stock nano's published weights (first picked on test, where it also led; the
# choice was re-made on val on 2026-12-06 and held). The calibration and the float outputs were chosen label-free,
# by the INT8 outputs' agreement with FP32 on held-out training images (``output_fidelity``).
OPENVINO_PRESETS = ("performance", "mixed")


def output_tail(model) -> list:
    """Names of the nodes between the last convolutions and the graph outputs (an ``onnx.ModelProto``): YOLOX's
    sigmoid scores and their concat with the boxes, where one 8-bit scale shared by box offsets and [0, 1]
    scores erases the scores' resolution. Found from the graph, so it holds for every exp."""
    producer = {output: node for node in model.graph.node for output in node.output}
    tail, frontier = [], [output.name for output in model.graph.output]
    seen = set()
    while frontier:
        node = producer.get(frontier.pop())
        if node is None or node.name in seen or node.op_type == "Conv":
            continue
        seen.add(node.name)
        tail.append(node.name)
        frontier.extend(node.input)
    return tail


def calibration_batches(image_paths: Sequence[str], size: Tuple[int, int]) -> Iterator[dict]:
    """``{"images": (1, 3, H, W) float32}`` per image, letterboxed exactly as evaluation does it."""
    from yolox.data.data_augment import preproc

    for path in image_paths:
        array, _ = preproc(read_image(path), size)
        yield {"images": array[None]}


def quantize_onnx(fp32_path: str, int8_path: str, calibration_images: Sequence[str], types: str = "u8s8",
                  per_channel: bool = True, reduce_range: bool = True, keep_float: Sequence[str] = (),
                  calibration: str = "percentile", float_outputs: bool = True) -> dict:
    """Write an INT8 QDQ copy of ``fp32_path`` (a tools/export_onnx.py file, whose metadata it keeps) to
    ``int8_path``. ``keep_float``: node names left unquantized; ``float_outputs``: also the ``output_tail``;
    ``calibration``: a key of ``CALIBRATIONS``. Returns what was done, for the log."""
    import onnx

    if not calibration_images:
        raise ConfigError("quantization needs calibration images (training images, never test images)")
    model = onnx.load(fp32_path)
    meta = {p.key: p.value for p in model.metadata_props}
    size = exported_size(meta, fp32_path)
    unknown = sorted(set(keep_float) - {node.name for node in model.graph.node})
    if unknown:
        raise ConfigError(f"{fp32_path}: no node named {unknown[0]!r} to keep in float")
    excluded = list(dict.fromkeys([*keep_float, *(output_tail(model) if float_outputs else [])]))
    quantized, calibration = static_int8(fp32_path, lambda: calibration_batches(calibration_images, size), types,
                                         per_channel, reduce_range, calibration, excluded)
    # ONNX Runtime copies some of the source's metadata: write the export's keys once each
    props = {p.key: p.value for p in quantized.metadata_props}
    props.update(meta)
    props["yolox_lite_int8"] = (f"{types}{',per_channel' if per_channel else ''}"
                                f"{',reduce_range' if reduce_range else ''},{calibration}"
                                f"{',float_outputs' if float_outputs else ''}")
    del quantized.metadata_props[:]
    for key, value in props.items():
        quantized.metadata_props.add(key=key, value=value)
    with atomic_open(int8_path, "wb") as file:
        file.write(quantized.SerializeToString())
    quantize_nodes = sum(node.op_type == "QuantizeLinear" for node in quantized.graph.node)
    return {"path": int8_path, "calibration_images": len(calibration_images), "types": types,
            "per_channel": per_channel, "reduce_range": reduce_range, "calibration": calibration,
            "kept_float": list(keep_float), "float_outputs": float_outputs,
            "quantize_nodes": quantize_nodes, "bytes": os.path.getsize(int8_path),
            "fp32_bytes": os.path.getsize(fp32_path)}


def quantize_openvino(fp32_path: str, int8_path: str, calibration_images: Sequence[str],
                      keep_float: Sequence[str] = (), preset: str = "mixed") -> dict:
    """Write an NNCF INT8 OpenVINO IR (``int8_path``, an ``.xml`` with its ``.bin`` beside it) of ``fp32_path``
    (a tools/export_onnx.py file, whose metadata OpenVINO carries over) with NNCF's post-training quantization
    (per-channel weights, fast bias correction). ``preset``: NNCF's ``performance`` (symmetric activations) or
    ``mixed`` (asymmetric activations, which do not spend half the range on SiLU's small negative tail; the
    default: stock nano's val mAP50 10.13 against 8.65 for ``performance``, docs/results.md).
    ``keep_float``: node names left in float. Returns what was done, for the log."""
    import nncf
    import openvino

    from .runtime import read_openvino_model

    if preset not in OPENVINO_PRESETS:
        raise ConfigError(f"preset must be one of {', '.join(OPENVINO_PRESETS)}, got {preset!r}")
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
                              preset=nncf.QuantizationPreset(preset),
                              ignored_scope=nncf.IgnoredScope(names=list(keep_float)) if keep_float else None)
    quantized.set_rt_info(f"nncf,{preset}", ["framework", "yolox_lite_int8"])
    directory = os.path.dirname(os.path.abspath(int8_path))
    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as work:
        staged = os.path.join(work, "int8.xml")
        openvino.save_model(quantized, staged, compress_to_fp16=False)
        # the weights first: an .xml is never left pointing at a missing or older .bin
        os.replace(staged[:-4] + ".bin", int8_path[:-4] + ".bin")
        os.replace(staged, int8_path)
    fake_quantize = sum(op.get_type_name() == "FakeQuantize" for op in quantized.get_ops())
    return {"path": int8_path, "calibration_images": len(calibration_images), "runtime": "openvino", "preset": preset,
            "kept_float": list(keep_float), "fake_quantize_nodes": fake_quantize,
            "bytes": os.path.getsize(int8_path) + os.path.getsize(int8_path[:-4] + ".bin"),
            "fp32_bytes": os.path.getsize(fp32_path)}


def quantization_sensitivity(fp32_path: str, int8_path: str, images: Sequence[str]) -> list:
    """Where an ONNX Runtime INT8 model loses its signal, per quantized activation tensor, worst first: the
    signal-to-quantization-noise ratio (dB, over ``images``) of the tensor's own quantize-dequantize pair
    (``local_db``: the error this tensor's scale adds) and of the INT8 model's dequantized value against the FP32
    model's (``accumulated_db``: everything upstream included). Measured with ONNX Runtime's own QDQ debugging
    tools (``onnxruntime.quantization.qdq_loss_debug``), which run the quantize-dequantize graph unfused: float
    arithmetic on quantized values, not the integer kernels a deployed session fuses it into (so it does not see
    their saturation; the deployed model's mAP does). Each row names the node that produces the tensor, which is
    what ``keep_float`` takes."""
    import onnx
    from onnxruntime.quantization.qdq_loss_debug import (
        collect_activations,
        compute_activation_error,
        create_activation_matching,
        modify_model_output_intermediate_tensors,
    )

    if not images:
        raise ConfigError("a sensitivity measurement needs images (training or validation, never test)")
    fp32 = onnx.load(fp32_path)
    size = exported_size({p.key: p.value for p in fp32.metadata_props}, fp32_path)
    producers = {output: node for node in fp32.graph.node for output in node.output}
    activations = {}
    with tempfile.TemporaryDirectory() as work:
        for name, path in (("float", fp32_path), ("int8", int8_path)):
            augmented = os.path.join(work, f"{name}.onnx")
            modify_model_output_intermediate_tensors(path, augmented)
            activations[name] = collect_activations(augmented, calibration_batches(images, size))
    errors = compute_activation_error(create_activation_matching(activations["int8"], activations["float"]))
    rows = []
    for tensor, error in errors.items():
        node = producers.get(tensor)
        if node is None:  # the graph input
            continue
        rows.append({"tensor": tensor, "node": node.name, "op": node.op_type,
                     "local_db": float(error["qdq_err"]), "accumulated_db": float(error.get("xmodel_err", "nan"))})
    return sorted(rows, key=lambda row: row["local_db"])


def training_images(exp, count: int, seed: int = 0, held_out: bool = False) -> list:
    """``count`` image paths drawn (seeded) from ``exp.train_sets``: calibration never sees val or test.
    ``held_out``: drawn from the other end of the same order, so that they are not the calibration images as
    long as the two counts together do not exceed the training set."""
    from .data.voc import scan_voc

    records = scan_voc(exp.data_dir, exp.train_sets, exp.class_names, decode_images=False).records
    order = np.random.default_rng(seed).permutation(len(records))
    return [records[i].image_path for i in (order[::-1] if held_out else order)[:count]]


def output_fidelity(fp32_path: str, int8_path: str, images: Sequence[str]) -> dict:
    """How closely an INT8 model's raw outputs follow the FP32 model's on ``images`` (label-free, so any number
    of training images can choose between quantization settings where a small labelled split cannot): SQNR in
    dB of the box, objectness and class columns, each session run as deployed (ONNX Runtime fuses the
    quantize-dequantize pairs into integer kernels)."""
    from onnxruntime.quantization.qdq_loss_debug import compute_signal_to_quantization_noice_ratio

    def outputs(path):
        session = onnx_session(path, 0)
        size = exported_size(session.get_modelmeta().custom_metadata_map, path)
        return np.concatenate([session.run(None, batch)[0] for batch in calibration_batches(images, size)])

    reference, quantized = outputs(fp32_path), outputs(int8_path)

    def sqnr(columns):
        return float(compute_signal_to_quantization_noice_ratio(reference[..., columns], quantized[..., columns]))

    return {"images": len(images), "boxes_db": sqnr(slice(0, 4)), "objectness_db": sqnr(slice(4, 5)),
            "classes_db": sqnr(slice(5, None))}

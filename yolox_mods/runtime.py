"""Exported models behind the PyTorch model's inference contract, so that the VOC evaluator and the demo run them
with the same pre- and post-processing as the model they came from: ONNX Runtime (``OnnxDetector``) and
OpenVINO (``OpenVINODetector``, on an ONNX file or an OpenVINO IR ``.xml``, FP32 or NNCF INT8)."""
import functools
from typing import Callable, Dict, Tuple

import numpy as np
import torch
import torch.nn as nn

from .common.errors import ConfigError, DataError
from .common.onnx import onnx_session
from .export import exported_size


class ExportedDetector(nn.Module):
    """(N, 3, H, W) float images -> (N, anchors, 5 + classes) with boxes decoded to pixels, as a YOLOX model in
    eval mode returns them. Runs a CPU runtime one image at a time (exports have batch 1); decodes in NumPy
    (YOLOX's ``demo_postprocess``) when the graph was exported without the decode. ``metadata`` holds what
    tools/export_onnx.py wrote (input size, whether the decode is in the graph) and tools/quantize_onnx.py added
    (INT8 settings)."""

    def __init__(self, path: str, run_one: Callable[[np.ndarray], np.ndarray], metadata: Dict[str, str]):
        super().__init__()
        self.size: Tuple[int, int] = exported_size(metadata, path)
        self.path = path
        self.run_one = run_one
        self.decoded = metadata.get("yolox_lite_decoded") == "1"
        # set by tools/quantize_onnx.py: how the model was quantized (None: FP32)
        self.int8 = metadata.get("yolox_lite_int8")
        # weights_digest of the exported weights (None in files exported before it was recorded)
        self.weights = metadata.get("yolox_lite_weights")
        # the evaluator reads the device and dtype from the parameters
        self.placeholder = nn.Parameter(torch.zeros(1), requires_grad=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if tuple(images.shape[-2:]) != self.size:
            raise ConfigError(f"{self.path} was exported for {self.size[0]}x{self.size[1]} input, got "
                              f"{images.shape[-2]}x{images.shape[-1]} (set --tsize or test_size to match)")
        from yolox.utils import demo_postprocess

        batch = images.detach().float().cpu().numpy()
        outputs = np.concatenate([self.run_one(image[None]) for image in batch])
        if not self.decoded:
            outputs = demo_postprocess(outputs, self.size)
        return torch.from_numpy(outputs).to(images.device)


class OnnxDetector(ExportedDetector):
    """An ONNX file (FP32, or INT8 QDQ from tools/quantize_onnx.py) in ONNX Runtime."""

    def __init__(self, path: str, threads: int = 0):
        try:
            session = onnx_session(path, threads)
        except Exception as error:  # ONNX Runtime raises its own exception types for unreadable files
            raise DataError(f"{path}: not an ONNX model ONNX Runtime can load ({str(error).splitlines()[0]})") from None
        super().__init__(path, lambda image: session.run(None, {"images": image})[0],
                         session.get_modelmeta().custom_metadata_map)


class OpenVINODetector(ExportedDetector):
    """An ONNX file or an OpenVINO IR (``.xml`` beside its ``.bin``; FP32, or INT8 from tools/quantize_onnx.py
    --runtime openvino) compiled for OpenVINO's CPU plugin. OpenVINO keeps an ONNX file's metadata under
    ``rt_info["framework"]``, through conversion and NNCF quantization."""

    def __init__(self, path: str, threads: int = 0, precision: str = "f32"):
        model = read_openvino_model(path)
        metadata = {key: model.get_rt_info(["framework", key]).astype(str)
                    for key in ("yolox_lite_input_size", "yolox_lite_decoded", "yolox_lite_int8",
                                "yolox_lite_weights")
                    if model.has_rt_info(["framework", key])}
        compiled = openvino_compile(model, threads, precision)
        self.precision = precision
        super().__init__(path, lambda image: compiled(image)[0], metadata)


@functools.lru_cache(maxsize=None)
def openvino_core():
    """The process's one OpenVINO ``Core``. A compiled model must not outlive the Core that compiled it: one
    created per call and dropped at once left compiled models whose later garbage collection crashed the process
    (a segfault in the test suite)."""
    import openvino

    return openvino.Core()


def read_openvino_model(path: str):
    """``read_model`` of the shared Core, with an unreadable file reported as one line naming it."""
    try:
        return openvino_core().read_model(path)
    except Exception as error:  # OpenVINO raises RuntimeError subclasses with multi-line messages
        raise DataError(f"{path}: not a model OpenVINO can read ({str(error).strip().splitlines()[0]})") from None


# OpenVINO's inference precisions for float layers: f32 forced, or bf16 (the CPU plugin's default where the CPU has
# AVX512_BF16 or AMX)
OPENVINO_PRECISIONS = ("f32", "bf16")


def cpu_has_bf16() -> bool:
    from .common.provenance import Machine

    return bool({"avx512_bf16", "amx_bf16"} & set(Machine.current().flags))


def openvino_compile(model, threads: int = 0, precision: str = "f32", streams: int = 0):
    """``model`` compiled for the CPU plugin for latency (batch 1), on ``threads`` threads and ``streams`` streams
    (0: OpenVINO's defaults), its float layers computed in ``precision``. f32 is forced by default: on CPUs with
    AVX512_BF16 or AMX the plugin otherwise runs float layers in bfloat16, which changes the scores
    (docs/results.md), and an FP32 column would not be FP32; bf16 is what a user of such a CPU gets by default, and
    is refused on a CPU without it (the plugin would silently run f32)."""
    if precision not in OPENVINO_PRECISIONS:
        raise ConfigError(f"OpenVINO precision {precision!r}; one of {', '.join(OPENVINO_PRECISIONS)}")
    if precision == "bf16" and not cpu_has_bf16():
        raise ConfigError("OpenVINO bf16 needs a CPU with avx512_bf16 or amx_bf16; this one has neither")
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    if streams:
        config["NUM_STREAMS"] = streams
    return openvino_core().compile_model(model, "CPU", config)


# the flag (and JSON key) naming an exported model -> (its detector, the runtime's name for messages)
EXPORTED_RUNTIMES = {"onnx": (OnnxDetector, "ONNX Runtime"), "openvino": (OpenVINODetector, "OpenVINO")}

"""ONNX export of any yolox-lite exp (MixConv, Ghost and Dark2-PAFPN included)."""
import copy
import io
from typing import Tuple

import torch
import torch.nn as nn

from .blocks import MixConv, merge_mixconvs
from .common.errors import DataError
from .common.io import atomic_open
from .weights import weights_digest


def export_onnx(model: nn.Module, path: str, size: Tuple[int, int], opset: int = 13, decode: bool = False,
                merge_mixconv: bool = True) -> None:
    """Write ``model`` (eval mode, batch 1, ``size`` = (h, w)) to ``path`` atomically.

    Outputs are YOLOX's raw head outputs (N, anchors, 5 + classes) unless ``decode`` (boxes in pixels), as in
    YOLOX's ``export_onnx --decode_in_inference``. ``merge_mixconv`` exports each MixConv as one depthwise conv
    (``merged_depthwise``; same outputs, faster in ONNX Runtime) on a copy of ``model``. The metadata records the
    input size, the decode and ``weights_digest(model)``.
    """
    model = model.eval()
    weights = weights_digest(model)
    model.head.decode_in_inference = decode  # set on the caller's model too, so its outputs compare with ONNX's
    if merge_mixconv and any(isinstance(m, MixConv) for m in model.modules()):
        model = copy.deepcopy(model)
        merge_mixconvs(model)
    buffer = io.BytesIO()
    # the TorchScript exporter needs no onnxscript and handles every block here
    torch.onnx.export(model, (torch.zeros(1, 3, *size),), buffer, input_names=["images"], output_names=["output"],
                      opset_version=opset, dynamo=False)
    import onnx

    graph = onnx.load_from_string(buffer.getvalue())
    # what a runtime needs to use the file as the PyTorch model is used (yolox_mods.runtime.OnnxDetector)
    for key, value in (("yolox_lite_decoded", str(int(decode))), ("yolox_lite_input_size", f"{size[0]},{size[1]}"),
                       ("yolox_lite_weights", weights)):
        graph.metadata_props.add(key=key, value=value)
    with atomic_open(path, "wb") as file:
        file.write(graph.SerializeToString())


def exported_size(metadata: dict, path: str) -> Tuple[int, int]:
    """The (h, w) input size ``export_onnx`` recorded in a model's ``metadata``; a file without it is a
    ``DataError`` naming it."""
    if "yolox_lite_input_size" not in metadata:
        raise DataError(f"{path}: not exported by tools/export_onnx.py (no yolox_lite metadata)")
    return tuple(int(v) for v in metadata["yolox_lite_input_size"].split(","))

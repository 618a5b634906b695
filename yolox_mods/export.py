"""ONNX export of any yolox-lite exp (MixConv, Ghost and Dark2-PAFPN included)."""
import io
from typing import Tuple

import torch
import torch.nn as nn

from .core import atomic_open


def export_onnx(model: nn.Module, path: str, size: Tuple[int, int], opset: int = 13, decode: bool = False) -> None:
    """Write ``model`` (eval mode, batch 1, ``size`` = (h, w)) to ``path`` atomically.

    Outputs are YOLOX's raw head outputs (N, anchors, 5 + classes) unless ``decode`` (boxes in pixels), as in
    YOLOX's ``export_onnx --decode_in_inference``.
    """
    model = model.eval()
    model.head.decode_in_inference = decode
    buffer = io.BytesIO()
    # the TorchScript exporter needs no onnxscript and handles every block here
    torch.onnx.export(model, (torch.zeros(1, 3, *size),), buffer, input_names=["images"], output_names=["output"],
                      opset_version=opset, dynamo=False)
    with atomic_open(path, "wb") as file:
        file.write(buffer.getvalue())


def onnx_session(path: str, threads: int = 0):
    """An ONNX Runtime CPU session (``threads`` 0: its default)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])

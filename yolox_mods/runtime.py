"""An exported ONNX model behind the PyTorch model's inference contract, so that the VOC evaluator and the demo
run it with the same pre- and post-processing as the model it came from."""
from typing import Tuple

import numpy as np
import torch
import torch.nn as nn

from .common.errors import ConfigError, DataError
from .export import onnx_session


class OnnxDetector(nn.Module):
    """(N, 3, H, W) float images -> (N, anchors, 5 + classes) with boxes decoded to pixels, as a YOLOX model in
    eval mode returns them. Runs ONNX Runtime on CPU one image at a time (exports have batch 1); decodes in NumPy
    (YOLOX's ``demo_postprocess``) when the graph was exported without the decode."""

    def __init__(self, path: str, threads: int = 0):
        super().__init__()
        try:
            self.session = onnx_session(path, threads)
        except Exception as error:  # ONNX Runtime raises its own exception types for unreadable files
            raise DataError(f"{path}: not an ONNX model ONNX Runtime can load ({str(error).splitlines()[0]})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if "yolox_lite_input_size" not in meta:
            raise DataError(f"{path}: not exported by tools/export_onnx.py (no yolox_lite metadata)")
        self.path = path
        self.decoded = meta["yolox_lite_decoded"] == "1"
        self.size: Tuple[int, int] = tuple(int(v) for v in meta["yolox_lite_input_size"].split(","))
        # the evaluator reads the device and dtype from the parameters
        self.placeholder = nn.Parameter(torch.zeros(1), requires_grad=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if tuple(images.shape[-2:]) != self.size:
            raise ConfigError(f"{self.path} was exported for {self.size[0]}x{self.size[1]} input, got "
                              f"{images.shape[-2]}x{images.shape[-1]} (set --tsize or test_size to match)")
        from yolox.utils import demo_postprocess

        batch = images.detach().float().cpu().numpy()
        outputs = np.concatenate([self.session.run(None, {"images": image[None]})[0] for image in batch])
        if not self.decoded:
            outputs = demo_postprocess(outputs, self.size)
        return torch.from_numpy(outputs).to(images.device)

"""Detections on photos and videos: YOLOX's preprocessing and NMS around a PyTorch model or an exported one."""
import os
import time
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np
import torch

from .common.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@dataclass
class Detection:
    """A box in the original image's pixels (x1, y1, x2, y2), its score (objectness x class) and class."""
    box: Tuple[float, float, float, float]
    score: float
    label: int
    name: str


class Predictor:
    """``predictor(image)`` for a BGR uint8 image: (detections above ``conf`` after NMS, milliseconds). ``model`` is
    a YOLOX model in eval mode or an ``OnnxDetector``; preprocessing is the evaluator's (letterbox to
    ``test_size``, no normalisation), so a demo shows what the evaluation scored."""

    def __init__(self, model, class_names: Sequence[str], test_size: Tuple[int, int], conf: float = 0.25,
                 nms: float = 0.45, device="cpu"):
        self.model = model.eval()
        self.class_names, self.test_size, self.conf, self.nms, self.device = (list(class_names), tuple(test_size),
                                                                              conf, nms, device)

    def __call__(self, image: np.ndarray) -> Tuple[List[Detection], float]:
        from yolox.data.data_augment import preproc
        from yolox.utils import postprocess

        start = time.perf_counter()
        array, ratio = preproc(image, self.test_size)
        with torch.no_grad():
            outputs = self.model(torch.from_numpy(array)[None].to(self.device))
            kept = postprocess(outputs, len(self.class_names), self.conf, self.nms, class_agnostic=True)[0]
        milliseconds = 1000 * (time.perf_counter() - start)
        if kept is None:
            return [], milliseconds
        kept = kept.cpu().numpy()
        detections = [Detection(tuple(float(v) for v in row[:4] / ratio), float(row[4] * row[5]), int(row[6]),
                                self.class_names[int(row[6])]) for row in kept]
        return sorted(detections, key=lambda d: -d.score), milliseconds


def draw(image: np.ndarray, detections: Sequence[Detection], class_names: Sequence[str]) -> np.ndarray:
    """A copy of ``image`` with YOLOX's boxes, class names and scores drawn."""
    from yolox.utils import vis

    if not detections:
        return image.copy()
    boxes = np.array([d.box for d in detections], np.float32)
    scores = np.array([d.score for d in detections], np.float32)
    labels = np.array([d.label for d in detections], np.float32)
    return vis(image.copy(), boxes, scores, labels, conf=0.0, class_names=list(class_names))


def image_paths(path: str) -> List[str]:
    """``path`` itself, or the images in the folder ``path`` (sorted); a missing path or a folder without images
    is a ``DataError`` naming it."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise DataError(f"{path}: no such file or folder")
    found = sorted(os.path.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMAGE_EXTENSIONS))
    if not found:
        raise DataError(f"{path}: no images ({', '.join(IMAGE_EXTENSIONS)}) in this folder")
    return found


def summary_line(path: str, detections: Sequence[Detection], milliseconds: float, shown: int = 5) -> str:
    described = ", ".join(f"{d.name} {d.score:.2f}" for d in detections[:shown])
    more = f" and {len(detections) - shown} more" if len(detections) > shown else ""
    noun = "detection" if len(detections) == 1 else "detections"
    return f"{path}: {len(detections)} {noun} ({described}{more}) in {milliseconds:.1f} ms"

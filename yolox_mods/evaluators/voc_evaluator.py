"""YOLOX's VOCEvaluator made device-agnostic and scored in memory (see ``voc_map``)."""
import time
from collections import ChainMap
from typing import NamedTuple, Optional

import numpy as np
import torch
from tabulate import tabulate
from tqdm import tqdm
from yolox.evaluators import VOCEvaluator as YOLOXVOCEvaluator
from yolox.utils import gather, is_main_process, postprocess, synchronize

from .voc_map import VOCResult, evaluate_voc


class Evaluation(NamedTuple):
    """One scoring of a model on a split. ``result`` is None off the main process of a distributed run."""
    result: Optional[VOCResult]
    summary: Optional[str]
    forward_ms: float  # per image, forward pass (and decoder) only


class VOCEvaluator(YOLOXVOCEvaluator):
    """Runs on whatever device the model is on (CPU or CUDA, fp16 on CUDA) and under DDP (any backend).

    ``score`` returns an ``Evaluation`` with the full ``VOCResult`` (per-class AP, judged detections);
    ``evaluate`` keeps YOLOX's contract, (mAP50:95, mAP50, summary), for YOLOX's own callers.
    """

    def evaluate(self, model, distributed=False, half=False, trt_file=None, decoder=None, test_size=None):
        if trt_file is not None:
            raise NotImplementedError("TensorRT evaluation is not supported by yolox-lite")
        evaluation = self.score(model, distributed, half, decoder)
        if evaluation.result is None:
            return 0.0, 0.0, None
        return evaluation.result.map50_95, evaluation.result.map50, evaluation.summary

    def score(self, model, distributed: bool = False, half: bool = False, decoder=None) -> Evaluation:
        """Score ``model`` (a PyTorch model, or anything callable on an image batch with ``parameters()``, such as
        ``runtime.OnnxDetector``) on this evaluator's split."""
        device = next(model.parameters()).device
        dtype = torch.float16 if half else torch.float32
        model = model.eval().to(dtype)
        predictions = {}
        forward_time = 0.0
        batches = tqdm(self.dataloader, desc="eval", leave=False) if is_main_process() else self.dataloader
        for images, _, info, ids in batches:
            with torch.no_grad():
                start = time.perf_counter()
                outputs = model(images.to(device=device, dtype=dtype))
                if decoder is not None:
                    outputs = decoder(outputs, dtype=outputs.type())
                forward_time += time.perf_counter() - start
                outputs = postprocess(outputs.float(), self.num_classes, self.confthre, self.nmsthre)
            predictions.update(self.convert_to_voc_format(outputs, info, ids))
        if distributed:
            predictions = dict(ChainMap(*gather(predictions, dst=0)))
        result = None
        if is_main_process():
            result = evaluate_voc(self.dataloader.dataset.records, self._as_detections(predictions),
                                  self.dataloader.dataset._classes)
        synchronize()
        per_image_ms = 1000 * forward_time / max(len(predictions), 1)
        return Evaluation(result, None if result is None else format_result(result, per_image_ms), per_image_ms)

    @staticmethod
    def _as_detections(predictions):
        detections = {}
        for index, (boxes, labels, scores) in predictions.items():
            if boxes is None:
                detections[index] = (np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))
            else:
                detections[index] = (boxes.numpy(), scores.numpy(), labels.numpy().astype(np.int64))
        return detections


def format_result(result: VOCResult, forward_ms: float = None) -> str:
    """Per-class AP50 table and the two means, as printed after every evaluation."""
    rows = [(name, f"{100 * ap:.2f}") for name, ap in result.per_class_ap50.items()]
    table = tabulate(rows, headers=["class", "AP50"], tablefmt="github")
    lines = [table, f"mAP50: {100 * result.map50:.2f}  mAP50:95: {100 * result.map50_95:.2f}  "
                    f"(mean over the {len(rows)} classes present in the ground truth)"]
    if forward_ms is not None:
        lines.append(f"forward: {forward_ms:.1f} ms/image")
    return "\n".join(lines)

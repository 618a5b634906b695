"""YOLOX's VOCEvaluator made device-agnostic and scored in memory (see ``voc_map``)."""
import time
from collections import ChainMap

import numpy as np
import torch
from tabulate import tabulate
from tqdm import tqdm
from yolox.evaluators import VOCEvaluator as YOLOXVOCEvaluator
from yolox.utils import gather, is_main_process, postprocess, synchronize

from .voc_map import VOCResult, evaluate_voc


class VOCEvaluator(YOLOXVOCEvaluator):
    """Runs on whatever device the model is on (CPU or CUDA, fp16 on CUDA) and under DDP (any backend).

    ``evaluate`` keeps YOLOX's contract, returning (mAP50:95, mAP50, summary); the full ``VOCResult``
    (with per-class AP) of the last call is in ``self.result`` on the main process.
    """

    def evaluate(self, model, distributed=False, half=False, trt_file=None, decoder=None, test_size=None):
        if trt_file is not None:
            raise NotImplementedError("TensorRT evaluation is not supported by yolox-lite")
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
            self.result = result
        synchronize()
        if result is None:
            return 0.0, 0.0, None
        per_image_ms = 1000 * forward_time / max(len(predictions), 1)
        return result.map50_95, result.map50, format_result(result, per_image_ms)

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

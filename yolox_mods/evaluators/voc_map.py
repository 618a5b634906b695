"""VOC mAP computed in memory: per-class AP, averaged over the classes that occur in the ground truth."""
from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

from ..data.voc import VOCRecord

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)

# (boxes (n, 4) in original-image pixels, scores (n,), labels (n,)) per dataset index
Detections = Tuple[np.ndarray, np.ndarray, np.ndarray]


def voc07_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """VOC2007 11-point interpolated AP."""
    points = [precision[recall >= t].max() if np.any(recall >= t) else 0.0 for t in np.arange(0.0, 1.1, 0.1)]
    return float(np.mean(points))


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    # VOC's inclusive-pixel convention (+1), as in the official devkit
    ix1, iy1 = np.maximum(boxes[:, 0], box[0]), np.maximum(boxes[:, 1], box[1])
    ix2, iy2 = np.minimum(boxes[:, 2], box[2]), np.minimum(boxes[:, 3], box[3])
    inter = np.maximum(ix2 - ix1 + 1.0, 0.0) * np.maximum(iy2 - iy1 + 1.0, 0.0)
    area = (box[2] - box[0] + 1.0) * (box[3] - box[1] + 1.0)
    areas = (boxes[:, 2] - boxes[:, 0] + 1.0) * (boxes[:, 3] - boxes[:, 1] + 1.0)
    return inter / (area + areas - inter)


def class_ap(records: Sequence[VOCRecord], detections: Mapping[int, Detections], label: int,
             iou_threshold: float) -> float:
    """AP of one class; difficult ground truth neither rewards nor penalises a detection."""
    positives = sum(int(np.sum((r.labels == label) & ~r.difficult)) for r in records)
    found = {i: np.zeros(int(np.sum(r.labels == label)), bool) for i, r in enumerate(records)}
    candidates = []
    for index, (boxes, scores, labels) in detections.items():
        for box, score in zip(boxes[labels == label], scores[labels == label]):
            candidates.append((float(score), index, box))
    candidates.sort(key=lambda c: -c[0])
    true_pos, false_pos = np.zeros(len(candidates)), np.zeros(len(candidates))
    for k, (_, index, box) in enumerate(candidates):
        record = records[index]
        mask = record.labels == label
        gt_boxes, gt_difficult = record.boxes[mask], record.difficult[mask]
        if len(gt_boxes) == 0:
            false_pos[k] = 1
            continue
        overlaps = _iou(box, gt_boxes)
        best = int(np.argmax(overlaps))
        if overlaps[best] <= iou_threshold:
            false_pos[k] = 1
        elif gt_difficult[best]:
            continue
        elif found[index][best]:
            false_pos[k] = 1
        else:
            found[index][best] = True
            true_pos[k] = 1
    true_pos, false_pos = np.cumsum(true_pos), np.cumsum(false_pos)
    recall = true_pos / max(positives, 1)
    precision = true_pos / np.maximum(true_pos + false_pos, np.finfo(np.float64).eps)
    return voc07_ap(recall, precision)


@dataclass
class VOCResult:
    """mAP50, mAP50:95 and per-class AP50 (classes present in the ground truth only), all in [0, 1]."""
    map50: float
    map50_95: float
    per_class_ap50: Dict[str, float]


def evaluate_voc(records: Sequence[VOCRecord], detections: Mapping[int, Detections],
                 class_names: Sequence[str]) -> VOCResult:
    """Score detections against records. Classes with no non-difficult ground truth are left out of the mean,
    so a small test set is not penalised for classes it does not contain."""
    present = sorted({int(label) for r in records for label in r.labels[~r.difficult]})
    if not present:
        raise ValueError("no ground-truth objects to evaluate against")
    per_iou: List[Dict[int, float]] = [
        {label: class_ap(records, detections, label, float(t)) for label in present} for t in IOU_THRESHOLDS
    ]
    ap50 = per_iou[0]
    return VOCResult(
        map50=float(np.mean(list(ap50.values()))),
        map50_95=float(np.mean([np.mean(list(aps.values())) for aps in per_iou])),
        per_class_ap50={class_names[label]: ap for label, ap in ap50.items()},
    )

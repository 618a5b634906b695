"""VOC mAP computed in memory: per-class AP, averaged over the classes that occur in the ground truth."""
from dataclasses import dataclass, field
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


@dataclass
class ClassMatches:
    """Every detection of one class judged once against the ground truth at one IoU threshold, in descending
    score order: its image's index, its score and its outcome (1 true positive, 0 false positive, -1 matched a
    difficult object and so neither). ``positives`` counts non-difficult objects per image. AP follows from these
    alone, also for a resample of the images (``bootstrap``)."""
    image: np.ndarray
    score: np.ndarray
    outcome: np.ndarray
    positives: np.ndarray


def match_class(records: Sequence[VOCRecord], detections: Mapping[int, Detections], label: int,
                iou_threshold: float) -> ClassMatches:
    """Greedy VOC matching of one class: detections in descending score order, each to its best-overlapping
    object, an object claimed once; difficult objects neither reward nor penalise a detection."""
    positives = np.array([int(np.sum((r.labels == label) & ~r.difficult)) for r in records], np.int64)
    found = {i: np.zeros(int(np.sum(r.labels == label)), bool) for i, r in enumerate(records)}
    candidates = []
    for index, (boxes, scores, labels) in detections.items():
        for box, score in zip(boxes[labels == label], scores[labels == label]):
            candidates.append((float(score), index, box))
    candidates.sort(key=lambda c: -c[0])
    outcome = np.zeros(len(candidates), np.int8)
    for k, (_, index, box) in enumerate(candidates):
        record = records[index]
        mask = record.labels == label
        gt_boxes, gt_difficult = record.boxes[mask], record.difficult[mask]
        if len(gt_boxes) == 0:
            continue
        overlaps = _iou(box, gt_boxes)
        best = int(np.argmax(overlaps))
        if overlaps[best] <= iou_threshold:
            continue
        if gt_difficult[best]:
            outcome[k] = -1
        elif not found[index][best]:
            found[index][best] = True
            outcome[k] = 1
    return ClassMatches(image=np.array([c[1] for c in candidates], np.int64),
                        score=np.array([c[0] for c in candidates], np.float64), outcome=outcome,
                        positives=positives)


def matches_ap(matches: ClassMatches) -> float:
    """VOC07 AP of one class from its judged detections."""
    true_pos = np.cumsum(matches.outcome == 1)
    false_pos = np.cumsum(matches.outcome == 0)
    recall = true_pos / max(int(matches.positives.sum()), 1)
    precision = true_pos / np.maximum(true_pos + false_pos, np.finfo(np.float64).eps)
    return voc07_ap(recall, precision)


def class_ap(records: Sequence[VOCRecord], detections: Mapping[int, Detections], label: int,
             iou_threshold: float) -> float:
    """AP of one class; difficult ground truth neither rewards nor penalises a detection."""
    return matches_ap(match_class(records, detections, label, iou_threshold))


@dataclass
class VOCResult:
    """mAP50, mAP50:95 and per-class AP50 (classes present in the ground truth only), all in [0, 1], with the
    judged detections at IoU 0.5 per class name and the image ids they index, for paired bootstrap comparisons."""
    map50: float
    map50_95: float
    per_class_ap50: Dict[str, float]
    matches50: Dict[str, ClassMatches] = field(default_factory=dict)
    image_ids: List[str] = field(default_factory=list)


def evaluate_voc(records: Sequence[VOCRecord], detections: Mapping[int, Detections],
                 class_names: Sequence[str]) -> VOCResult:
    """Score detections against records. Classes with no non-difficult ground truth are left out of the mean,
    so a small test set is not penalised for classes it does not contain."""
    present = sorted({int(label) for r in records for label in r.labels[~r.difficult]})
    if not present:
        raise ValueError("no ground-truth objects to evaluate against")
    matches = [{label: match_class(records, detections, label, float(t)) for label in present}
               for t in IOU_THRESHOLDS]
    per_iou = [{label: matches_ap(m) for label, m in at_threshold.items()} for at_threshold in matches]
    ap50 = per_iou[0]
    return VOCResult(
        map50=float(np.mean(list(ap50.values()))),
        map50_95=float(np.mean([np.mean(list(aps.values())) for aps in per_iou])),
        per_class_ap50={class_names[label]: ap for label, ap in ap50.items()},
        matches50={class_names[label]: m for label, m in matches[0].items()},
        image_ids=[r.image_id for r in records],
    )

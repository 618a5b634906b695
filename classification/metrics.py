"""MACs (thop), macro F1 and the compression score."""
import copy
from typing import Optional, Sequence

import numpy as np
import torch
from thop import profile


def count_macs(model: torch.nn.Module, input_size: int) -> int:
    """thop MACs at batch 1 and ``input_size`` x ``input_size``: convolutions, linear layers and BatchNorm
    (2 per element) counted as thop does; ReLU, pooling in the forward code and channel shuffle count 0.
    Profiles a copy, since thop leaves counters on the modules it profiles."""
    macs, _ = profile(copy.deepcopy(model).eval(), inputs=(torch.zeros(1, 3, input_size, input_size),),
                      verbose=False)
    return int(macs)


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def macro_f1(labels: Sequence[int], predictions: Sequence[int], num_classes: int) -> float:
    """Unweighted mean of per-class F1 over all ``num_classes`` (a class never predicted nor present scores 0)."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    scores = []
    for c in range(num_classes):
        tp = np.sum((predictions == c) & (labels == c))
        fp = np.sum((predictions == c) & (labels != c))
        fn = np.sum((predictions != c) & (labels == c))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def confusion_matrix(labels: Sequence[int], predictions: Sequence[int], num_classes: int) -> np.ndarray:
    """(true class, predicted class) counts."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def per_class_scores(matrix: np.ndarray) -> dict:
    """Precision, recall and F1 per class from a confusion matrix (0 where undefined)."""
    true_pos = np.diag(matrix).astype(np.float64)
    predicted, actual = matrix.sum(0), matrix.sum(1)
    precision = np.divide(true_pos, predicted, out=np.zeros_like(true_pos), where=predicted > 0)
    recall = np.divide(true_pos, actual, out=np.zeros_like(true_pos), where=actual > 0)
    f1 = np.divide(2 * true_pos, predicted + actual, out=np.zeros_like(true_pos), where=(predicted + actual) > 0)
    return {"precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist()}


def compression_score(macs: int, f1: float, base_macs: int, ref_f1: Optional[float]) -> float:
    """Lower is better: MACs / base_MACs + (1 - F1/ref_F1), halved when F1 beats the reference."""
    ratio = 1 - f1 / ref_f1 if ref_f1 else 0.0
    return macs / base_macs + (ratio if f1 < (ref_f1 or 0) else 0.5 * ratio)

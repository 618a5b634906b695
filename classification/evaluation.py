"""Scoring one checkpoint written by the compression pipeline: MACs, macro F1, accuracy, the compression score
against a reference stage, a per-class report, a confusion matrix and CPU latency."""
import json
import os
from typing import Optional

import numpy as np
import torch

from yolox_mods.common import ConfigError, DataError
from yolox_mods.common.timing import measure_latency

from .data import load_split
from .metrics import compression_score, confusion_matrix, count_macs, count_params, macro_f1, per_class_scores
from .models import ShuffleNetV1, load_model
from .train import predict


def evaluate_checkpoint(ckpt: str, data: str, split: str = "test", reference: Optional[str] = None,
                        base_macs: Optional[int] = None, ref_f1: Optional[float] = None,
                        latency_runs: int = 50) -> dict:
    """The report of ``ckpt`` on ``data/split``: its scores, per-class precision/recall/F1, confusion matrix and
    (``latency_runs`` > 0) batch-1 latency; the score is relative to ``reference``'s MACs and F1 in the run's
    results.json (``reference_of``) unless ``base_macs`` / ``ref_f1`` are given."""
    model, size, classes = load_model(ckpt)
    images = load_split(os.path.join(data, split), classes)
    predictions = predict(model, images, size)
    matrix = confusion_matrix(images.labels, predictions, len(classes))
    scores = per_class_scores(matrix)
    f1 = macro_f1(images.labels, predictions, len(classes))
    macs = count_macs(model, size)
    stage, stage_macs, stage_f1 = reference_of(ckpt, reference, split)
    base_macs = base_macs or stage_macs or count_macs(ShuffleNetV1(len(classes)), size)
    ref_f1 = ref_f1 if ref_f1 is not None else stage_f1
    return {"ckpt": ckpt, "split": split, "images": len(images.labels), "input_size": size, "macs": macs,
            "params": count_params(model), "macro_f1": f1,
            "accuracy": float(np.mean(np.asarray(images.labels) == predictions)),
            "score": compression_score(macs, f1, base_macs, ref_f1), "reference": stage, "base_macs": base_macs,
            "ref_f1": ref_f1, "per_class": {name: {key: scores[key][i] for key in scores} | {
                "support": int(matrix[i].sum())} for i, name in enumerate(classes)},
            "confusion": matrix.tolist(), "classes": list(classes),
            "latency_ms": latency_ms(model, size, latency_runs) if latency_runs else None}


def reference_of(ckpt: str, stage: str = None, split: str = "test"):
    """(stage, MACs, F1 on ``split``) of the reference row in the results.json beside ``ckpt``; (None, None, None)
    if absent."""
    path = os.path.join(os.path.dirname(os.path.abspath(ckpt)), "results.json")
    if not os.path.exists(path):
        if stage:
            raise DataError(f"{path}: not found, so --reference {stage} cannot be read")
        return None, None, None
    with open(path) as file:
        rows = {row["stage"]: row for row in json.load(file)}
    name = stage or ("baseline_same_budget" if "baseline_same_budget" in rows else "baseline")
    if name not in rows:
        if stage:
            raise ConfigError(f"{path}: no stage {stage!r} (stages: {', '.join(rows)})")
        return None, None, None
    # a run on data without a test split has val F1 only: no reference F1 for test then (--ref-f1 gives one)
    f1 = rows[name].get("test_f1") if split == "test" else rows[name]["f1"] if split == "val" else None
    return name, rows[name]["macs"], f1


def latency_ms(model: torch.nn.Module, size: int, runs: int) -> float:
    """Milliseconds of a batch-1 forward pass on this CPU: the harness's median over 7 rounds of warm blocks of
    ``runs`` / 7 calls (``measure_latency``)."""
    image = torch.randn(1, 3, size, size)
    with torch.no_grad():
        return measure_latency({"model": lambda: model(image)}, calls_per_block=max(1, runs // 7)).ms("model")


def plot_confusion(matrix: np.ndarray, classes, path: str, title: str) -> None:
    from yolox_mods.common.plotting import plt, save_figure

    figure, axis = plt.subplots(figsize=(1.1 * len(classes) + 2, 1.0 * len(classes) + 1.5))
    axis.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        axis.text(column, row, str(count), ha="center", va="center",
                  color="white" if count > matrix.max() / 2 else "black", fontsize=8)
    axis.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    axis.set_yticks(range(len(classes)), classes)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title, fontsize=9)
    save_figure(figure, path)

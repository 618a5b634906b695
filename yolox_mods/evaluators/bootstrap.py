"""Paired bootstrap of a mAP50 difference: resample the test images, score both models on the same resample.

A detection's VOC outcome depends only on its own image, so an evaluation's judged detections
(``VOCResult.matches50``) give the AP of any resample by weighting each image by how often it was drawn; no
model is run again. Evaluations are saved next to ``tools/eval.py --json`` files as ``.matches.npz``.
"""
import io
import os
from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np

from ..common.errors import DataError
from ..common.io import atomic_write_bytes
from .voc_map import ClassMatches

RECALL_POINTS = np.arange(0.0, 1.1, 0.1)


@dataclass
class MatchedEvaluation:
    """The judged IoU-0.5 detections of one evaluation, per class name, over ``image_ids`` (in this order)."""
    image_ids: List[str]
    matches50: Dict[str, ClassMatches]


@dataclass
class Interval:
    """Candidate minus reference mAP50 (in [0, 1] units) on the full test set, and its bootstrap interval."""
    difference: float
    low: float
    high: float
    draws: int
    level: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def matches_path(json_path: str) -> str:
    return os.path.splitext(json_path)[0] + ".matches.npz"


def save_matches(path: str, evaluation: MatchedEvaluation) -> None:
    arrays = {"image_ids": np.array(evaluation.image_ids)}
    for name, m in evaluation.matches50.items():
        arrays.update({f"{name}/image": m.image, f"{name}/score": m.score.astype(np.float32),
                       f"{name}/outcome": m.outcome, f"{name}/positives": m.positives})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def load_matches(path: str) -> MatchedEvaluation:
    try:
        with np.load(path) as data:
            names = sorted({key.split("/")[0] for key in data.files if "/" in key})
            return MatchedEvaluation(
                image_ids=[str(i) for i in data["image_ids"]],
                matches50={name: ClassMatches(image=data[f"{name}/image"], score=data[f"{name}/score"],
                                              outcome=data[f"{name}/outcome"], positives=data[f"{name}/positives"])
                           for name in names})
    except (OSError, KeyError, ValueError) as error:
        raise DataError(f"{path}: not a matches file written by tools/eval.py --json ({error})") from None


def resampled_ap(matches: ClassMatches, weights: np.ndarray) -> np.ndarray:
    """VOC07 AP of one class for each row of ``weights`` (draws, images): how often each image was drawn.
    NaN where a resample holds no object of the class (left out of the mean, as in ``evaluate_voc``)."""
    positives = weights @ matches.positives
    if len(matches.outcome) == 0:
        ap = np.zeros(len(weights))
    else:
        drawn = weights[:, matches.image].astype(np.float64)
        true_pos = np.cumsum(drawn * (matches.outcome == 1), axis=1)
        false_pos = np.cumsum(drawn * (matches.outcome == 0), axis=1)
        recall = true_pos / np.maximum(positives, 1)[:, None]
        precision = true_pos / np.maximum(true_pos + false_pos, np.finfo(np.float64).eps)
        ap = np.mean([np.where(recall >= t, precision, 0.0).max(axis=1) for t in RECALL_POINTS], axis=0)
    return np.where(positives > 0, ap, np.nan)


def resampled_map50(evaluation: MatchedEvaluation, weights: np.ndarray) -> np.ndarray:
    per_class = np.stack([resampled_ap(m, weights) for m in evaluation.matches50.values()])
    return np.nanmean(per_class, axis=0)


def _aligned(runs: Sequence[MatchedEvaluation], image_ids: List[str]) -> None:
    for run in runs:
        if run.image_ids != image_ids:
            raise DataError("bootstrap needs every evaluation on the same test images in the same order")


def paired_bootstrap(candidate: Sequence[MatchedEvaluation], reference: Sequence[MatchedEvaluation],
                     draws: int = 1000, level: float = 0.95, seed: int = 0, chunk: int = 50) -> Interval:
    """Interval of mean-over-runs mAP50 of ``candidate`` minus that of ``reference`` (e.g. several seeds each),
    every run scored on the same resample of images in each draw."""
    image_ids = candidate[0].image_ids
    _aligned([*candidate, *reference], image_ids)
    count = len(image_ids)
    full = np.ones((1, count), np.int64)
    difference = float(np.mean([resampled_map50(run, full)[0] for run in candidate])
                       - np.mean([resampled_map50(run, full)[0] for run in reference]))
    rng = np.random.default_rng(seed)
    deltas = []
    for start in range(0, draws, chunk):
        rows = min(chunk, draws - start)
        weights = np.stack([np.bincount(rng.integers(0, count, count), minlength=count) for _ in range(rows)])
        ours = np.mean([resampled_map50(run, weights) for run in candidate], axis=0)
        theirs = np.mean([resampled_map50(run, weights) for run in reference], axis=0)
        deltas.append(ours - theirs)
    deltas = np.concatenate(deltas)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(deltas, [tail, 100 - tail])
    return Interval(difference, float(low), float(high), draws, level)

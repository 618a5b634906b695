"""Seeding, mean and spread over seeds, and the rule both halves compare by: a difference no larger than the seed
spread of either side is reported as no difference."""
import random
import statistics
from typing import Optional, Sequence, Tuple

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Python, NumPy and torch generators: YOLOX's augmentations and the classifier's draw from all three."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def seed_worker(base_seed: int, worker_id: int) -> None:
    """Loader worker seeding that repeats across runs (YOLOX's ``worker_init_reset_seed`` draws from uuid4)."""
    seed_everything(base_seed + worker_id)


def seed_stats(values: Sequence[float]) -> dict:
    """``mean``, sample ``std`` (None for one run) and ``spread`` (max - min) of one variant's runs."""
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else None,
            "spread": max(values) - min(values), "runs": len(values)}


def versus(candidate: Sequence[float], reference: Sequence[float], digits: int = 4, scale: float = 1.0,
           interval: Optional[Tuple[float, float]] = None) -> str:
    """``candidate``'s mean minus ``reference``'s with a verdict: "+0.0123 (beyond seed spread)", "... (within seed
    spread: no difference)", or "... (one run: spread not measured)". With ``interval`` (a bootstrap interval of
    the same difference on the same test images) a difference is called only when the seed spread and the
    interval both say so: "+0.0123, 95% CI [+0.0050, +0.0190] (difference: beyond seed spread, CI excludes 0)".
    ``scale`` multiplies the printed numbers."""
    ours, theirs = seed_stats(candidate), seed_stats(reference)
    difference = ours["mean"] - theirs["mean"]
    if min(ours["runs"], theirs["runs"]) < 2:
        spread = "one run: spread not measured"
    elif abs(difference) <= max(ours["spread"], theirs["spread"]):
        spread = "within seed spread"
    else:
        spread = "beyond seed spread"
    text = f"{scale * difference:+.{digits}f}"
    if interval is None:
        verdict = spread + (": no difference" if spread == "within seed spread" else "")
        return f"{text} ({verdict})"
    low, high = interval
    excludes = low > 0 or high < 0
    called = excludes and spread == "beyond seed spread"
    ci = "CI excludes 0" if excludes else "CI includes 0"
    label = "difference" if called else "no difference shown"
    return f"{text}, 95% CI [{scale * low:+.{digits}f}, {scale * high:+.{digits}f}] ({label}: {spread}, {ci})"

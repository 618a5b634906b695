"""Seeding, mean and spread over seeds, and the rule both halves compare by: a difference no larger than the seed
spread of either side is reported as no difference."""
import random
import statistics
from typing import Optional, Sequence

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


def versus(candidate: Sequence[float], reference: Sequence[float], digits: int = 4,
           scale: float = 1.0) -> Optional[str]:
    """"+0.0123 (beyond seed spread)", "... (within seed spread: no difference)", or "... (one run: spread not
    measured)" for ``candidate``'s mean minus ``reference``'s; ``scale`` multiplies the printed difference."""
    ours, theirs = seed_stats(candidate), seed_stats(reference)
    difference = ours["mean"] - theirs["mean"]
    if min(ours["runs"], theirs["runs"]) < 2:
        verdict = "one run: spread not measured"
    elif abs(difference) <= max(ours["spread"], theirs["spread"]):
        verdict = "within seed spread: no difference"
    else:
        verdict = "beyond seed spread"
    return f"{scale * difference:+.{digits}f} ({verdict})"

"""A run's learning curve, ``curve.json``: one point per val evaluation and how the run was trained, written by
the trainer and read by ``tools/plot_curves.py`` and the benchmark's best-epoch column.

Version 2 is ``{"version": 2, "training": {...}, "points": [...]}``; version 1 (no version) was the bare list of
points, read with ``training`` None.
"""
import json
import os
from dataclasses import dataclass, field
from typing import List, Optional

from ..common.errors import DataError
from ..common.io import atomic_write_text
from ..common.provenance import RunSetting

CURVE_FILE = "curve.json"
CURVE_VERSION = 2
CURVE_KEYS = ("epoch", "minutes", "mAP50", "mAP50_95")


@dataclass
class Curve:
    """``points``: ``{"epoch", "minutes", "mAP50", "mAP50_95"}`` (mAP in points, minutes of training wall-clock);
    ``training``: the run's setting (None in files from before it was recorded)."""
    points: List[dict] = field(default_factory=list)
    training: Optional[RunSetting] = None

    def to_json(self) -> str:
        return json.dumps({"version": CURVE_VERSION,
                           "training": self.training.to_dict() if self.training else None,
                           "points": self.points}, indent=2)

    def write(self, path: str) -> None:
        atomic_write_text(path, self.to_json() + "\n")

    def best(self) -> dict:
        """The point ``best_ckpt.pth`` keeps: the first of the highest mAP50:95 (the trainer replaces it only on a
        higher one)."""
        return max(self.points, key=lambda point: point["mAP50_95"])


def read_curve(path: str) -> Curve:
    """The curve in ``path``; ``DataError`` naming the file when it is not one."""
    try:
        with open(path) as file:
            stored = json.load(file)
    except (OSError, json.JSONDecodeError) as error:
        raise DataError(f"{path}: not a readable learning curve ({error})") from None
    if isinstance(stored, list):
        curve = Curve(stored)
    elif isinstance(stored, dict) and stored.get("version") == CURVE_VERSION:
        training = stored.get("training")
        curve = Curve(stored.get("points"), RunSetting.from_dict(training, path) if training is not None else None)
    else:
        raise DataError(f"{path}: not a learning curve of version {CURVE_VERSION} (or an older bare list)")
    if not curve.points or not isinstance(curve.points, list) or not all(
            isinstance(point, dict) and all(is_number(point.get(key)) for key in CURVE_KEYS)
            for point in curve.points):
        raise DataError(f"{path}: expected a list of points with numbers for {', '.join(CURVE_KEYS)}")
    return curve


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def run_curve_path(run_dir: str) -> str:
    return os.path.join(run_dir, CURVE_FILE)

"""A run's learning curve, ``curve.json``: one point per val evaluation, written by the trainer and read by
``tools/plot_curves.py`` and the benchmark's best-epoch column."""
import json
import os
from typing import List

from ..common.errors import DataError

CURVE_FILE = "curve.json"
CURVE_KEYS = ("epoch", "minutes", "mAP50", "mAP50_95")


def read_curve(path: str) -> List[dict]:
    """The points of ``path`` (``{"epoch", "minutes", "mAP50", "mAP50_95"}``, mAP in points); ``DataError`` naming
    the file when it is not one."""
    try:
        with open(path) as file:
            curve = json.load(file)
    except (OSError, json.JSONDecodeError) as error:
        raise DataError(f"{path}: not a readable learning curve ({error})") from None
    if not curve or not isinstance(curve, list) or not all(
            isinstance(point, dict) and all(is_number(point.get(key)) for key in CURVE_KEYS) for point in curve):
        raise DataError(f"{path}: expected a list of points with numbers for {', '.join(CURVE_KEYS)}")
    return curve


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def run_curve_path(run_dir: str) -> str:
    return os.path.join(run_dir, CURVE_FILE)

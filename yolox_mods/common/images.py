"""Decoding images with errors that name the file (shared by detection and classification data)."""
import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import DataError


def read_image(path: str, mode: str = "BGR") -> np.ndarray:
    """Decode ``path`` fully into an (H, W, 3) uint8 array in ``mode`` ("BGR" as YOLOX/OpenCV use, or "RGB").

    Truncated and non-image files raise ``DataError`` naming the file, instead of OpenCV's silent partial
    decode or ``None``.
    """
    if not os.path.isfile(path):
        raise DataError(f"{path}: image file not found")
    try:
        with Image.open(path) as image:
            image.load()
            rgb = np.array(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise DataError(f"{path}: unreadable or corrupt image ({error})") from None
    return np.ascontiguousarray(rgb[..., ::-1]) if mode == "BGR" else rgb

"""A small synthetic VOC2007-format data set (real JPEGs, XMLs, ImageSets) for the demo and the tests."""
import os
from typing import Dict, Sequence
from xml.sax.saxutils import escape

import cv2
import numpy as np

# Three visually distinct VOC classes, each drawn as its own shape and colour (BGR), so a detector can learn
# them in minutes on a CPU.
SYNTHETIC_CLASSES: Dict[str, tuple] = {
    "bottle": ((40, 40, 220), "rectangle"),
    "car": ((220, 120, 30), "ellipse"),
    "person": ((30, 200, 60), "triangle"),
}


def _draw(image: np.ndarray, shape: str, color, box) -> None:
    x1, y1, x2, y2 = box
    if shape == "rectangle":
        cv2.rectangle(image, (x1, y1), (x2, y2), color, -1)
    elif shape == "ellipse":
        cv2.ellipse(image, ((x1 + x2) // 2, (y1 + y2) // 2), ((x2 - x1) // 2, (y2 - y1) // 2), 0, 0, 360, color, -1)
    else:
        points = np.array([[(x1 + x2) // 2, y1], [x1, y2], [x2, y2]], np.int32)
        cv2.fillPoly(image, [points], color)


def annotation_xml(image_id: str, width: int, height: int, objects) -> str:
    """VOC XML text for ``objects`` = [(class name, (x1, y1, x2, y2) 1-based inclusive), ...]."""
    parts = [f"<annotation><folder>VOC2007</folder><filename>{escape(image_id)}.jpg</filename>",
             f"<size><width>{width}</width><height>{height}</height><depth>3</depth></size>"]
    for name, (x1, y1, x2, y2) in objects:
        parts.append(f"<object><name>{escape(name)}</name><difficult>0</difficult><bndbox><xmin>{x1}</xmin>"
                     f"<ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>")
    return "".join(parts) + "</annotation>\n"


def make_synthetic_voc(dest: str, num_trainval: int = 64, num_test: int = 16, image_size: int = 160,
                       max_objects: int = 3, seed: int = 0,
                       class_names: Sequence[str] = tuple(SYNTHETIC_CLASSES), num_val: int = 8) -> str:
    """Write DEST/VOCdevkit/VOC2007 with trainval, test and val image sets (val drawn last, so the other two do
    not depend on its size) and return the VOCdevkit path (YOLOX's ``data_dir``)."""
    rng = np.random.default_rng(seed)
    root = os.path.join(dest, "VOCdevkit", "VOC2007")
    for sub in ("JPEGImages", "Annotations", os.path.join("ImageSets", "Main")):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    splits = {"trainval": [], "test": [], "val": []}
    for index in range(num_trainval + num_test + num_val):
        split = "trainval" if index < num_trainval else "test" if index < num_trainval + num_test else "val"
        image_id = f"{index:06d}"
        height = int(rng.integers(image_size * 3 // 4, image_size + 1))
        width = image_size
        image = rng.integers(90, 150, (height, width, 3), dtype=np.uint8)
        objects = []
        for _ in range(int(rng.integers(1, max_objects + 1))):
            name = class_names[int(rng.integers(len(class_names)))]
            color, shape = SYNTHETIC_CLASSES.get(name, ((200, 200, 200), "rectangle"))
            side_w = int(rng.integers(width // 6, width // 2))
            side_h = int(rng.integers(height // 6, height // 2))
            x1, y1 = int(rng.integers(0, width - side_w)), int(rng.integers(0, height - side_h))
            box = (x1, y1, x1 + side_w - 1, y1 + side_h - 1)
            _draw(image, shape, color, box)
            objects.append((name, tuple(v + 1 for v in box)))
        cv2.imwrite(os.path.join(root, "JPEGImages", image_id + ".jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        with open(os.path.join(root, "Annotations", image_id + ".xml"), "w", encoding="utf-8") as xml:
            xml.write(annotation_xml(image_id, width, height, objects))
        splits[split].append(image_id)
    for split, ids in splits.items():
        with open(os.path.join(root, "ImageSets", "Main", split + ".txt"), "w", encoding="utf-8") as lines:
            lines.write("\n".join(ids) + "\n")
    return os.path.join(dest, "VOCdevkit")

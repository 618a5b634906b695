"""PASCAL VOC detection data for YOLOX, validated at start-up so bad files are named, not crashed on."""
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from loguru import logger
from tqdm import tqdm
from yolox.data.datasets import VOCDetection
from yolox.data.datasets.datasets_wrapper import Dataset
from yolox.data.datasets.voc_classes import VOC_CLASSES

from ..common.errors import DataError
from ..common.images import read_image

ImageSet = Tuple[str, str]  # (year, name), YOLOX's convention: ("2007", "trainval")


@dataclass
class VOCRecord:
    """One image's annotation: 0-based pixel boxes (n, 4), class indices, difficult flags, original size."""
    image_id: str
    image_path: str
    annotation_path: str
    boxes: np.ndarray
    labels: np.ndarray
    difficult: np.ndarray
    height: int
    width: int


@dataclass
class VOCReport:
    """What a scan of a VOC folder found: usable records and every problem, one line each, naming the file."""
    records: List[VOCRecord] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    skipped_images: int = 0
    skipped_objects: int = 0


def _number(obj: ET.Element, tag: str, path: str) -> float:
    node = obj.find(tag)
    try:
        return float(node.text)
    except (AttributeError, TypeError, ValueError):
        raise DataError(f"{path}: <{tag}> missing or not a number") from None


def parse_voc_xml(path: str, class_to_index: Dict[str, int], image_size: Optional[Tuple[int, int]],
                  problems: List[str]) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Tuple[int, int]]:
    """Boxes, labels, difficult flags and (height, width) of one annotation file.

    Objects with an unknown class or a box outside the image, inverted or of zero area are left out, each
    reported in ``problems``; an unparsable file raises ``DataError``. ``image_size`` (height, width), when
    known from the decoded image, is checked against the XML's <size>.
    """
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as error:
        raise DataError(f"{path}: malformed annotation XML ({error})") from None
    size = root.find("size")
    if size is not None:
        height, width = int(_number(size, "height", path)), int(_number(size, "width", path))
        if image_size is not None and image_size != (height, width):
            raise DataError(f"{path}: <size> says {height}x{width} but the image is "
                            f"{image_size[0]}x{image_size[1]}")
    elif image_size is not None:
        height, width = image_size
    else:
        raise DataError(f"{path}: no <size> element and the image size is unknown")
    boxes, labels, difficult = [], [], []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        if name not in class_to_index:
            problems.append(f"{path}: unknown class {name!r} (object left out)")
            continue
        bbox = obj.find("bndbox")
        if bbox is None:
            problems.append(f"{path}: object {name!r} has no <bndbox> (object left out)")
            continue
        # VOC coordinates are 1-based and inclusive; YOLOX works 0-based.
        x1, y1, x2, y2 = (_number(bbox, tag, path) - 1 for tag in ("xmin", "ymin", "xmax", "ymax"))
        if x2 <= x1 or y2 <= y1:
            problems.append(f"{path}: {name!r} box ({x1 + 1:g},{y1 + 1:g},{x2 + 1:g},{y2 + 1:g}) is inverted "
                            "or of zero area (object left out)")
            continue
        if x1 < 0 or y1 < 0 or x2 > width - 1 or y2 > height - 1:
            problems.append(f"{path}: {name!r} box ({x1 + 1:g},{y1 + 1:g},{x2 + 1:g},{y2 + 1:g}) lies outside "
                            f"the {width}x{height} image (object left out)")
            continue
        boxes.append((x1, y1, x2, y2))
        labels.append(class_to_index[name])
        difficult.append(obj.findtext("difficult", "0").strip() == "1")
    return (np.array(boxes, np.float32).reshape(-1, 4), np.array(labels, np.int64),
            np.array(difficult, bool), (height, width))


def scan_voc(data_dir: str, image_sets: Sequence[ImageSet], class_names: Sequence[str] = VOC_CLASSES,
             decode_images: bool = True, progress: bool = False) -> VOCReport:
    """Read every listed annotation (and decode every image) once, collecting all problems in one pass."""
    if not os.path.isdir(data_dir):
        raise DataError(f"{data_dir}: VOC data folder not found (expected VOCdevkit with VOC2007/...)")
    class_to_index = {name: i for i, name in enumerate(class_names)}
    report = VOCReport()
    entries = []
    for year, name in image_sets:
        root = os.path.join(data_dir, "VOC" + year)
        list_file = os.path.join(root, "ImageSets", "Main", name + ".txt")
        if not os.path.isfile(list_file):
            raise DataError(f"{list_file}: image set file not found")
        with open(list_file, encoding="utf-8") as lines:
            entries += [(root, line.strip()) for line in lines if line.strip()]
    for root, image_id in tqdm(entries, desc="checking VOC", disable=not progress, leave=False):
        image_path = os.path.join(root, "JPEGImages", image_id + ".jpg")
        annotation_path = os.path.join(root, "Annotations", image_id + ".xml")
        problems: List[str] = []
        try:
            if not os.path.isfile(annotation_path):
                raise DataError(f"{annotation_path}: annotation file not found")
            if decode_images:
                image_size = read_image(image_path).shape[:2]
            elif not os.path.isfile(image_path):
                raise DataError(f"{image_path}: image file not found")
            else:
                image_size = None
            boxes, labels, difficult, (height, width) = parse_voc_xml(
                annotation_path, class_to_index, image_size, problems)
        except DataError as error:
            report.problems.append(f"{error} (image left out)")
            report.skipped_images += 1
            continue
        report.problems += problems
        report.skipped_objects += len(problems)
        report.records.append(VOCRecord(image_id, image_path, annotation_path, boxes, labels, difficult,
                                        height, width))
    return report


class VOCDataset(VOCDetection):
    """YOLOX's ``VOCDetection`` fed by ``scan_voc``: bad files are reported up front, never met in a worker.

    ``strict=True`` raises one ``DataError`` listing the problems; ``strict=False`` leaves out what is broken
    and logs every problem. ``cache=True`` keeps decoded, resized images in RAM (no file next to the data, which may
    be read-only). Samples are YOLOX's: (image, target (n, 5) [x1, y1, x2, y2, class], (h, w), index).
    """

    def __init__(self, data_dir: str, image_sets: Sequence[ImageSet] = (("2007", "trainval"),),
                 img_size=(416, 416), preproc=None, cache: bool = False, strict: bool = True,
                 class_names: Sequence[str] = VOC_CLASSES, dataset_name: str = "VOC2007"):
        Dataset.__init__(self, img_size)
        self.root = data_dir
        self.image_set = list(image_sets)
        self.img_size = img_size
        self.preproc = preproc
        self.name = dataset_name
        self._classes = tuple(class_names)
        report = scan_voc(data_dir, self.image_set, class_names, decode_images=True, progress=True)
        if report.problems:
            summary = (f"{len(report.problems)} data problem(s) in {data_dir} ({report.skipped_images} image(s), "
                       f"{report.skipped_objects} object(s) affected)")
            if strict:
                listing = "\n  ".join(report.problems[:20])
                raise DataError(f"{summary}; run tools/check_data.py for the full list:\n  {listing}")
            logger.warning("{}; left out in lenient mode:\n  {}", summary, "\n  ".join(report.problems))
        if not report.records:
            raise DataError(f"{data_dir}: no usable images in {self.image_set}")
        self.records = report.records
        self.ids = [(os.path.dirname(os.path.dirname(r.image_path)), r.image_id) for r in self.records]
        self.annotations = self._load_coco_annotations()
        self.imgs = None
        if cache:
            self._cache_images()

    def load_anno_from_ids(self, index):
        record = self.records[index]
        scale = min(self.img_size[0] / record.height, self.img_size[1] / record.width)
        target = np.concatenate([record.boxes * scale, record.labels[:, None]], axis=1).astype(np.float64)
        resized_info = (int(record.height * scale), int(record.width * scale))
        return target, (record.height, record.width), resized_info

    def load_image(self, index):
        return read_image(self.records[index].image_path)

    def _cache_images(self):
        self.imgs = [self.load_resized_img(i) for i in tqdm(range(len(self)), desc="caching images", leave=False)]

    def pull_item(self, index):
        if self.imgs is None:
            return super().pull_item(index)
        target, img_info, _ = self.annotations[index]
        return self.imgs[index].copy(), target.copy(), img_info, index

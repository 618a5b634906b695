"""ImageFolder data (``root/{train,val,test}/<class>/*.jpg``), checked up front and decoded once into RAM."""
import os
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from loguru import logger
from torch.utils.data import Dataset, WeightedRandomSampler
from torchvision.transforms import v2

from yolox_mods.common import DataError, GuardedDataLoader, read_image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass
class Split:
    """Decoded RGB images (resized to ``cache_size`` on the short side), labels and the class names."""
    images: List[np.ndarray]
    labels: List[int]
    classes: List[str]
    paths: List[str]


def list_classes(folder: str) -> List[str]:
    if not os.path.isdir(folder):
        raise DataError(f"{folder}: data folder not found (expected <class>/ subfolders of images)")
    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    if not classes:
        raise DataError(f"{folder}: no class subfolders")
    return classes


def load_split(folder: str, classes: Optional[Sequence[str]] = None, cache_size: int = 128,
               strict: bool = True) -> Split:
    """Read every image of ``folder/<class>/``. A missing or empty class folder, or (strict) an unreadable
    image, raises ``DataError`` naming it; lenient mode leaves unreadable images out and names each one, but
    still stops if that leaves a class without images."""
    found = list_classes(folder)
    classes = list(classes or found)
    if found != classes:
        raise DataError(f"{folder}: classes {found} differ from the training classes {classes}")
    images, labels, paths, skipped = [], [], [], []
    for label, name in enumerate(classes):
        class_dir = os.path.join(folder, name)
        files = sorted(f for f in os.listdir(class_dir) if f.lower().endswith(IMAGE_EXTENSIONS))
        if not files:
            raise DataError(f"{class_dir}: class folder has no images")
        readable = 0
        for file in files:
            path = os.path.join(class_dir, file)
            try:
                image = read_image(path, mode="RGB")
            except DataError as error:
                if strict:
                    raise
                skipped.append(str(error))
                continue
            readable += 1
            scale = cache_size / min(image.shape[:2])
            if scale < 1:
                image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                                   interpolation=cv2.INTER_AREA)
            images.append(image)
            labels.append(label)
            paths.append(path)
        if not readable:
            raise DataError(f"{class_dir}: class folder has no readable images ({len(files)} unreadable)")
    if skipped:
        logger.warning("{} unreadable image(s) left out of {}:\n  {}", len(skipped), folder, "\n  ".join(skipped))
    return Split(images, labels, classes, paths)


def load_data(root: str, strict: bool = True) -> Tuple[Split, Split, Optional[Split]]:
    """``root/train``, ``root/val`` (where choices are made) and ``root/test`` (where results are reported; None
    when the folder has none), all with the training classes."""
    train = load_split(os.path.join(root, "train"), strict=strict)
    held_out = []
    for name in ("val", "test"):
        folder = os.path.join(root, name)
        if name == "test" and not os.path.exists(folder):
            held_out.append(None)
            continue
        classes = list_classes(folder)
        if classes != train.classes:
            missing, extra = set(train.classes) - set(classes), set(classes) - set(train.classes)
            raise DataError(f"{folder}: class folders differ from train/ "
                            f"(missing: {sorted(missing)}, extra: {sorted(extra)})")
        held_out.append(load_split(folder, train.classes, strict=strict))
    return (train, *held_out)


class ImageDataset(Dataset):
    """(image tensor (3, size, size) normalised, label) with train-time or eval-time transforms."""

    def __init__(self, split: Split, input_size: int, train: bool):
        self.split = split
        resize = [v2.RandomResizedCrop(input_size, scale=(0.5, 1.0), antialias=True), v2.RandomHorizontalFlip(),
                  v2.ColorJitter(0.2, 0.2, 0.2)] if train else [v2.Resize((input_size, input_size), antialias=True)]
        self.transform = v2.Compose([v2.ToImage(), *resize, v2.ToDtype(torch.float32, scale=True),
                                     v2.Normalize(MEAN, STD)])

    def __len__(self):
        return len(self.split.labels)

    def __getitem__(self, index):
        return self.transform(self.split.images[index]), self.split.labels[index]


def single_threaded_worker(_worker_id: int) -> None:
    """Loader workers only decode and augment; one thread each leaves the cores to the training process."""
    torch.set_num_threads(1)


def make_loader(split: Split, input_size: int, batch_size: int, train: bool, balanced: bool = False,
                num_workers: int = 2, seed: int = 0) -> GuardedDataLoader:
    """Shuffled (or class-balanced, sampled by inverse class frequency) for training; in order for eval.
    A failing or killed loader worker raises ``DataError`` naming the image it was on."""
    dataset = ImageDataset(split, input_size, train)
    generator = torch.Generator().manual_seed(seed)
    sampler = None
    if train and balanced:
        counts = np.bincount(split.labels, minlength=len(split.classes))
        weights = [1.0 / counts[label] for label in split.labels]
        sampler = WeightedRandomSampler(weights, len(weights), generator=generator)
    return GuardedDataLoader(dataset, sample_names=split.paths, batch_size=batch_size,
                             shuffle=train and sampler is None, sampler=sampler, num_workers=num_workers,
                             generator=generator,
                             drop_last=train and len(dataset) > batch_size, persistent_workers=num_workers > 0,
                             worker_init_fn=single_threaded_worker)


def make_synthetic_folder(root: str, classes: int = 6, train_per_class: int = 40, val_per_class: int = 12,
                          size: int = 96, seed: int = 0, test_per_class: int = 12) -> str:
    """An ImageFolder of JPEGs: each class a colour and a texture frequency, with noise, so it is learnable but
    not trivial. Returns ``root``."""
    rng = np.random.default_rng(seed)
    for split, per_class in (("train", train_per_class), ("val", val_per_class), ("test", test_per_class)):
        for c in range(classes):
            folder = os.path.join(root, split, f"class_{c}")
            os.makedirs(folder, exist_ok=True)
            hue = np.array([(37 * c) % 255, (91 * c + 60) % 255, (53 * c + 120) % 255], np.float32)
            for i in range(per_class):
                y, x = np.mgrid[0:size, 0:size].astype(np.float32)
                angle = rng.uniform(0, np.pi)
                wave = np.sin((np.cos(angle) * x + np.sin(angle) * y) * (0.1 + 0.06 * c))[..., None]
                image = 128 + 0.35 * (hue - 128) + 50 * wave + rng.normal(0, 30, (size, size, 3))
                cv2.imwrite(os.path.join(folder, f"{i:04d}.jpg"), np.clip(image, 0, 255).astype(np.uint8))
    return root


def data_or_generated(data: Optional[str], output: str) -> str:
    """``data``, or (when None) a generated ImageFolder under ``output`` so the CLIs run with no data at hand."""
    if data is not None:
        return data
    data = os.path.join(output, "generated_data")
    if not os.path.isdir(data):
        make_synthetic_folder(data)
    logger.info("no --data: using a generated ImageFolder at {}", data)
    return data

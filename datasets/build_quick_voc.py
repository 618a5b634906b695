"""Build the quick-protocol VOC folder from the official PASCAL VOC2007 trainval release.

    python datasets/build_quick_voc.py --voc2007 VOCtrainval_06-Nov-2007.tar --dest data/quick_voc
    python datasets/build_quick_voc.py --voc2007 /path/to/VOCdevkit/VOC2007 --dest data/quick_voc
    python datasets/build_quick_voc.py --built voc_mini voc_extra voc_test --dest data/quick_voc   # link a built copy

writes DEST/VOCdevkit/VOC2007 with ImageSets/Main/trainval.txt (2,150 images: voc_mini_trainval + voc_extra_trainval),
val.txt (300: voc_mini_test) and test.txt (2,000: voc_test_test), the ID lists committed in datasets/lists/. Every
image comes from the VOC2007 trainval release. Preprocessing, as for the copies the results were measured on: the
longer side scaled down to at most 416 px (Lanczos, RGB JPEG quality 85), box corners and <size> scaled by the same
factor and rounded, kept inside the image; ``--difficult zero`` (default) clears the difficult flags, because the
measured copies came through an export that had none (so their scores are not official VOC07 mAP).
"""
import argparse
import io
import os
import sys
import xml.etree.ElementTree as ET

from PIL import Image
from sources import BuildError, SourceFiles

LISTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lists")
SPLITS = {"trainval": ["voc_mini_trainval", "voc_extra_trainval"], "val": ["voc_mini_test"],
          "test": ["voc_test_test"]}
MAX_SIDE = 416


def read_ids(lists_dir: str, name: str):
    with open(os.path.join(lists_dir, name + ".txt")) as file:
        return [line.strip() for line in file if line.strip()]


def voc_source(path: str) -> SourceFiles:
    """The official release's files by their path under VOC2007/, from the extracted folder or the .tar."""
    source = SourceFiles(path, lambda name: name.split("VOC2007/", 1)[1] if "VOC2007/" in name else None)
    if source.archive is None and not os.path.isdir(os.path.join(path, "JPEGImages")):
        raise BuildError(f"{path}: not a VOC2007 folder (no JPEGImages/)")
    return source


def scale_annotation(xml_bytes: bytes, scale: float, width: int, height: int, zero_difficult: bool) -> bytes:
    """The XML with <size> set to the new image and every box corner scaled, rounded and kept inside it."""
    root = ET.fromstring(xml_bytes)
    size = root.find("size")
    size.find("width").text, size.find("height").text = str(width), str(height)
    for obj in root.iter("object"):
        box = obj.find("bndbox")
        for tag, limit in (("xmin", width), ("ymin", height), ("xmax", width), ("ymax", height)):
            value = round(float(box.find(tag).text) * scale)
            box.find(tag).text = str(min(max(value, 1), limit))
        if zero_difficult and obj.find("difficult") is not None:
            obj.find("difficult").text = "0"
    return ET.tostring(root)


def build_one(source: SourceFiles, image_id: str, root: str, zero_difficult: bool) -> int:
    """Write one downscaled image and its annotation; returns its number of objects."""
    try:
        image = Image.open(io.BytesIO(source.read(f"JPEGImages/{image_id}.jpg"))).convert("RGB")
    except OSError as error:
        raise BuildError(f"{source.path}: JPEGImages/{image_id}.jpg unreadable ({error})") from None
    scale = min(1.0, MAX_SIDE / max(image.size))
    width, height = round(image.width * scale), round(image.height * scale)
    if scale < 1:
        image = image.resize((width, height), Image.LANCZOS)
    image.save(os.path.join(root, "JPEGImages", image_id + ".jpg"), quality=85)
    try:
        xml = scale_annotation(source.read(f"Annotations/{image_id}.xml"), scale, width, height, zero_difficult)
    except ET.ParseError as error:
        raise BuildError(f"{source.path}: Annotations/{image_id}.xml malformed ({error})") from None
    with open(os.path.join(root, "Annotations", image_id + ".xml"), "wb") as file:
        file.write(xml)
    return xml.count(b"<object>")


def link_built(built_dirs, image_id: str, root: str) -> int:
    """Link one image and annotation from already built copies; returns its number of objects."""
    for base in built_dirs:
        voc = os.path.join(base, "VOCdevkit", "VOC2007") if os.path.isdir(os.path.join(base, "VOCdevkit")) else base
        image = os.path.join(voc, "JPEGImages", image_id + ".jpg")
        if os.path.isfile(image):
            annotation = os.path.join(voc, "Annotations", image_id + ".xml")
            for src, sub in ((image, "JPEGImages"), (annotation, "Annotations")):
                dest = os.path.join(root, sub, os.path.basename(src))
                if not os.path.lexists(dest):
                    os.symlink(os.path.abspath(src), dest)
            with open(annotation, "rb") as file:
                return file.read().count(b"<object>")
    raise BuildError(f"image {image_id} is in none of the built folders {', '.join(built_dirs)}")


def build(dest: str, voc2007=None, built=None, lists_dir=LISTS, zero_difficult=True, progress=True):
    """Write DEST/VOCdevkit/VOC2007 and return {split: (images, objects)}."""
    root = os.path.join(dest, "VOCdevkit", "VOC2007")
    for sub in ("JPEGImages", "Annotations", os.path.join("ImageSets", "Main")):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    source = voc_source(voc2007) if voc2007 else None
    counts = {}
    for split, names in SPLITS.items():
        ids = [i for name in names for i in read_ids(lists_dir, name)]
        objects = 0
        for index, image_id in enumerate(ids):
            objects += (build_one(source, image_id, root, zero_difficult) if source
                        else link_built(built, image_id, root))
            if progress and (index + 1) % 250 == 0:
                print(f"{split}: {index + 1}/{len(ids)}", file=sys.stderr)
        with open(os.path.join(root, "ImageSets", "Main", split + ".txt"), "w") as file:
            file.write("\n".join(ids) + "\n")
        counts[split] = (len(ids), objects)
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", required=True, help="output folder (DEST/VOCdevkit is the data_dir)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--voc2007", help="the official VOC2007 trainval release: extracted VOC2007/ folder or .tar")
    source.add_argument("--built", nargs="+", help="folders already built (voc_mini, voc_extra, voc_test): linked")
    parser.add_argument("--difficult", choices=["zero", "keep"], default="zero")
    parser.add_argument("--lists", default=LISTS, help="folder of the ID lists (default: datasets/lists)")
    args = parser.parse_args(argv)
    try:
        counts = build(args.dest, args.voc2007, args.built, args.lists, args.difficult == "zero")
    except (BuildError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    for split, (images, objects) in counts.items():
        print(f"{split}: {images} images, {objects} objects")
    print(f"data_dir: {os.path.join(args.dest, 'VOCdevkit')}")


if __name__ == "__main__":
    main()

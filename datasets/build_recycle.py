"""Build the recycling classifier's data (recycle_mini) from TrashNet.

    python datasets/build_recycle.py --trashnet dataset-resized.zip --dest data/recycle_mini
    python datasets/build_recycle.py --trashnet /path/to/dataset-resized --dest data/recycle_mini
    python datasets/build_recycle.py --built /path/to/recycle_mini --dest data/recycle_mini   # link a built copy

writes DEST/{train,val,test}/<class>/<file>.jpg (ImageFolder layout) for the files named in
datasets/lists/recycle_train.txt (1,633), recycle_val.txt (205) and recycle_test.txt (204): TrashNet's
``dataset-resized`` photos (github.com/garythung/trashnet, MIT licence), each resized so its shorter side is 96 px
(Lanczos, RGB JPEG quality 90). Train and held-out were split per class with a seeded shuffle after dropping
byte-identical files filed under two classes and keeping near-duplicate shots (dHash) on one side; the held-out
409 were then halved per class (numpy ``default_rng(0)`` permutation, the first half to test) into val, where
choices are made, and test, where results are reported. A further held-out set is not part of these lists.
A built copy from before the test split (train/ and val/ only) is linked too: a file is looked up in every split
folder of the copy.
"""
import argparse
import io
import os
import sys

from PIL import Image
from sources import BuildError, SourceFiles

LISTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lists")
SPLITS = ("train", "val", "test")
SHORT_SIDE = 96


def trashnet_source(path: str) -> SourceFiles:
    """``<class>/<file>.jpg`` from an extracted dataset-resized folder or from its .zip."""
    return SourceFiles(path, lambda name: "/".join(name.split("/")[-2:]) if name.endswith(".jpg") else None)


def resize_short_side(data: bytes, name: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data)).convert("RGB")
    except OSError as error:
        raise BuildError(f"{name}: unreadable image ({error})") from None
    scale = SHORT_SIDE / min(image.size)
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)


def build(dest: str, trashnet=None, built=None, lists_dir=LISTS):
    """Write DEST/{train,val,test}/<class>/ and return {split: {class: images}}."""
    source = trashnet_source(trashnet) if trashnet else None
    counts = {}
    for split in SPLITS:
        with open(os.path.join(lists_dir, f"recycle_{split}.txt")) as file:
            files = [line.strip() for line in file if line.strip()]
        counts[split] = {}
        for relative in files:
            target = os.path.join(dest, split, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if source is not None:
                resize_short_side(source.read(relative), relative).save(target, quality=90)
            else:
                candidates = [os.path.join(built, folder, relative)
                              for folder in (split, *(other for other in SPLITS if other != split))]
                original = next((path for path in candidates if os.path.isfile(path)), None)
                if original is None:
                    raise BuildError(f"{candidates[0]}: missing from the built copy")
                if not os.path.lexists(target):
                    os.symlink(os.path.abspath(original), target)
            label = relative.split("/")[0]
            counts[split][label] = counts[split].get(label, 0) + 1
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--trashnet", help="TrashNet's dataset-resized folder or dataset-resized.zip")
    source.add_argument("--built", help="a folder already built (train/, val/ and test/, or train/ and val/): linked")
    parser.add_argument("--lists", default=LISTS, help="folder of the file lists (default: datasets/lists)")
    args = parser.parse_args(argv)
    try:
        counts = build(args.dest, args.trashnet, args.built, args.lists)
    except (BuildError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    for split, per_class in counts.items():
        print(f"{split}: {sum(per_class.values())} images ("
              + ", ".join(f"{name} {count}" for name, count in sorted(per_class.items())) + ")")


if __name__ == "__main__":
    main()

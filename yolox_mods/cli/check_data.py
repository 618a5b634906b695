"""``tools/check_data.py``: list every problem in a VOC folder in one pass (exit 1 if there are any)."""
import argparse
import sys

from yolox.data.datasets.voc_classes import VOC_CLASSES

from ..common import exits_cleanly_on_bad_input
from ..data import scan_voc


def make_parser():
    parser = argparse.ArgumentParser(description="Check a VOCdevkit folder: images, XMLs, classes, boxes")
    parser.add_argument("data_dir", help="the VOCdevkit folder (holding VOC2007/...)")
    parser.add_argument("--sets", nargs="+", default=["2007/trainval", "2007/test"],
                        help="image sets as YEAR/NAME (default: 2007/trainval 2007/test)")
    return parser


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    image_sets = [tuple(s.split("/", 1)) for s in args.sets]
    report = scan_voc(args.data_dir, image_sets, VOC_CLASSES, decode_images=True, progress=True)
    for line in report.problems:
        print(line)
    print(f"{len(report.records)} usable images; {len(report.problems)} problem(s): "
          f"{report.skipped_images} image(s) and {report.skipped_objects} object(s) would be left out")
    sys.exit(1 if report.problems else 0)


if __name__ == "__main__":
    main()

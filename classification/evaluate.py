"""``python -m classification.evaluate --ckpt X --data DIR``: MACs, macro F1, accuracy and score of a checkpoint."""
import argparse
import os

from yolox_mods.common import exits_cleanly_on_bad_input

from .data import load_split
from .metrics import compression_score, count_macs, count_params
from .models import ShuffleNetV1, load_model
from .train import evaluate


def make_parser():
    parser = argparse.ArgumentParser(prog="python -m classification.evaluate", description=__doc__.split(":")[1])
    parser.add_argument("--ckpt", required=True, help="a checkpoint written by classification.compress")
    parser.add_argument("--data", required=True, help="ImageFolder root (its --split subfolder is used)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--base-macs", type=int, default=None,
                        help="score reference MACs (default: the uncompressed g3 w0.25 model at the checkpoint's "
                             "input size and class count, counted the same way)")
    parser.add_argument("--ref-f1", type=float, default=None, help="score reference F1 (default: no F1 term)")
    return parser


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    model, size, classes = load_model(args.ckpt)
    split = load_split(os.path.join(args.data, args.split), classes)
    metrics = evaluate(model, split, size)
    macs = count_macs(model, size)
    base_macs = args.base_macs or count_macs(ShuffleNetV1(len(classes)), size)
    score = compression_score(macs, metrics["f1"], base_macs, args.ref_f1)
    print(f"{args.ckpt}: input {size}, MACs {macs:,}, params {count_params(model):,}, macro F1 {metrics['f1']:.4f}, "
          f"accuracy {metrics['accuracy']:.4f}, score {score:.4f} (base MACs {base_macs:,}, "
          f"ref F1 {args.ref_f1})")


if __name__ == "__main__":
    main()

"""``python -m classification.block_study``: the shared blocks in ShuffleNetV1's depthwise slot at matched MACs
(``classification.studies.block_study``)."""
import argparse
import os

from yolox_mods.common import exits_cleanly_on_bad_input

from ..data import data_or_generated
from ..studies.block_study import BLOCKS, run_study, summary_table
from ..train import TrainConfig


def make_parser():
    parser = argparse.ArgumentParser(prog="python -m classification.block_study",
                                     description=__doc__.split(": ", 1)[1].split(" (``")[0])
    parser.add_argument("--data", default=None,
                        help="ImageFolder root with train/, val/ and test/ (default: generated); F1 on test")
    parser.add_argument("--output", default=os.path.join("runs", "block_study"))
    parser.add_argument("--blocks", nargs="+", default=list(BLOCKS), choices=list(BLOCKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--input-size", type=int, default=80)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tolerance", type=float, default=0.03, help="largest relative MAC difference to dw_k3")
    parser.add_argument("--lenient", action="store_true", help="leave out unreadable images instead of stopping")
    return parser


@exits_cleanly_on_bad_input
def main(argv=None) -> None:
    args = make_parser().parse_args(argv)
    data = data_or_generated(args.data, args.output)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, num_workers=args.workers)
    summary = run_study(data, args.output, args.blocks, args.seeds, config, args.input_size, args.tolerance,
                        strict=not args.lenient)
    print(summary_table(summary))
    print(f"results: {os.path.join(args.output, 'blocks.md')} (and .json, .png)")


if __name__ == "__main__":
    main()

"""``tools/quickstart.py``: generate a small VOC set, train an exp briefly on it, evaluate, print a table.

The README's first command. Everything runs locally on CPU in a few minutes; nothing is downloaded.
"""
import argparse
import os
import time

from tabulate import tabulate
from yolox.utils import get_model_info

from ..common import exits_cleanly_on_bad_input
from ..core import TrainOptions, resolve_device, train
from ..data.synthetic import make_synthetic_voc
from ..evaluators import format_result
from ..exp_files import load_exp
from ..protocol import PROTOCOLS


def make_parser():
    parser = argparse.ArgumentParser(description="Train and evaluate an exp on generated VOC data (CPU demo)")
    parser.add_argument("-f", "--exp_file", default=os.path.join("exps", "mdconv_nano.py"))
    parser.add_argument("-e", "--epochs", type=int, default=PROTOCOLS["demo"]["max_epoch"])
    parser.add_argument("-o", "--output", default=os.path.join("YOLOX_outputs", "quickstart"))
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    return parser


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    data_dir = os.path.join(args.output, "data", "VOCdevkit")
    if not os.path.isdir(data_dir):
        make_synthetic_voc(os.path.join(args.output, "data"), num_trainval=128, num_test=32, image_size=160)
    overrides = ["data_dir", data_dir, "output_dir", args.output, "max_epoch", str(args.epochs)]
    exp = load_exp(args.exp_file, overrides, "demo")
    start = time.time()
    # the headline: the last epoch's EMA weights scored on the test split at the end (best_ckpt.pth was chosen
    # on val)
    outcome = train(exp, TrainOptions(batch_size=16, device=resolve_device(args.device)))
    minutes = (time.time() - start) / 60
    result = outcome.test
    info = get_model_info(exp.get_model(), (416, 416))
    print(format_result(result))
    print(tabulate([[exp.exp_name, info, args.epochs, f"{minutes:.1f}", f"{100 * result.map50:.2f}",
                     f"{100 * result.map50_95:.2f}"]],
                   headers=["exp", "model at 416x416", "epochs", "train min", "mAP50", "mAP50:95"],
                   tablefmt="github"))


if __name__ == "__main__":
    main()

"""``tools/quickstart.py``: generate a small VOC set, train an exp briefly on it, evaluate, print a table.

The README's first command. Everything runs locally on CPU in a few minutes; nothing is downloaded.
"""
import argparse
import os
import time

from tabulate import tabulate
from yolox.utils import get_model_info

from ..core import resolve_device
from ..data.synthetic import make_synthetic_voc
from . import train
from .common import exits_cleanly_on_bad_input, load_exp
from .eval import evaluate_checkpoint

# A short schedule for 128 generated images: no mosaic, a high LR with a short warmup, fixed input size. The seed
# fixes data order and augmentation; multi-threaded CPU kernels still let 40-epoch runs drift apart (results.md).
QUICK_SCHEDULE = ["seed", "0", "input_size", "(160,160)", "test_size", "(160,160)", "random_size", "None",
                  "warmup_epochs", "2", "no_aug_epochs", "5", "eval_interval", "10", "print_interval", "8",
                  "basic_lr_per_img", "0.00125", "mosaic_prob", "0.0", "data_num_workers", "2"]


def make_parser():
    parser = argparse.ArgumentParser(description="Train and evaluate an exp on generated VOC data (CPU demo)")
    parser.add_argument("-f", "--exp_file", default=os.path.join("exps", "mdconv_nano.py"))
    parser.add_argument("-e", "--epochs", type=int, default=40)
    parser.add_argument("-o", "--output", default=os.path.join("YOLOX_outputs", "quickstart"))
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    return parser


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    data_dir = os.path.join(args.output, "data", "VOCdevkit")
    if not os.path.isdir(data_dir):
        make_synthetic_voc(os.path.join(args.output, "data"), num_trainval=128, num_test=32, image_size=160)
    overrides = ["data_dir", data_dir, "output_dir", args.output, "max_epoch", str(args.epochs), *QUICK_SCHEDULE]
    start = time.time()
    train.main(["-f", args.exp_file, "-b", "16", "--device", args.device, *overrides])
    minutes = (time.time() - start) / 60

    exp = load_exp(args.exp_file, overrides)
    checkpoint = os.path.join(args.output, exp.exp_name, "best_ckpt.pth")
    device = resolve_device(args.device)
    _, evaluator, summary = evaluate_checkpoint(exp, checkpoint, device, batch_size=16)
    result = evaluator.result
    info = get_model_info(exp.get_model(), (416, 416))
    print(summary)
    print(tabulate([[exp.exp_name, info, args.epochs, f"{minutes:.1f}", f"{100 * result.map50:.2f}",
                     f"{100 * result.map50_95:.2f}"]],
                   headers=["exp", "model at 416x416", "epochs", "train min", "mAP50", "mAP50:95"],
                   tablefmt="github"))

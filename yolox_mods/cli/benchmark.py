"""``tools/benchmark.py``: every exp side by side (stock first): size, CPU latency, optionally training + mAP."""
import argparse
import glob
import json
import os
import platform
import time

import torch

from ..benchmark import measure_variants, write_report
from ..data.synthetic import make_synthetic_voc
from . import train
from .common import exits_cleanly_on_bad_input, load_exp
from .eval import evaluate_checkpoint

REFERENCE_EXP = "yolox_voc_nano.py"


def default_exps(exp_dir="exps"):
    files = sorted(glob.glob(os.path.join(exp_dir, "*.py")))
    return sorted(files, key=lambda f: os.path.basename(f) != REFERENCE_EXP)


def make_parser():
    parser = argparse.ArgumentParser(description="Measure every exp on one machine in one run")
    parser.add_argument("--exps", nargs="+", default=None, help="exp files (default: exps/*.py, stock first)")
    parser.add_argument("--data-dir", default=None, help="VOCdevkit for --train")
    parser.add_argument("--sizes", nargs="+", type=int, default=[416, 320], help="latency input sizes")
    parser.add_argument("--runtimes", nargs="+", default=["torch", "onnx"], choices=["torch", "onnx"])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--train", action="store_true", help="also train every exp on the same protocol and data")
    parser.add_argument("--protocol", default="quick")
    parser.add_argument("--epochs", type=int, default=None, help="override the protocol's max_epoch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-b", "--batch-size", type=int, default=16)
    parser.add_argument("--output", default="results")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run on generated data: 128px latency, 3 repeats, 1 training epoch")
    return parser


def train_and_evaluate(exp_file, args, runs_dir):
    overrides = ["data_dir", args.data_dir, "output_dir", runs_dir, "seed", str(args.seed)]
    if args.epochs:
        overrides += ["max_epoch", str(args.epochs), "no_aug_epochs", str(min(args.epochs, 5))]
    if args.quick:
        overrides += ["input_size", "(128,128)", "test_size", "(128,128)", "data_num_workers", "0"]
    train.main(["-f", exp_file, "-b", str(args.batch_size), "--device", "cpu", "--cache",
                "--protocol", args.protocol, *overrides])
    exp = load_exp(exp_file, overrides, args.protocol)
    run_dir = os.path.join(runs_dir, exp.exp_name)
    _, evaluator, _ = evaluate_checkpoint(exp, os.path.join(run_dir, "best_ckpt.pth"), "cpu", args.batch_size)
    with open(os.path.join(run_dir, "train_stats.json")) as stats:
        return evaluator.result, json.load(stats)["img_per_s"]


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    exp_files = args.exps or default_exps()
    if args.quick:
        args.sizes, args.repeats, args.epochs = [128], 3, args.epochs or 1
        if args.train and args.data_dir is None:
            args.data_dir = make_synthetic_voc(os.path.join(args.output, "data"), 32, 8, 128)
    if args.train and args.data_dir is None:
        raise ValueError("--train needs --data-dir (a VOCdevkit), or --quick for generated data")
    started = time.strftime("%Y-%m-%d %H:%M")
    models = {load_exp(f).exp_name: load_exp(f).get_model() for f in exp_files}
    results = measure_variants(models, args.sizes, args.runtimes, args.repeats)
    if args.train:
        for exp_file in exp_files:
            result, img_per_s = train_and_evaluate(exp_file, args, os.path.join(args.output, "runs"))
            variant = results[load_exp(exp_file).exp_name]
            variant.map50, variant.map50_95 = result.map50, result.map50_95
            variant.per_class_ap50, variant.train_img_per_s = result.per_class_ap50, img_per_s
    header = (f"Measured {started} on {platform.node()} ({os.cpu_count()} CPUs, torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads). Latency: batch 1, median of {args.repeats} interleaved runs; "
              f"ratios are to {os.path.splitext(os.path.basename(exp_files[0]))[0]} in this run."
              + (f" Training: protocol {args.protocol!r}, seed {args.seed}, data {args.data_dir}." if args.train
                 else ""))
    print(header)
    print(write_report(list(results.values()), args.output, header))

"""``python -m classification.evaluate --ckpt X --data DIR``: MACs, macro F1, accuracy, score, a per-class report,
a confusion matrix and CPU latency of a checkpoint written by classification.compress."""
import argparse
import json
import os

import numpy as np
from tabulate import tabulate

from yolox_mods.common import atomic_write_text, exits_cleanly_on_bad_input

from ..evaluation import evaluate_checkpoint, plot_confusion


def make_parser():
    parser = argparse.ArgumentParser(prog="python -m classification.evaluate", description=__doc__.split(":")[1])
    parser.add_argument("--ckpt", required=True, help="a checkpoint written by classification.compress")
    parser.add_argument("--data", required=True, help="ImageFolder root (its --split subfolder is used)")
    parser.add_argument("--split", default="test",
                        help="subfolder of --data to score (default test, where results are reported; val is where "
                             "choices are made)")
    parser.add_argument("--reference", default=None,
                        help="stage of the run's results.json whose MACs and F1 the score is relative to (default: "
                             "baseline_same_budget if the run has it, else baseline)")
    parser.add_argument("--base-macs", type=int, default=None, help="instead of the reference stage's MACs")
    parser.add_argument("--ref-f1", type=float, default=None, help="instead of the reference stage's F1")
    parser.add_argument("--latency-runs", type=int, default=50, help="batch-1 CPU forward passes timed (0: none)")
    parser.add_argument("--json", default=None, help="also write the report here")
    parser.add_argument("--confusion-png", default=None, help="default: <ckpt without .pth>_confusion.png")
    return parser


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    report = evaluate_checkpoint(args.ckpt, args.data, args.split, args.reference, args.base_macs, args.ref_f1,
                                 args.latency_runs)
    classes, matrix = report["classes"], np.array(report["confusion"])
    print(f"{args.ckpt}: input {report['input_size']}, MACs {report['macs']:,}, params {report['params']:,}, macro "
          f"F1 {report['macro_f1']:.4f}, accuracy {report['accuracy']:.4f}, score {report['score']:.4f} (base MACs "
          f"{report['base_macs']:,}, ref F1 {report['ref_f1']}"
          + (f" from stage {report['reference']}" if report["reference"] and args.ref_f1 is None else "") + ")"
          + (f", CPU {report['latency_ms']:.2f} ms/image (batch 1, median of {args.latency_runs})"
             if args.latency_runs else ""))
    print(tabulate([[name, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", v["support"]]
                    for name, v in report["per_class"].items()],
                   headers=["class", "precision", "recall", "F1", "images"], tablefmt="github"))
    print(tabulate([[name, *row] for name, row in zip(classes, matrix.tolist())],
                   headers=["true \\ predicted", *classes], tablefmt="github"))
    png = args.confusion_png or os.path.splitext(args.ckpt)[0] + "_confusion.png"
    plot_confusion(matrix, classes, png,
                   f"{os.path.basename(args.ckpt)} on {args.split}: macro F1 {report['macro_f1']:.3f}")
    print(f"confusion matrix: {png}")
    if args.json:
        atomic_write_text(args.json, json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

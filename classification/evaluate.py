"""``python -m classification.evaluate --ckpt X --data DIR``: MACs, macro F1, accuracy, score, a per-class report,
a confusion matrix and CPU latency of a checkpoint written by classification.compress."""
import argparse
import json
import os

import numpy as np
import torch
from tabulate import tabulate

from yolox_mods.common import ConfigError, DataError, atomic_write_text, exits_cleanly_on_bad_input
from yolox_mods.common.timing import median_ms

from .data import load_split
from .metrics import compression_score, confusion_matrix, count_macs, count_params, macro_f1, per_class_scores
from .models import ShuffleNetV1, load_model
from .train import predict


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


def reference_of(ckpt: str, stage: str = None, split: str = "test"):
    """(stage, MACs, F1 on ``split``) of the reference row in the results.json beside ``ckpt``; (None, None, None)
    if absent."""
    path = os.path.join(os.path.dirname(os.path.abspath(ckpt)), "results.json")
    if not os.path.exists(path):
        if stage:
            raise DataError(f"{path}: not found, so --reference {stage} cannot be read")
        return None, None, None
    with open(path) as file:
        rows = {row["stage"]: row for row in json.load(file)}
    name = stage or ("baseline_same_budget" if "baseline_same_budget" in rows else "baseline")
    if name not in rows:
        if stage:
            raise ConfigError(f"{path}: no stage {stage!r} (stages: {', '.join(rows)})")
        return None, None, None
    # a run on data without a test split has val F1 only: no reference F1 for test then (--ref-f1 gives one)
    f1 = rows[name].get("test_f1") if split == "test" else rows[name]["f1"] if split == "val" else None
    return name, rows[name]["macs"], f1


def latency_ms(model: torch.nn.Module, size: int, runs: int) -> float:
    """Median milliseconds of a batch-1 forward pass on this CPU, after 5 warm-up passes."""
    image = torch.randn(1, 3, size, size)
    with torch.no_grad():
        return median_ms(lambda: model(image), runs)


def plot_confusion(matrix: np.ndarray, classes, path: str, title: str) -> None:
    from yolox_mods.common.plotting import plt, save_figure

    figure, axis = plt.subplots(figsize=(1.1 * len(classes) + 2, 1.0 * len(classes) + 1.5))
    axis.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        axis.text(column, row, str(count), ha="center", va="center",
                  color="white" if count > matrix.max() / 2 else "black", fontsize=8)
    axis.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    axis.set_yticks(range(len(classes)), classes)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title, fontsize=9)
    save_figure(figure, path)


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    model, size, classes = load_model(args.ckpt)
    split = load_split(os.path.join(args.data, args.split), classes)
    predictions = predict(model, split, size)
    matrix = confusion_matrix(split.labels, predictions, len(classes))
    scores = per_class_scores(matrix)
    f1 = macro_f1(split.labels, predictions, len(classes))
    macs = count_macs(model, size)
    stage, ref_macs, ref_f1 = reference_of(args.ckpt, args.reference, args.split)
    base_macs = args.base_macs or ref_macs or count_macs(ShuffleNetV1(len(classes)), size)
    ref_f1 = args.ref_f1 if args.ref_f1 is not None else ref_f1
    report = {"ckpt": args.ckpt, "split": args.split, "images": len(split.labels), "input_size": size, "macs": macs,
              "params": count_params(model), "macro_f1": f1,
              "accuracy": float(np.mean(np.asarray(split.labels) == predictions)),
              "score": compression_score(macs, f1, base_macs, ref_f1), "reference": stage, "base_macs": base_macs,
              "ref_f1": ref_f1, "per_class": {name: {key: scores[key][i] for key in scores} | {
                  "support": int(matrix[i].sum())} for i, name in enumerate(classes)},
              "confusion": matrix.tolist(), "classes": list(classes),
              "latency_ms": latency_ms(model, size, args.latency_runs) if args.latency_runs else None}
    print(f"{args.ckpt}: input {size}, MACs {macs:,}, params {report['params']:,}, macro F1 {f1:.4f}, accuracy "
          f"{report['accuracy']:.4f}, score {report['score']:.4f} (base MACs {base_macs:,}, ref F1 {ref_f1}"
          + (f" from stage {stage}" if stage and args.ref_f1 is None else "") + ")"
          + (f", CPU {report['latency_ms']:.2f} ms/image (batch 1, median of {args.latency_runs})"
             if args.latency_runs else ""))
    print(tabulate([[name, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", v["support"]]
                    for name, v in report["per_class"].items()],
                   headers=["class", "precision", "recall", "F1", "images"], tablefmt="github"))
    print(tabulate([[name, *row] for name, row in zip(classes, matrix.tolist())],
                   headers=["true \\ predicted", *classes], tablefmt="github"))
    png = args.confusion_png or os.path.splitext(args.ckpt)[0] + "_confusion.png"
    plot_confusion(matrix, classes, png, f"{os.path.basename(args.ckpt)} on {args.split}: macro F1 {f1:.3f}")
    print(f"confusion matrix: {png}")
    if args.json:
        atomic_write_text(args.json, json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""``tools/plot_curves.py RUN_DIR... -o curve.png``: mAP50 against training minutes or epochs from runs' curve.json
(the learning curve is scored on the val split; the test split is scored once, at the end)."""
import argparse
import os

from ..common import exits_cleanly_on_bad_input
from ..common.plotting import plt, save_figure
from ..core.curve import read_curve, run_curve_path

X_LABELS = {"minutes": "training minutes (wall-clock, continued over resumes)", "epoch": "epoch"}


def run_label(run: str) -> str:
    """``.../quick_stock_seed1/yolox_voc_nano`` -> ``quick_stock_seed1/yolox_voc_nano``: the exp name alone does not
    tell two seeds of one exp apart."""
    parts = os.path.normpath(run).split(os.sep)
    return "/".join(parts[-2:])


def make_parser():
    parser = argparse.ArgumentParser(description=__doc__.split(":")[1])
    parser.add_argument("runs", nargs="+", help="training output folders holding curve.json")
    parser.add_argument("-o", "--output", default="curve.png")
    parser.add_argument("--x", choices=sorted(X_LABELS), default="minutes",
                        help="epoch compares runs trained on differently loaded machines")
    parser.add_argument("--title", default="mAP50 on the val split during training")
    return parser


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    curves = {run_label(run): read_curve(run_curve_path(run)).points for run in args.runs}
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for label, curve in curves.items():
        axis.plot([point[args.x] for point in curve], [point["mAP50"] for point in curve], marker="o", label=label)
    axis.set_xlabel(X_LABELS[args.x])
    axis.set_ylabel("mAP50 (VOC07 11-point, val)")
    axis.grid(alpha=0.3)
    axis.legend()
    axis.set_title(args.title)
    save_figure(figure, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

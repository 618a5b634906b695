"""``tools/plot_curves.py RUN_DIR... -o curve.png``: mAP50 against training minutes from runs' curve.json."""
import argparse
import json
import os

from ..plotting import plt, save_figure


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split(":")[1])
    parser.add_argument("runs", nargs="+", help="training output folders holding curve.json")
    parser.add_argument("-o", "--output", default="curve.png")
    parser.add_argument("--title", default="mAP50 against CPU minutes")
    args = parser.parse_args(argv)
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for run in args.runs:
        with open(os.path.join(run, "curve.json")) as file:
            curve = json.load(file)
        axis.plot([p["minutes"] for p in curve], [p["mAP50"] for p in curve], marker="o",
                  label=os.path.basename(os.path.normpath(run)))
    axis.set_xlabel("wall-clock minutes since training started")
    axis.set_ylabel("mAP50 (VOC07, test)")
    axis.grid(alpha=0.3)
    axis.legend()
    axis.set_title(args.title)
    save_figure(figure, args.output)
    print(f"wrote {args.output}")

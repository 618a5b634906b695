"""``python -m classification.deploy --ckpt X --data DIR``: a compressed classifier in ONNX Runtime, FP32 against
INT8 (``classification.deployment``)."""
import argparse
import json
import os

from tabulate import tabulate

from yolox_mods.common import atomic_write_text, exits_cleanly_on_bad_input
from yolox_mods.common.onnx import CALIBRATIONS, TYPE_PAIRS

from ..deployment import deploy


def make_parser():
    parser = argparse.ArgumentParser(prog="python -m classification.deploy",
                                     description=__doc__.split(": ", 1)[1].split(" (``")[0])
    parser.add_argument("--ckpt", required=True, help="a checkpoint written by classification.compress")
    parser.add_argument("--data", required=True, help="ImageFolder root with train/ (calibration) and test/")
    parser.add_argument("--output", default=None, help="where the .onnx files and deploy.{md,json} go (default: "
                                                         "beside the checkpoint)")
    parser.add_argument("--calib", type=int, default=100, help="training images to calibrate on")
    parser.add_argument("--types", default="u8s8", choices=sorted(TYPE_PAIRS))
    parser.add_argument("--reduce-range", action=argparse.BooleanOptionalAction, default=True,
                        help="7-bit weights (no saturation on CPUs without VNNI)")
    parser.add_argument("--calibration", default="percentile", choices=sorted(CALIBRATIONS))
    parser.add_argument("--runs", type=int, default=100, help="batch-1 passes timed per model")
    return parser


@exits_cleanly_on_bad_input
def main(argv=None) -> None:
    args = make_parser().parse_args(argv)
    output = args.output or os.path.dirname(os.path.abspath(args.ckpt))
    rows = deploy(args.ckpt, args.data, output, args.calib, args.runs, args.types, args.reduce_range,
                  args.calibration)
    table = tabulate([[r["precision"], f"{r['macs']:,}", f"{r['f1']:.4f}", f"{r['accuracy']:.4f}",
                       f"{r['latency_ms']:.3f}", r["latency_vs_fp32"], f"{r['bytes']:,}"] for r in rows],
                     headers=["ONNX Runtime", "MACs", f"F1 {rows[0]['split']}", "accuracy", "ms (batch 1)",
                              "x FP32 (95% interval)", "bytes"], tablefmt="github", disable_numparse=True)
    stem = os.path.join(output, "deploy")
    atomic_write_text(stem + ".json", json.dumps(rows, indent=2))
    atomic_write_text(stem + ".md", f"{args.ckpt} on {rows[0]['images']} {rows[0]['split']} images. Latency: "
                                    f"{rows[0]['latency_run']}.\n\n{table}\n")
    print(table)


if __name__ == "__main__":
    main()

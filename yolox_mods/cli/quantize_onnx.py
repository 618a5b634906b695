"""``tools/quantize_onnx.py -n EXP --onnx fp32.onnx --output int8.onnx data_dir DIR``: ONNX Runtime static INT8
(QDQ) quantization calibrated on the exp's training images; evaluate the result with tools/eval.py --onnx."""
import argparse
import json

from ..common import exits_cleanly_on_bad_input
from ..quantize import TYPE_PAIRS, quantize_onnx, training_images
from .common import chosen_exp_file, load_exp


def make_parser():
    parser = argparse.ArgumentParser(description="INT8 post-training quantization of an exported yolox-lite model")
    parser.add_argument("-f", "--exp_file", default=None)
    parser.add_argument("-n", "--name", default=None, help="exp name in exps/ (instead of -f)")
    parser.add_argument("--onnx", required=True, help="the FP32 model written by tools/export_onnx.py")
    parser.add_argument("--output", required=True)
    parser.add_argument("--calib", type=int, default=100, help="training images to calibrate on")
    parser.add_argument("--types", default="u8s8", choices=sorted(TYPE_PAIRS), help="activations and weights")
    parser.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor, not per channel")
    parser.add_argument("--reduce-range", action="store_true", help="7-bit weights (no saturation without VNNI)")
    parser.add_argument("--keep-float", nargs="+", default=[], help="ONNX node names to leave in float")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="exp overrides, e.g. data_dir DIR")
    return parser


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    exp = load_exp(chosen_exp_file(args.exp_file, args.name), args.opts)
    report = quantize_onnx(args.onnx, args.output, training_images(exp, args.calib), args.types,
                           not args.per_tensor, args.reduce_range, args.keep_float)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""``tools/quantize_onnx.py -n EXP --onnx fp32.onnx --output int8.onnx data_dir DIR``: INT8 post-training
quantization of an exported model calibrated on the exp's training images, for ONNX Runtime (static, QDQ; evaluate
with tools/eval.py --onnx) or, with ``--runtime openvino --output int8.xml``, for OpenVINO with NNCF (evaluate
with tools/eval.py --openvino). ``--sensitivity int8.onnx --output table.json`` instead measures where an ONNX
Runtime INT8 model loses its signal, per quantized tensor (on training images), to choose ``--keep-float``."""
import argparse
import json

from ..common import ConfigError, exits_cleanly_on_bad_input
from ..common.io import atomic_open
from ..common.onnx import CALIBRATIONS, TYPE_PAIRS
from ..exp_files import chosen_exp_file, load_exp
from ..quantize import (
    OPENVINO_PRESETS,
    output_fidelity,
    quantization_sensitivity,
    quantize_onnx,
    quantize_openvino,
    training_images,
)


def make_parser():
    parser = argparse.ArgumentParser(description="INT8 post-training quantization of an exported yolox-lite model")
    parser.add_argument("-f", "--exp_file", default=None)
    parser.add_argument("-n", "--name", default=None, help="exp name in exps/ (instead of -f)")
    parser.add_argument("--onnx", required=True, help="the FP32 model written by tools/export_onnx.py")
    parser.add_argument("--output", required=True)
    parser.add_argument("--runtime", default="onnxruntime", choices=["onnxruntime", "openvino"],
                        help="onnxruntime: a QDQ .onnx; openvino: an NNCF-quantized OpenVINO IR (.xml + .bin)")
    parser.add_argument("--calib", type=int, default=100, help="training images to calibrate on")
    parser.add_argument("--types", default=None, choices=sorted(TYPE_PAIRS),
                        help="activations and weights (onnxruntime only; default u8s8)")
    parser.add_argument("--per-tensor", action="store_true",
                        help="one weight scale per tensor, not per channel (onnxruntime only)")
    parser.add_argument("--reduce-range", action=argparse.BooleanOptionalAction, default=None,
                        help="7-bit weights: no saturation on CPUs without VNNI; on by default, it measured the "
                             "best INT8 mAP here (onnxruntime only)")
    parser.add_argument("--calibration", default=None, choices=sorted(CALIBRATIONS),
                        help="how activation ranges are read (onnxruntime only; default percentile)")
    parser.add_argument("--quantized-outputs", action="store_true",
                        help="quantize the head's sigmoid scores and output concats too (onnxruntime only; by "
                             "default they stay in float: quantized, they lost the most agreement with FP32)")
    parser.add_argument("--preset", default=None, choices=OPENVINO_PRESETS,
                        help="NNCF's activation scheme (openvino only; default mixed: asymmetric; performance: "
                             "symmetric)")
    parser.add_argument("--keep-float", nargs="+", default=[], help="ONNX node names to leave in float")
    parser.add_argument("--sensitivity", default=None, metavar="INT8_ONNX",
                        help="instead of quantizing: compare this INT8 model of --onnx with it tensor by tensor and "
                             "at the outputs on --calib held-out training images (not the first --calib a model is "
                             "calibrated on), write the table (worst first) to --output as JSON")
    parser.add_argument("--show", type=int, default=15, help="rows of the sensitivity table to print")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="exp overrides, e.g. data_dir DIR")
    return parser


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    onnxruntime_only = (args.types or args.per_tensor or args.reduce_range is not None or args.calibration
                        or args.quantized_outputs)
    if args.runtime == "openvino" and onnxruntime_only:
        raise ConfigError("--types, --per-tensor, --reduce-range, --calibration and --quantized-outputs are ONNX "
                          "Runtime settings; NNCF's is --preset")
    if args.preset and args.runtime != "openvino":
        raise ConfigError("--preset is NNCF's setting (with --runtime openvino)")
    if args.sensitivity and (onnxruntime_only or args.keep_float or args.runtime == "openvino"):
        raise ConfigError("--sensitivity measures an existing INT8 model; quantization settings do not apply")
    exp = load_exp(chosen_exp_file(args.exp_file, args.name), args.opts)
    if args.sensitivity:
        # held out: the first --calib images of the same order are the ones a model was calibrated on
        images = training_images(exp, args.calib, held_out=True)
        rows = quantization_sensitivity(args.onnx, args.sensitivity, images)
        fidelity = output_fidelity(args.onnx, args.sensitivity, images)
        with atomic_open(args.output, "w") as file:
            json.dump({"fp32": args.onnx, "int8": args.sensitivity, "images": len(images), "output": fidelity,
                       "tensors": rows}, file, indent=1)
        print(f"outputs against FP32 on {len(images)} held-out training images (SQNR): boxes "
              f"{fidelity['boxes_db']:.2f} dB, objectness {fidelity['objectness_db']:.2f} dB, classes "
              f"{fidelity['classes_db']:.2f} dB")
        print(f"{'local dB':>9} {'accum. dB':>9}  {'op':8} node   (SQNR; lower = more signal lost)")
        for row in rows[:args.show]:
            print(f"{row['local_db']:9.2f} {row['accumulated_db']:9.2f}  {row['op']:8} {row['node']}")
        return
    images = training_images(exp, args.calib)
    # only what was given: the library holds the measured defaults
    if args.runtime == "openvino":
        given = {"preset": args.preset} if args.preset else {}
        report = quantize_openvino(args.onnx, args.output, images, args.keep_float, **given)
    else:
        given = {key: value for key, value in (("types", args.types), ("reduce_range", args.reduce_range),
                                               ("calibration", args.calibration)) if value is not None}
        report = quantize_onnx(args.onnx, args.output, images, per_channel=not args.per_tensor,
                               keep_float=args.keep_float, float_outputs=not args.quantized_outputs, **given)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

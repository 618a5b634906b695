"""``tools/demo.py image|video``: YOLOX's demo flags plus ``--onnx``, ``--openvino`` and ``--device``; draws the
detections of a checkpoint (by default the run's last-epoch EMA weights) or an exported model on photos or a
video."""
import argparse
import os
import sys
import time

import cv2

from ..common import ConfigError, DataError, exits_cleanly_on_bad_input, read_image
from ..demo import Predictor, draw, image_paths, summary_line
from ..evaluation import load_weights
from ..exp_files import chosen_exp_file, load_exp
from ..runtime import EXPORTED_RUNTIMES
from .common import checkpoint_for, exported_runtime


def make_parser():
    parser = argparse.ArgumentParser(description="Draw a yolox-lite model's detections on images or a video")
    parser.add_argument("demo", choices=["image", "video"])
    parser.add_argument("-f", "--exp_file", default=None)
    parser.add_argument("-n", "--name", default=None, help="exp name in exps/ (instead of -f)")
    parser.add_argument("-expn", "--experiment-name", default=None)
    parser.add_argument("-c", "--ckpt", default=None, help="default: the run's latest_ckpt.pth")
    parser.add_argument("--onnx", default=None, help="run this tools/export_onnx.py file in ONNX Runtime instead")
    parser.add_argument("--openvino", default=None,
                        help="run this model in OpenVINO instead: an exported .onnx or an .xml IR (FP32 or INT8)")
    parser.add_argument("--path", required=True, help="an image, a folder of images, or a video file")
    parser.add_argument("--conf", type=float, default=0.25)
    parser.add_argument("--nms", type=float, default=0.45)
    parser.add_argument("--tsize", type=int, default=None, help="square test size (default: the exp's)")
    parser.add_argument("--save_result", action="store_true", help="write the drawn images/video under the run")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.epilog = "Trailing 'key value' pairs override exp attributes, as in tools/train.py."
    return parser


def parse_args(argv):
    """YOLOX's demo flags, then trailing exp overrides; an unknown flag is an error, not an override."""
    args, opts = make_parser().parse_known_args(argv)
    unknown = [o for o in opts[0::2] if o.startswith("-")]
    if unknown:
        raise ConfigError(f"unknown flag {unknown[0]} (see tools/demo.py --help)")
    args.opts = opts
    return args


def build_predictor(args):
    exp = load_exp(chosen_exp_file(args.exp_file, args.name), args.opts)
    if args.tsize:
        exp.test_size = (args.tsize, args.tsize)
    runtime = exported_runtime(args)
    if runtime:
        model = EXPORTED_RUNTIMES[runtime][0](getattr(args, runtime))
        exp.test_size = model.size if not args.tsize else exp.test_size
    else:
        ckpt = checkpoint_for(exp, args.ckpt, experiment_name=args.experiment_name)
        model = exp.get_model()
        load_weights(exp, model, ckpt)
        model.to(args.device)
    return exp, Predictor(model, exp.class_names, exp.test_size, args.conf, args.nms, args.device)


def output_folder(exp, args) -> str:
    folder = os.path.join(exp.output_dir, args.experiment_name or exp.exp_name, "vis_res",
                          time.strftime("%Y_%m_%d_%H_%M_%S"))
    os.makedirs(folder, exist_ok=True)
    return folder


def run_images(exp, predictor, args) -> None:
    folder = output_folder(exp, args) if args.save_result else None
    shown = 0
    for path in image_paths(args.path):
        try:
            image = read_image(path)
        except DataError as error:
            print(f"warning: {error}, skipped", file=sys.stderr)
            continue
        detections, milliseconds = predictor(image)
        print(summary_line(path, detections, milliseconds))
        shown += 1
        if folder:
            cv2.imwrite(os.path.join(folder, os.path.basename(path)), draw(image, detections, exp.class_names))
    if shown == 0:
        raise DataError(f"{args.path}: no readable image")
    if folder:
        print(f"saved to {folder}")


def run_video(exp, predictor, args) -> None:
    capture = cv2.VideoCapture(args.path)
    if not os.path.isfile(args.path) or not capture.isOpened():
        raise DataError(f"{args.path}: not a readable video")
    writer = None
    frames, total = 0, 0
    started = time.perf_counter()
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        detections, _ = predictor(frame)
        frames, total = frames + 1, total + len(detections)
        if args.save_result:
            if writer is None:
                path = os.path.join(output_folder(exp, args), os.path.splitext(os.path.basename(args.path))[0] + ".mp4")
                writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), capture.get(cv2.CAP_PROP_FPS) or 25,
                                         (frame.shape[1], frame.shape[0]))
            writer.write(draw(frame, detections, exp.class_names))
    capture.release()
    if frames == 0:
        raise DataError(f"{args.path}: no frames could be decoded")
    if writer is not None:
        writer.release()
    seconds = time.perf_counter() - started
    print(f"{args.path}: {frames} frames, {total} detections, {frames / seconds:.1f} frames/s"
          + (f"; saved to {path}" if writer is not None else ""))


@exits_cleanly_on_bad_input
def main(argv=None):
    args = parse_args(argv)
    if sum(map(bool, (args.ckpt, args.onnx, args.openvino))) > 1:
        raise ConfigError("give one of -c, --onnx and --openvino")
    exp, predictor = build_predictor(args)
    (run_images if args.demo == "image" else run_video)(exp, predictor, args)


if __name__ == "__main__":
    main()

"""``tools/eval.py``: YOLOX's eval flags plus ``--device``, ``--lenient``, ``--split`` and ``--json``; prints VOC
mAP of the test split (or val) for a checkpoint, by default the run's last-epoch EMA weights."""
import torch
from loguru import logger
from yolox.tools.eval import make_parser as yolox_eval_parser
from yolox.utils import fuse_model, get_model_info, is_main_process

from ..common import ConfigError, exits_cleanly_on_bad_input, seed_everything
from ..common.cli import warn_if_cores_are_shared
from ..evaluation import evaluate_model, load_for_eval, measure_speed, trained_run
from ..evaluators import record_evaluation
from ..exp_files import load_exp
from ..runtime import EXPORTED_RUNTIMES, OPENVINO_PRECISIONS
from ..weights import weights_digest
from .common import add_lite_arguments, checked_args, checkpoint_for, exported_runtime, launch_workers

# YOLOX flags that have no meaning here: refused when given, never silently ignored
REFUSED = {
    "trt": (False, "--trt: TensorRT evaluation is not supported by yolox-lite (CPU runtimes: tools/export_onnx.py)"),
    "test": (False, "--test evaluates COCO test-dev; VOC has none: the test split is the default (--split val "
                    "for the validation split)"),
}


def make_parser():
    parser = add_lite_arguments(yolox_eval_parser())
    parser.add_argument("--split", default="test", choices=["test", "val"],
                        help="test: exp.test_sets, the final score (default); val: exp.val_sets, where choices "
                             "are made")
    parser.add_argument("--json", default=None,
                        help="also write mAP and per-class AP to this JSON file, and the judged detections beside "
                             "it (.matches.npz) for tools/benchmark.py's bootstrap comparisons")
    parser.add_argument("--onnx", default=None,
                        help="evaluate this tools/export_onnx.py file (FP32 or INT8) in ONNX Runtime instead of a "
                             "checkpoint (same data, pre- and post-processing)")
    parser.add_argument("--openvino", default=None,
                        help="evaluate this model in OpenVINO: an exported .onnx, or an .xml IR such as "
                             "tools/quantize_onnx.py --runtime openvino writes")
    parser.add_argument("--precision", default="f32", choices=list(OPENVINO_PRECISIONS),
                        help="with --openvino: the float layers' precision (f32 forced, or bf16, the CPU plugin's "
                             "default on CPUs with AVX512_BF16 or AMX); recorded as runtime openvino-bf16")
    parser.add_argument("--random-weights", action="store_true",
                        help="with --speed: time untrained weights (without -c and without a run checkpoint)")
    parser.description = "Evaluate a yolox-lite checkpoint (-f exps/<name>.py -c ckpt) with VOC mAP"
    return parser


@exits_cleanly_on_bad_input
def eval_worker(args):
    exp = load_exp(args.exp_file, args.opts, args.protocol)
    if args.seed is not None:
        seed_everything(args.seed)
    if args.lenient:
        exp.data_strict = False
    if args.conf is not None:
        exp.test_conf = args.conf
    if args.nms is not None:
        exp.nmsthre = args.nms
    if args.tsize is not None:
        exp.test_size = (args.tsize, args.tsize)
    if args.split == "val" and tuple(exp.val_sets) == tuple(exp.test_sets):
        raise ConfigError(f"--split val: this exp's val_sets are its test_sets {exp.test_sets} (YOLOX's default); "
                          "give --protocol quick or set val_sets")
    runtime = exported_runtime(args)
    if runtime:
        detector, runtime_name = EXPORTED_RUNTIMES[runtime]
        path = getattr(args, runtime)
        model = detector(path, precision=args.precision) if runtime == "openvino" else detector(path)
        if model.int8 and args.precision != "f32":
            raise ConfigError(f"--precision {args.precision}: {path} is an INT8 model; its float layers run in f32, "
                              "as the benchmark times them")
        if args.tsize is None:
            exp.test_size = model.size
        # the benchmark's runtime names, so that its latency and this accuracy meet in one table
        suffix = "-int8" if model.int8 else "-bf16" if args.precision == "bf16" else ""
        source = {"model_file": path, "runtime": runtime + suffix, "weights": model.weights}
        described = f"{runtime_name} model {path}"
    else:
        ckpt = checkpoint_for(exp, args.ckpt, args.random_weights, args.experiment_name)
        device = torch.device("cuda", torch.cuda.current_device()) if args.device == "cuda" else "cpu"
        model = load_for_eval(exp, ckpt, device)
        source = {"model_file": ckpt, "runtime": "torch", "weights": weights_digest(model)}
        if ckpt is not None:
            source["epoch"], source["prior_epochs"], source["training"] = trained_run(ckpt)
        if args.fuse:
            model = fuse_model(model)
        described = (f"{get_model_info(exp.get_model(), exp.test_size)}, "
                     f"{'checkpoint ' + ckpt if ckpt else 'untrained weights'}")
    size = f"{exp.test_size[0]}x{exp.test_size[1]}"
    if args.speed:
        forward_ms, nms_ms, images = measure_speed(exp, model, args.batch_size, args.split, args.legacy)
        if is_main_process():
            print(f"{exp.exp_name}: {described} at {size}, batch {args.batch_size}, {images} {args.split} images: "
                  f"forward {forward_ms:.2f} ms/image, NMS {nms_ms:.2f} ms/image")
        return
    evaluation = evaluate_model(exp, model, args.batch_size, args.fp16, args.split, args.legacy)
    if is_main_process():
        print(f"{exp.exp_name}: {described} at {size}, {args.split} split ({len(evaluation.result.image_ids)} images)")
        print(evaluation.summary)
        if args.json:
            record_evaluation(args.json, evaluation.result, exp=exp.exp_name, act=exp.act, **source,
                              split=args.split, image_sets=list(exp.eval_sets(args.split)),
                              test_size=list(exp.test_size))


@exits_cleanly_on_bad_input
def main(argv=None):
    args = checked_args(make_parser(), argv, REFUSED)
    if sum(map(bool, (args.random_weights, args.ckpt, args.onnx, args.openvino))) > 1:
        raise ConfigError("give one of -c, --onnx, --openvino and --random-weights")
    if args.random_weights and not args.speed:
        raise ConfigError("--random-weights goes with --speed only: the mAP of untrained weights means nothing, "
                          "their speed is the model's")
    runtime = exported_runtime(args)
    if args.precision != "f32" and runtime != "openvino":
        raise ConfigError("--precision goes with --openvino")
    if runtime and (args.fp16 or args.fuse or args.devices):
        raise ConfigError(f"--{runtime} runs {EXPORTED_RUNTIMES[runtime][1]} in one CPU process: --fp16, --fuse and "
                          "-d do not apply")
    warn_if_cores_are_shared(logger.warning)
    launch_workers(eval_worker, args, args.devices or 1)


if __name__ == "__main__":
    main()

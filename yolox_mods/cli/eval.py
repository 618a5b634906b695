"""``tools/eval.py``: YOLOX's eval flags plus ``--device``, ``--lenient`` and ``--json``; prints VOC mAP."""
import json

import torch
from loguru import logger
from yolox.tools.eval import make_parser as yolox_eval_parser
from yolox.utils import fuse_model, get_model_info, get_world_size, is_main_process

from ..core import atomic_write_text, load_checkpoint, load_exact
from .common import add_lite_arguments, checked_args, exits_cleanly_on_bad_input, launch_workers, load_exp


def make_parser():
    parser = add_lite_arguments(yolox_eval_parser())
    parser.add_argument("--json", default=None, help="also write mAP and per-class AP to this JSON file")
    parser.description = "Evaluate a yolox-lite checkpoint (-f exps/<name>.py -c ckpt) with VOC mAP"
    return parser


def evaluate_checkpoint(exp, ckpt_path, device="cpu", batch_size=8, fp16=False, fuse=False):
    """Load ``ckpt_path`` into ``exp``'s model and return (model info line, VOCEvaluator after its run)."""
    model = exp.get_model()
    info = get_model_info(model, exp.test_size)
    if ckpt_path is not None:
        load_exact(model, load_checkpoint(ckpt_path)["model"], ckpt_path)
    model.to(device).eval()
    if fuse:
        model = fuse_model(model)
    evaluator = exp.get_evaluator(batch_size, get_world_size() > 1)
    _, _, summary = evaluator.evaluate(model, get_world_size() > 1, fp16)
    return info, evaluator, summary


@exits_cleanly_on_bad_input
def eval_worker(args):
    exp = load_exp(args.exp_file, args.opts, args.protocol)
    if args.lenient:
        exp.data_strict = False
    if args.conf is not None:
        exp.test_conf = args.conf
    if args.nms is not None:
        exp.nmsthre = args.nms
    if args.tsize is not None:
        exp.test_size = (args.tsize, args.tsize)
    if args.ckpt is None:
        logger.warning("no -c checkpoint given: evaluating randomly initialised weights")
    device = torch.device("cuda", torch.cuda.current_device()) if args.device == "cuda" else "cpu"
    info, evaluator, summary = evaluate_checkpoint(exp, args.ckpt, device, args.batch_size, args.fp16, args.fuse)
    if is_main_process():
        print(f"{exp.exp_name}: {info} at {exp.test_size[0]}x{exp.test_size[1]}")
        print(summary)
        if args.json:
            result = evaluator.result
            atomic_write_text(args.json, json.dumps({
                "exp": exp.exp_name, "ckpt": args.ckpt, "mAP50": 100 * result.map50,
                "mAP50_95": 100 * result.map50_95,
                "per_class_AP50": {k: 100 * v for k, v in result.per_class_ap50.items()}}, indent=2))


@exits_cleanly_on_bad_input
def main(argv=None):
    args = checked_args(make_parser(), argv)
    launch_workers(eval_worker, args, args.devices or 1)

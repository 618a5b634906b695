"""``tools/train.py``: YOLOX's training flags plus ``--device`` and ``--lenient``; CPU, CUDA, multi-process."""
import torch
from yolox.tools.train import make_parser as yolox_train_parser

from ..exp import seed_everything
from .common import add_lite_arguments, checked_args, exits_cleanly_on_bad_input, launch_workers, load_exp


def make_parser():
    parser = add_lite_arguments(yolox_train_parser())
    parser.description = "Train a yolox-lite exp (-f exps/<name>.py) on CPU or CUDA"
    return parser


def prepare_exp(args):
    exp = load_exp(args.exp_file, args.opts, args.protocol)
    if args.lenient:
        exp.data_strict = False
    if not args.experiment_name:
        args.experiment_name = exp.exp_name
    return exp


@exits_cleanly_on_bad_input
def train_worker(args):
    """One training process: it builds its own exp, so nothing but ``args`` crosses a process boundary."""
    exp = prepare_exp(args)
    if exp.seed is not None:
        seed_everything(exp.seed)
    exp.get_trainer(args).train()


@exits_cleanly_on_bad_input
def main(argv=None):
    args = checked_args(make_parser(), argv)
    prepare_exp(args)  # fail on a bad exp or override here, before any process starts
    launch_workers(train_worker, args, args.devices or (torch.cuda.device_count() if args.device == "cuda" else 1))

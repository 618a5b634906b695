"""``tools/train.py``: YOLOX's training flags plus ``--device`` and ``--lenient``; CPU, CUDA, multi-process."""
import torch
from loguru import logger
from yolox.tools.train import make_parser as yolox_train_parser

from ..common import exits_cleanly_on_bad_input
from ..common.cli import warn_if_cores_are_shared
from ..core import TrainOptions, train
from ..exp_files import load_exp
from .common import add_lite_arguments, checked_args, launch_workers

# YOLOX flags that have no meaning here: refused when given, never silently ignored
REFUSED = {
    "occupy": (False, "-o/--occupy pre-allocates GPU memory in YOLOX; yolox-lite does not support it"),
    "logger": ("tensorboard", "-l: yolox-lite logs to tensorboard only (the default); wandb is not supported"),
}


def make_parser():
    parser = add_lite_arguments(yolox_train_parser())
    parser.description = "Train a yolox-lite exp (-f exps/<name>.py) on CPU or CUDA"
    return parser


def train_options(args) -> TrainOptions:
    """The parsed flags a training run needs, as the library takes them."""
    return TrainOptions(batch_size=args.batch_size, device=args.device, experiment_name=args.experiment_name,
                        fp16=args.fp16, cache=args.cache, resume=args.resume, ckpt=args.ckpt,
                        start_epoch=args.start_epoch)


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
    train(prepare_exp(args), train_options(args))


@exits_cleanly_on_bad_input
def main(argv=None):
    args = checked_args(make_parser(), argv, REFUSED)
    prepare_exp(args)  # fail on a bad exp or override here, before any process starts
    warn_if_cores_are_shared(logger.warning)
    launch_workers(train_worker, args, args.devices or (torch.cuda.device_count() if args.device == "cuda" else 1))


if __name__ == "__main__":
    main()

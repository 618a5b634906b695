"""Detector CLI plumbing: YOLOX's argument set plus ours, checked arguments, launching worker processes."""
import os
import sys
from typing import Optional

from ..common.errors import ConfigError
from ..exp_files import chosen_exp_file
from ..protocol import PROTOCOLS


def add_lite_arguments(parser):
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="where to run; auto picks CUDA when available")
    parser.add_argument("--lenient", action="store_true",
                        help="leave out bad images/objects (counted and reported) instead of stopping")
    parser.add_argument("--protocol", default=None, choices=sorted(PROTOCOLS),
                        help="apply a named training protocol (yolox_mods/protocol.py) before the overrides")
    return parser


def refuse(args, refused) -> None:
    """``refused`` maps an argument's dest to (the value that means 'not asked for', why it is refused)."""
    for dest, (unset, why) in refused.items():
        if getattr(args, dest, unset) != unset:
            raise ConfigError(why)


def checked_args(parser, argv, refused=None):
    """YOLOX-style args with an exp file (``-f``, or ``-n`` naming one in exps/), the flags this tool does not
    support refused before anything starts, and a resolved ``--device``."""
    from ..core import resolve_device

    args = parser.parse_args(argv)
    refuse(args, refused or {})
    args.exp_file = chosen_exp_file(args.exp_file, args.name)
    args.device = resolve_device(args.device)
    if args.fp16 and args.device != "cuda":
        raise ConfigError("--fp16 needs a CUDA device")
    return args


def checkpoint_for(exp, ckpt: Optional[str], random_weights: bool = False,
                   experiment_name: Optional[str] = None) -> Optional[str]:
    """The weights a tool loads: ``-c``, else the run's checkpoint; None (untrained) only when asked for."""
    if ckpt and random_weights:
        raise ConfigError("give -c or --random-weights, not both")
    return ckpt or (None if random_weights else run_checkpoint(exp, experiment_name))


def run_checkpoint(exp, experiment_name: Optional[str] = None, name: str = "latest_ckpt.pth") -> str:
    """YOLOX's default ``-c``: the run's checkpoint under ``output_dir/<experiment name>/``; a missing one is an
    error, never silently random weights. ``latest_ckpt.pth`` holds the last epoch's evaluated (EMA) weights, the
    headline that no choice on test selected."""
    path = os.path.join(exp.output_dir, experiment_name or exp.exp_name, name)
    if not os.path.isfile(path):
        raise ConfigError(f"no -c checkpoint given and no run checkpoint at {path}; give -c CKPT "
                          "(or --random-weights to use untrained weights on purpose)")
    return path


def launch_workers(worker, args, num_processes: int) -> None:
    """``worker(args)`` in ``num_processes`` processes (gloo on CPU); a worker's exit code becomes ours."""
    from torch.multiprocessing import ProcessExitedException

    from ..core import launch

    backend = args.dist_backend if args.device == "cuda" else "gloo"
    try:
        launch(worker, num_processes, args.device, args.num_machines, args.machine_rank, backend, args.dist_url,
               args=(args,))
    except ProcessExitedException as error:
        sys.exit(error.exit_code or 1)


def exported_runtime(args) -> Optional[str]:
    """The runtime ("onnx", "openvino") whose flag names an exported model to run instead of a checkpoint, if any."""
    from ..runtime import EXPORTED_RUNTIMES

    return next((runtime for runtime in EXPORTED_RUNTIMES if getattr(args, runtime, None)), None)

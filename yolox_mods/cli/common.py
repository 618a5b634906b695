"""Shared CLI plumbing: loading exp files and turning bad input into one line on stderr."""
import functools
import importlib.util
import os
import sys
from typing import Optional

from loguru import logger

from ..core.trainer import NonFiniteLossError
from ..data.errors import DataError, WriteError
from ..data.worker_guard import worker_death_message
from ..protocol import PROTOCOLS, apply_protocol


def load_exp(exp_file: str, opts=(), protocol: Optional[str] = None):
    """Import ``exp_file``'s ``Exp`` (without touching sys.path), apply a protocol, then ``key value`` overrides."""
    if not os.path.isfile(exp_file):
        raise DataError(f"{exp_file}: exp file not found")
    name = "yolox_lite_exp_" + os.path.splitext(os.path.basename(exp_file))[0]
    spec = importlib.util.spec_from_file_location(name, exp_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "Exp"):
        raise DataError(f"{exp_file}: defines no class named Exp")
    exp = module.Exp()
    exp.exp_name = os.path.splitext(os.path.basename(exp_file))[0]
    if protocol:
        apply_protocol(exp, protocol)
    exp.merge(list(opts or ()))
    return exp


def add_lite_arguments(parser):
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="where to run; auto picks CUDA when available")
    parser.add_argument("--lenient", action="store_true",
                        help="leave out bad images/objects (counted and reported) instead of stopping")
    parser.add_argument("--protocol", default=None, choices=sorted(PROTOCOLS),
                        help="apply a named training protocol (yolox_mods/protocol.py) before the overrides")
    return parser


def exits_cleanly_on_bad_input(main):
    """Bad data, a bad checkpoint, a bad option, a diverged loss, a dead loader worker or a failed write (disk
    full) ends the program with one 'error:' line and exit code 2."""
    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except (ValueError, NonFiniteLossError, FloatingPointError, WriteError) as error:  # Data/CheckpointError too
            fail(str(error))
        except RuntimeError as error:
            message = worker_death_message(error)
            if message is None:
                raise
            fail(message)
    return wrapper


def fail(message: str) -> None:
    logger.remove()
    # YOLOX's setup_logger reroutes sys.stderr through loguru; write to the real one
    print(f"error: {message}", file=sys.__stderr__, flush=True)
    sys.exit(2)


def checked_args(parser, argv):
    """YOLOX-style args with an exp file and a resolved ``--device``."""
    from ..core import resolve_device

    args = parser.parse_args(argv)
    if args.exp_file is None:
        raise ValueError("give an exp file with -f exps/<name>.py")
    args.device = resolve_device(args.device)
    if args.fp16 and args.device != "cuda":
        raise ValueError("--fp16 needs a CUDA device")
    return args


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

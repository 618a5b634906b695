"""Detector CLI plumbing: loading exp files, YOLOX's argument set plus ours, launching worker processes."""
import glob
import importlib.util
import os
import sys
from typing import Optional

from ..common.errors import ConfigError, DataError
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


# the exps/ of this checkout, when the package runs from one (an installed package has none beside it)
CHECKOUT_EXPS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "exps")


def exp_dirs():
    """Where ``-n`` looks, in order: ./exps of the working directory (YOLOX's convention), then this checkout's."""
    dirs = [os.path.abspath("exps")]
    if os.path.isdir(CHECKOUT_EXPS) and os.path.abspath(CHECKOUT_EXPS) != dirs[0]:
        dirs.append(CHECKOUT_EXPS)
    return dirs


def exp_file_for(name: str) -> str:
    """YOLOX's ``-n NAME``: the exp file ``NAME.py`` or ``<group>/NAME.py`` (the ablation and activation exps: their
    published weights name the exp alone) in the first of ``exp_dirs()`` that has one."""
    known = set()
    for exp_dir in exp_dirs():
        exps = glob.glob(os.path.join(exp_dir, "*.py")) + glob.glob(os.path.join(exp_dir, "*", "*.py"))
        found = [path for path in exps if os.path.basename(path) == name + ".py"]
        if len(found) > 1:
            raise ConfigError(f"-n {name}: more than one exp of that name ({', '.join(sorted(found))}); give one "
                              "with -f")
        if found:
            return found[0]
        known |= {os.path.splitext(os.path.basename(path))[0] for path in exps}
    raise ConfigError(f"-n {name}: no exp of that name in {' or '.join(exp_dirs())}"
                      + (f"; choose from {', '.join(sorted(known))}" if known else "; give an exp file with -f"))


def chosen_exp_file(exp_file: Optional[str], name: Optional[str]) -> str:
    """The exp file of ``-f`` or ``-n`` (they must agree when both are given)."""
    if exp_file is None:
        if not name:
            raise ConfigError("give an exp file with -f exps/<name>.py or its name with -n <name>")
        return exp_file_for(name)
    if name and os.path.splitext(os.path.basename(exp_file))[0] != name:
        raise ConfigError(f"-f {exp_file} and -n {name} name different exps; give one")
    return exp_file


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

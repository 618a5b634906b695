"""Exp files: finding them by name (YOLOX's ``-n``) and loading them with a protocol and overrides."""
import glob
import importlib.util
import os
from typing import Optional

from .common.errors import ConfigError, DataError
from .protocol import apply_protocol


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


# the exps/ of this checkout, when the package runs from one (an installed package has none beside it)
CHECKOUT_EXPS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "exps")


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

"""Where a number came from: the machine, the software and the code that produced a run or a measurement.

Two runs are compared as architectures only when what is recorded here matches in what matters to the comparison
(the protocol and the loader setting); the rest (CPU, versions, commit) is stated beside the numbers.
"""
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from typing import Any, Dict, List, Optional, Tuple

from .errors import DataError

# the instruction-set extensions that change which CPU kernels ONNX Runtime, OpenVINO and PyTorch run
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass(frozen=True)
class Machine:
    """The CPU a figure was measured on: its model name and which of ``CPU_FLAGS`` it has."""
    cpu: str
    flags: Tuple[str, ...]
    cores: int

    @classmethod
    def current(cls) -> "Machine":
        model, flags = platform.processor() or platform.machine(), set()
        try:
            with open("/proc/cpuinfo") as file:
                for line in file:
                    key, _, value = line.partition(":")
                    if key.strip() == "model name":
                        model = value.strip()
                    elif key.strip() == "flags":
                        flags = set(value.split())
        except OSError:  # not Linux: the flags stay unknown, the model is the platform's word
            pass
        return cls(model, tuple(flag for flag in CPU_FLAGS if flag in flags), os.cpu_count() or 1)

    def describe(self) -> str:
        """"AMD EPYC (avx2, avx512f, avx512_vnni), 2 cores": what a table's header names."""
        return f"{self.cpu} ({', '.join(self.flags) or 'no ' + '/'.join(CPU_FLAGS[:2])}), {self.cores} cores"


def code_version(root: str = REPO_ROOT) -> Tuple[Optional[str], Optional[bool]]:
    """(commit, dirty) of the checkout the code runs from; (None, None) outside a git checkout (an installed
    package), where the version of the package is all there is."""
    try:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        status = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, bool(status.strip())


def package_version(name: str) -> Optional[str]:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@dataclass
class RunSetting:
    """How a run was trained: the protocol and loader setting that change what a model learns (compared before
    two runs are paired), and the machine, threads, versions and code it ran on (stated beside the numbers).
    ``recorded`` is "run" when the trainer wrote it, else where it was taken from (files written before this
    record existed were backfilled from the settings the results docs give)."""
    protocol: Optional[str] = None
    loader_workers: Optional[int] = None
    threads: Optional[int] = None
    cpu: Optional[str] = None
    cpu_flags: List[str] = field(default_factory=list)
    torch: Optional[str] = None
    yolox: Optional[str] = None
    commit: Optional[str] = None
    dirty: Optional[bool] = None
    recorded: str = "run"

    @classmethod
    def current(cls, protocol: Optional[str], loader_workers: int, threads: int) -> "RunSetting":
        machine = Machine.current()
        commit, dirty = code_version()
        return cls(protocol=protocol, loader_workers=loader_workers, threads=threads, cpu=machine.cpu,
                   cpu_flags=list(machine.flags), torch=package_version("torch"), yolox=package_version("yolox"),
                   commit=commit, dirty=dirty)

    def comparable(self) -> Tuple[Optional[str], Optional[int]]:
        """What two runs must share to be compared as models: the protocol and the loader setting (the number of
        loader workers decides which random streams draw the augmentations)."""
        return self.protocol, self.loader_workers

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Any, where: str) -> "RunSetting":
        names = {f.name for f in fields(cls)}
        if not isinstance(values, dict) or set(values) - names:
            unknown = sorted(set(values) - names) if isinstance(values, dict) else values
            raise DataError(f"{where}: not a run setting (unexpected {unknown!r})")
        return cls(**values)


def describe_difference(first: RunSetting, second: RunSetting) -> str:
    """"protocol 'quick' vs 'quick', loader workers 2 vs 0": the comparable fields that differ."""
    names = ("protocol", "loader workers")
    return ", ".join(f"{name} {a!r} vs {b!r}" for name, a, b in zip(names, first.comparable(), second.comparable())
                     if a != b)

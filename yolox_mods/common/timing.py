"""CPU latency for both halves: one harness for every figure.

``measure_latency`` times several runners (one batch-1 call of a model in some runtime each) in rounds: in each
round every runner runs one warm block of calls, in an order rotated from round to round. Blocks measure a model as
it is deployed (back to back, its own threads warm); call-by-call interleaving would not, because an inference
session's idle threads keep spinning after a call and steal the cores from the next one. Rotation spreads the
machine's drift over every runner, and a ratio between two runners is taken within each round (the same minutes of
the machine), so the spread of the per-round ratios gives its interval. Every round the machine is sampled: the
CPU share other processes took and the hypervisor's steal time, so that a figure from a busy machine is marked.
"""
import os
import random
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from tqdm import tqdm

from .errors import DataError
from .provenance import Machine

# a round is busy when other processes took more than this share of all cores, or the hypervisor stole more
BUSY_OTHERS = 0.10
BUSY_STEAL = 0.05
# a ratio is resolved when its 95% interval lies within +-10% of it
RESOLVED = 0.10


def timed_calls(run: Callable[[], object], runs: int, warmup: int = 5) -> List[float]:
    """Milliseconds of each of ``runs`` calls of ``run()``, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(1000 * (time.perf_counter() - start))
    return times


@dataclass(frozen=True)
class ThreadSettings:
    """The thread settings every runtime of one measurement gets: ``threads`` compute threads (PyTorch's
    intra-op threads, ONNX Runtime's intra-op threads, OpenVINO's inference threads), one inter-op thread / one
    stream, the latency hint, and no spinning of idle threads (a spinning session steals the next one's cores)."""
    threads: int = 2
    inter_threads: int = 1
    spinning: bool = False
    openvino_streams: int = 1
    openvino_hint: str = "LATENCY"

    def describe(self) -> str:
        return (f"{self.threads} compute threads in every runtime (PyTorch intra-op, ONNX Runtime intra-op with "
                f"{self.inter_threads} inter-op and {'spinning' if self.spinning else 'no spinning'}, OpenVINO "
                f"{self.openvino_streams} stream, {self.openvino_hint} hint)")


@dataclass
class LoadSample:
    """The machine during one round: the 1-minute load average, the share of all cores that other processes used
    and that the hypervisor stole (``/proc/stat``), and whether that makes the round busy."""
    load_average: float
    others: float
    steal: float

    @property
    def busy(self) -> bool:
        return self.others > BUSY_OTHERS or self.steal > BUSY_STEAL


class LoadMonitor:
    """CPU time of the whole machine (``/proc/stat``) against this process's own, between two ``sample()`` calls.
    Where ``/proc/stat`` is missing (not Linux), every sample reads 0 (nothing can be said)."""

    def __init__(self):
        import psutil

        self.process = psutil.Process()
        self.ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.last = self.read()

    def read(self) -> Tuple[float, float, float, float]:
        """(wall seconds, busy CPU seconds of the machine, stolen CPU seconds, this process's CPU seconds)."""
        own = sum(self.process.cpu_times()[:2])
        try:
            with open("/proc/stat") as file:
                values = [int(v) for v in file.readline().split()[1:]]
        except OSError:
            return time.time(), 0.0, 0.0, own
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        steal = values[7] if len(values) > 7 else 0
        # guest time is already counted in user time
        busy = sum(values[:8]) - idle - steal
        return time.time(), busy / self.ticks, steal / self.ticks, own

    def sample(self) -> LoadSample:
        now = self.read()
        wall, busy, steal, own = (a - b for a, b in zip(now, self.last))
        self.last = now
        capacity = max(wall, 1e-6) * (os.cpu_count() or 1)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        return LoadSample(round(load, 2), round(max(0.0, busy - own) / capacity, 4),
                          round(max(0.0, steal) / capacity, 4))


@dataclass
class Ratio:
    """A runner's time over the reference's, per round (both measured in that round), and the bootstrap 95%
    interval of their median over rounds."""
    median: float
    low: float
    high: float
    per_round: List[float]

    @property
    def resolved(self) -> bool:
        return self.low >= self.median * (1 - RESOLVED) and self.high <= self.median * (1 + RESOLVED)

    def describe(self) -> str:
        """"0.91x [0.85, 0.97]", with "not resolved" when the interval is wider than +-10%."""
        text = f"{self.median:.2f}x [{self.low:.2f}, {self.high:.2f}]"
        return text if self.resolved else text + " not resolved"


def ratio_interval(candidate: Sequence[float], reference: Sequence[float], draws: int = 2000,
                   seed: int = 0) -> Ratio:
    """The median over rounds of ``candidate[r] / reference[r]`` and its percentile bootstrap 95% interval
    (rounds drawn with replacement)."""
    ratios = [c / r for c, r in zip(candidate, reference)]
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(draws))
    low, high = medians[int(0.025 * draws)], medians[min(draws - 1, int(0.975 * draws))]
    return Ratio(statistics.median(ratios), low, high, ratios)


@dataclass
class LatencyRun:
    """One run of the harness: per runner the median ms of its block in every round (``per_round``), the
    order of each round, the machine's load per round, and what the figures were measured on and with."""
    per_round: Dict[str, List[float]]
    orders: List[List[str]]
    load: List[LoadSample]
    calls_per_block: int
    threads: ThreadSettings
    machine: Machine
    versions: Dict[str, Optional[str]] = field(default_factory=dict)
    timed: str = "the model's forward pass on one preprocessed image (no pre- or post-processing)"

    def ms(self, runner: str) -> float:
        """The median over rounds of the runner's per-round medians."""
        return statistics.median(self.per_round[runner])

    def ratio(self, runner: str, reference: str) -> Ratio:
        return ratio_interval(self.per_round[runner], self.per_round[reference])

    @property
    def busy_rounds(self) -> List[int]:
        return [index + 1 for index, sample in enumerate(self.load) if sample.busy]

    def describe(self) -> str:
        """The header line every table of this run carries."""
        busy = self.busy_rounds
        return (f"{self.machine.describe()}; {self.threads.describe()}; {len(self.orders)} rounds, one warm block "
                f"of {self.calls_per_block} batch-1 calls per model per round, order rotated; timed: {self.timed}; "
                + ", ".join(f"{name} {version}" for name, version in self.versions.items() if version) + "; "
                + (f"BUSY machine in rounds {busy} (other processes or steal over {BUSY_OTHERS:.0%} / "
                   f"{BUSY_STEAL:.0%} of the cores): not a clean measurement" if busy else "machine idle in every "
                   f"round (other processes <= {BUSY_OTHERS:.0%}, steal <= {BUSY_STEAL:.0%})"))

    def to_dict(self) -> dict:
        return {"per_round": self.per_round, "orders": self.orders, "load": [asdict(s) for s in self.load],
                "busy_rounds": self.busy_rounds, "calls_per_block": self.calls_per_block,
                "threads": asdict(self.threads), "machine": asdict(self.machine), "versions": self.versions,
                "timed": self.timed}

    @classmethod
    def from_dict(cls, values: dict, where: str) -> "LatencyRun":
        """The run ``to_dict`` wrote (read from ``where``); ``DataError`` naming it otherwise."""
        try:
            machine = values["machine"]
            return cls({name: list(times) for name, times in values["per_round"].items()}, values["orders"],
                       [LoadSample(**sample) for sample in values["load"]], values["calls_per_block"],
                       ThreadSettings(**values["threads"]),
                       Machine(machine["cpu"], tuple(machine["flags"]), machine["cores"]), values.get("versions", {}),
                       values.get("timed", cls.timed))
        except (KeyError, TypeError) as error:
            raise DataError(f"{where}: not a latency run written by tools/benchmark.py latency ({error!r})") from None


def runtime_versions() -> Dict[str, Optional[str]]:
    from .provenance import package_version

    return {name: package_version(name) for name in ("torch", "onnxruntime", "openvino")}


def measure_latency(runners: Dict[str, Callable[[], object]], rounds: int = 7, calls_per_block: int = 20,
                    warmup: int = 5, threads: Optional[ThreadSettings] = None) -> LatencyRun:
    """Time every runner in ``rounds`` rounds of one warm block each (``warmup`` untimed calls, then
    ``calls_per_block`` timed ones), the order rotated by one runner per round; the load sampled over every
    round. The runners must already use ``threads`` (PyTorch's thread count is set here)."""
    import torch

    threads = threads or ThreadSettings()
    torch.set_num_threads(threads.threads)
    names = list(runners)
    per_round = {name: [] for name in names}
    orders, load = [], []
    monitor = LoadMonitor()
    with tqdm(total=rounds * len(names), desc="latency", leave=False) as progress:
        for index in range(rounds):
            order = names[index % len(names):] + names[:index % len(names)]
            orders.append(order)
            monitor.sample()
            for name in order:
                per_round[name].append(statistics.median(timed_calls(runners[name], calls_per_block, warmup)))
                progress.update()
            # one sample over the whole round: CPU time is counted in clock ticks (10 ms), too coarse for one block
            load.append(monitor.sample())
    return LatencyRun(per_round, orders, load, calls_per_block, threads, Machine.current(), runtime_versions())

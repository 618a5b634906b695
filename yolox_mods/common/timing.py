"""CPU latency, for both halves: the median of one callable, and several models timed side by side."""
import statistics
import time
from typing import Callable, Dict, List

from tqdm import tqdm


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


def median_ms(run: Callable[[], object], runs: int, warmup: int = 5) -> float:
    """Median milliseconds of ``run()`` over ``runs`` timed calls after ``warmup`` untimed ones."""
    return statistics.median(timed_calls(run, runs, warmup))


def rotated_block_latency(runners: Dict[str, Callable[[], None]], repeats: int, warmup: int,
                          rounds: int = 3) -> Dict[str, float]:
    """Median ms per call of each runner: ``rounds`` rounds, in each a warm block of ``repeats / rounds`` calls
    per runner, taken in turn. Blocks measure each model as it is deployed (back to back, its own threads warm);
    call-by-call interleaving would not, because an ONNX Runtime session's idle threads keep spinning after a
    call and steal the cores from the next session (docs/results.md measured the difference). Rotating the blocks
    spreads the machine's load drift over every runner."""
    per_block = max(1, -(-repeats // rounds))
    times = {name: [] for name in runners}
    progress = tqdm(total=rounds * len(runners), desc="latency", leave=False)
    for _ in range(rounds):
        for name, run in runners.items():
            times[name].extend(timed_calls(run, per_block, warmup))
            progress.update()
    progress.close()
    return {name: statistics.median(values) for name, values in times.items()}

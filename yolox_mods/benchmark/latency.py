"""Size and CPU latency of exps side by side: params, GFLOPs, PyTorch and ONNX Runtime milliseconds."""
import os
import statistics
import tempfile
import time
from typing import Callable, Dict, Sequence

import torch
from tqdm import tqdm

from ..export import export_onnx, onnx_session
from .report import VariantResult


def model_size(model: torch.nn.Module, size: int = 416):
    """(params in M, GFLOPs at size x size as YOLOX reports them: 2 x thop MACs)."""
    from copy import deepcopy

    from thop import profile

    macs, params = profile(deepcopy(model).eval(), inputs=(torch.zeros(1, 3, 64, 64),), verbose=False)
    return params / 1e6, 2 * macs / 1e9 * size * size / (64 * 64)


def rotated_block_latency(runners: Dict[str, Callable[[], None]], repeats: int, warmup: int,
                          rounds: int = 3) -> Dict[str, float]:
    """Median ms per call of each runner: ``rounds`` rounds, in each a warm block of ``repeats / rounds`` calls
    per runner, taken in turn. Blocks measure each model as it is deployed (back to back, its own threads warm);
    call-by-call interleaving would not, because an ONNX Runtime session's idle threads keep spinning after a
    call and steal the cores from the next session (measured: final_nano 1.89x stock interleaved, 1.36x in
    blocks). Rotating the blocks spreads this machine's load drift over every runner."""
    per_block = max(1, -(-repeats // rounds))
    times = {name: [] for name in runners}
    progress = tqdm(total=rounds * len(runners), desc="latency", leave=False)
    for _ in range(rounds):
        for name, run in runners.items():
            for _ in range(warmup):
                run()
            for _ in range(per_block):
                start = time.perf_counter()
                run()
                times[name].append(1000 * (time.perf_counter() - start))
            progress.update()
    progress.close()
    return {name: statistics.median(values) for name, values in times.items()}


def latency_runners(name: str, model: torch.nn.Module, size: int, workdir: str,
                    runtimes: Sequence[str]) -> Dict[str, Callable[[], None]]:
    image = torch.randn(1, 3, size, size)
    runners = {}
    if "torch" in runtimes:
        def run_torch():
            with torch.no_grad():
                model(image)
        runners[f"{name}|torch@{size}"] = run_torch
    if "onnx" in runtimes:
        path = os.path.join(workdir, f"{name}_{size}.onnx")
        export_onnx(model, path, (size, size))
        session, feed = onnx_session(path), {"images": image.numpy()}
        runners[f"{name}|onnx@{size}"] = lambda: session.run(None, feed)
    return runners


def measure_variants(models: Dict[str, torch.nn.Module], sizes: Sequence[int], runtimes=("torch", "onnx"),
                     repeats: int = 30, warmup: int = 5) -> Dict[str, VariantResult]:
    """Params, GFLOPs and latency of every model; the first model is the reference for the ratios."""
    results = {name: VariantResult(name, *model_size(model)) for name, model in models.items()}
    with tempfile.TemporaryDirectory() as workdir:
        runners = {}
        for name, model in models.items():
            model.eval()
            for size in sizes:
                runners.update(latency_runners(name, model, size, workdir, runtimes))
        medians = rotated_block_latency(runners, repeats, warmup)
    reference = next(iter(models))
    for key, ms in medians.items():
        name, setting = key.split("|")
        results[name].latency_ms[setting] = round(ms, 2)
    for result in results.values():
        result.latency_ratio = {k: round(v / results[reference].latency_ms[k], 3)
                                for k, v in result.latency_ms.items()}
    return results

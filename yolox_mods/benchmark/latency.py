"""Size and CPU latency of exps side by side: params, GFLOPs, and milliseconds in PyTorch and in the deployment
runtimes (ONNX Runtime and OpenVINO, FP32 and INT8)."""
import functools
import os
import tempfile
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch

from ..common.errors import ConfigError
from ..common.onnx import onnx_session
from ..common.timing import LatencyRun, ThreadSettings, measure_latency
from ..export import export_onnx
from .report import VariantResult


def model_size(model: torch.nn.Module, size: int = 416):
    """(params in M, GFLOPs at size x size as YOLOX reports them: 2 x thop MACs)."""
    from copy import deepcopy

    from thop import profile

    macs, params = profile(deepcopy(model).eval(), inputs=(torch.zeros(1, 3, 64, 64),), verbose=False)
    return params / 1e6, 2 * macs / 1e9 * size * size / (64 * 64)


def untie_constants(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every BatchNorm distinct seeded statistics and every conv bias seeded values (in place), so that an
    untrained model exports as a trained one does. Default-initialised BNs fold into identical zero biases (and
    YOLOX's head starts its prediction biases at one prior), which the ONNX exporter shares between convs; ONNX
    Runtime's INT8 quantizer then builds a slower graph than a trained model's (measured in docs/results.md). FP32
    latency does not depend on the values."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            for tensor, low, high in ((bn.weight, 0.5, 1.5), (bn.bias, -0.2, 0.2), (bn.running_mean, -0.5, 0.5),
                                      (bn.running_var, 0.5, 2.0)):
                tensor.copy_(low + (high - low) * torch.rand(tensor.shape, generator=generator))
        for conv in (m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.bias is not None):
            conv.bias.add_(0.01 * torch.randn(conv.bias.shape, generator=generator))
    return model


# runtime name -> how it is measured; the INT8 ones are calibrated on ``calibration`` images
RUNTIMES = {
    "torch": "PyTorch eager, FP32",
    "onnx": "ONNX Runtime FP32",
    "openvino": "OpenVINO FP32 (CPU plugin, float layers forced to f32)",
    "openvino-bf16": "OpenVINO bf16 (CPU plugin's own default on CPUs with AVX512_BF16 or AMX)",
    "onnx-int8": "ONNX Runtime static INT8 (QDQ, U8S8, per-channel 7-bit weights, percentile calibration, head "
                 "outputs in float)",
    "openvino-int8": "OpenVINO INT8 (NNCF post-training quantization, mixed preset, float layers in f32)",
}


def latency_runners(name: str, model: torch.nn.Module, size: int, workdir: str, runtimes: Sequence[str],
                    calibration: Optional[Sequence[str]] = None,
                    threads: Optional[ThreadSettings] = None) -> Dict[str, Callable[[], None]]:
    """One batch-1 inference of ``model`` at ``size`` per runtime, keyed "name|runtime@size", every runtime on
    ``threads``: the model's forward pass on one preprocessed image, without pre- or post-processing."""
    from ..quantize import quantize_onnx, quantize_openvino
    from ..runtime import openvino_compile, read_openvino_model

    threads = threads or ThreadSettings()
    unknown = sorted(set(runtimes) - set(RUNTIMES))
    if unknown:
        raise ConfigError(f"unknown runtime {unknown[0]!r}; choose from {sorted(RUNTIMES)}")
    if any(r.endswith("-int8") for r in runtimes) and not calibration:
        raise ConfigError("INT8 runtimes need calibration images (training images of --data-dir)")
    image = torch.randn(1, 3, size, size)
    feed = {"images": image.numpy()}

    def session(path):
        return onnx_session(path, threads.threads, threads.spinning, threads.inter_threads)

    def compiled(path, precision="f32"):
        return openvino_compile(read_openvino_model(path), threads.threads, precision, threads.openvino_streams)

    runners = {}
    if "torch" in runtimes:
        def run_torch():
            with torch.no_grad():
                model(image)
        runners[f"{name}|torch@{size}"] = run_torch
    if set(runtimes) - {"torch"}:
        fp32 = os.path.join(workdir, f"{name}_{size}.onnx")
        export_onnx(model, fp32, (size, size))
    if "onnx" in runtimes:
        runners[f"{name}|onnx@{size}"] = functools.partial(session(fp32).run, None, feed)
    if "openvino" in runtimes:
        runners[f"{name}|openvino@{size}"] = functools.partial(compiled(fp32), feed["images"])
    if "openvino-bf16" in runtimes:
        runners[f"{name}|openvino-bf16@{size}"] = functools.partial(compiled(fp32, "bf16"), feed["images"])
    if "onnx-int8" in runtimes:
        int8 = os.path.join(workdir, f"{name}_{size}_int8.onnx")
        quantize_onnx(fp32, int8, calibration)
        runners[f"{name}|onnx-int8@{size}"] = functools.partial(session(int8).run, None, feed)
    if "openvino-int8" in runtimes:
        xml = os.path.join(workdir, f"{name}_{size}_int8.xml")
        quantize_openvino(fp32, xml, calibration)
        runners[f"{name}|openvino-int8@{size}"] = functools.partial(compiled(xml), feed["images"])
    return runners


def measure_variants(models: Dict[str, torch.nn.Module], sizes: Sequence[int], runtimes=("torch", "onnx"),
                     rounds: int = 7, calls_per_block: int = 20, warmup: int = 5,
                     calibration: Optional[Sequence[str]] = None,
                     threads: Optional[ThreadSettings] = None) -> Tuple[Dict[str, VariantResult], LatencyRun]:
    """Params, GFLOPs and latency of every model in one harness run (``measure_latency``), and that run. The first
    model is the reference for the ratios, taken within each round: PyTorch to its PyTorch time, every deployment
    runtime to its ONNX Runtime FP32 time at the same size when that was measured (the deployment baseline), else
    to its time in the same runtime."""
    threads = threads or ThreadSettings()
    with tempfile.TemporaryDirectory() as workdir:
        runners = {}
        for name, model in models.items():
            model.eval()
            for size in sizes:
                runners.update(latency_runners(name, model, size, workdir, runtimes, calibration, threads))
        run = measure_latency(runners, rounds, calls_per_block, warmup, threads)
    return variant_results({name: model_size(model) for name, model in models.items()}, run), run


def variant_results(figures: Dict[str, Tuple[float, float]], run: LatencyRun) -> Dict[str, VariantResult]:
    """A ``VariantResult`` per model of ``figures`` (name -> params M, GFLOPs; the first is the reference) with the
    latency of ``run``: median ms, and the ratio to the reference's baseline setting within each round with its
    interval."""
    results = {name: VariantResult(name, *size) for name, size in figures.items()}
    reference = next(iter(figures))
    measured = {key.split("|")[1] for key in run.per_round if key.startswith(reference + "|")}
    for key in run.per_round:
        name, setting = key.split("|")
        baseline = f"{reference}|{baseline_setting(setting, measured)}"
        ratio = run.ratio(key, baseline)
        results[name].latency_ms[setting] = round(run.ms(key), 2)
        results[name].latency_ratio[setting] = round(ratio.median, 3)
        results[name].latency_interval[setting] = (round(ratio.low, 3), round(ratio.high, 3))
    return results


def baseline_setting(setting: str, measured) -> str:
    """The reference's setting a ratio divides by: "onnx@SIZE" for a deployment runtime when measured."""
    runtime, size = setting.split("@")
    onnx = f"onnx@{size}"
    return onnx if runtime != "torch" and onnx in measured else setting

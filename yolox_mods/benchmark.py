"""Side-by-side measurement of exps: size, CPU latency (PyTorch and ONNX Runtime), training speed and mAP."""
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from tabulate import tabulate
from tqdm import tqdm

from .common.errors import DataError
from .common.io import atomic_write_text
from .common.seeds import versus
from .evaluators import load_matches, paired_bootstrap
from .export import export_onnx, onnx_session


@dataclass
class VariantResult:
    exp: str
    params_m: float
    gflops: float
    latency_ms: Dict[str, float] = field(default_factory=dict)     # "torch@416" -> median ms
    latency_ratio: Dict[str, float] = field(default_factory=dict)  # same keys, / stock's in this run
    train_img_per_s: Optional[float] = None
    map50: Optional[float] = None
    map50_95: Optional[float] = None
    per_class_ap50: Dict[str, float] = field(default_factory=dict)
    map50_runs: List[float] = field(default_factory=list)          # one per evaluated run (seed), when several
    # paired bootstrap 95% interval of this exp's mean mAP50 minus the reference exp's, on the same test images
    map50_interval: Optional[Tuple[float, float]] = None


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


def read_evaluations(paths: Sequence[str], exps: Sequence[str]) -> Dict[str, List[dict]]:
    """``tools/eval.py --json`` files (or a run's ``test_eval.json``) grouped by exp, each with its judged
    detections under ``"matched"`` when its ``.matches.npz`` is beside it. A file that is not one, names an exp
    outside ``exps``, or was scored on another split than the others raises ``DataError`` naming it (before any
    long measurement starts): numbers from different test images are never compared."""
    runs: Dict[str, List[dict]] = {}
    splits = {}
    for path in paths:
        try:
            with open(path) as file:
                record = json.load(file)
            exp = record["exp"]
            float(record["mAP50"]), float(record["mAP50_95"]), dict(record["per_class_AP50"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataError(f"{path}: not a tools/eval.py --json result ({error!r})") from error
        if exp not in exps:
            raise DataError(f"{path}: exp {exp!r} is not one of the benchmarked exps ({', '.join(exps)})")
        split = (record.get("split"), str(record.get("image_sets")), record.get("images"))
        splits.setdefault(split, path)
        if len(splits) > 1:
            first = next(iter(splits.items()))
            raise DataError(f"{path}: scored on {split}, but {first[1]} on {first[0]}; compare one split only")
        if record.get("matches"):
            record["matched"] = load_matches(os.path.join(os.path.dirname(path), record["matches"]))
        runs.setdefault(exp, []).append(record)
    return runs


def add_evaluations(results: Dict[str, VariantResult], runs: Dict[str, List[dict]], draws: int = 1000) -> None:
    """Fill mAP from evaluations of runs trained outside the benchmark (training every exp inside it takes hours
    on CPU): several runs of one exp (seeds) give the mean, and each run's mAP50 is kept in ``map50_runs``. When
    every run of an exp and of the reference (the first of ``results``) has its judged detections, the paired
    bootstrap interval of the difference goes in ``map50_interval``."""
    reference = next(iter(results))
    for exp, records in runs.items():
        result = results[exp]
        result.map50_runs = [record["mAP50"] / 100 for record in records]
        result.map50 = statistics.mean(result.map50_runs)
        result.map50_95 = statistics.mean(record["mAP50_95"] / 100 for record in records)
        result.per_class_ap50 = {name: statistics.mean(record["per_class_AP50"][name] / 100 for record in records)
                                 for name in records[0]["per_class_AP50"]}
    if reference not in runs or not all("matched" in r for r in runs[reference]):
        return
    for exp, records in runs.items():
        if exp != reference and all("matched" in r for r in records):
            interval = paired_bootstrap([r["matched"] for r in records], [r["matched"] for r in runs[reference]],
                                        draws=draws)
            results[exp].map50_interval = (interval.low, interval.high)


def write_report(results: Sequence[VariantResult], output_dir: str, header: str = "") -> str:
    """results/variants.{md,json,png}; returns the markdown table."""
    os.makedirs(output_dir, exist_ok=True)
    settings = list(results[0].latency_ms)
    reference = results[0]
    compare = reference.map50 is not None
    rows = []
    for r in results:
        row = [r.exp, f"{r.params_m:.3f}", f"{r.gflops:.3f}"]
        row += [f"{r.latency_ms[s]:.1f} ({r.latency_ratio[s]:.2f}x)" for s in settings]
        row += [f"{r.train_img_per_s:.1f}" if r.train_img_per_s else "-",
                format_map50(r),
                f"{100 * r.map50_95:.2f}" if r.map50_95 is not None else "-"]
        if compare:
            row.append(versus(r.map50_runs or [r.map50], reference.map50_runs or [reference.map50], 2, 100,
                              interval=r.map50_interval)
                       if r is not reference and r.map50 is not None else "-")
        rows.append(row)
    headers = ["exp", "params (M)", "GFLOPs@416"] + [f"{s} ms (x stock)" for s in settings] + [
        "train img/s", "mAP50", "mAP50:95"] + ([f"mAP50 vs {reference.exp}"] if compare else [])
    table = tabulate(rows, headers=headers, tablefmt="github")
    atomic_write_text(os.path.join(output_dir, "variants.md"), (header + "\n\n" if header else "") + table + "\n")
    atomic_write_text(os.path.join(output_dir, "variants.json"),
                      json.dumps([asdict(r) for r in results], indent=2))
    plot_pareto(results, os.path.join(output_dir, "variants.png"))
    return table


def format_map50(result: VariantResult) -> str:
    """"12.34", or with several runs "12.34 (11.90-12.78, n=2)": mean, range, count."""
    if result.map50 is None:
        return "-"
    if len(result.map50_runs) < 2:
        return f"{100 * result.map50:.2f}"
    low, high = 100 * min(result.map50_runs), 100 * max(result.map50_runs)
    return f"{100 * result.map50:.2f} ({low:.2f}-{high:.2f}, n={len(result.map50_runs)})"


def plot_pareto(results: Sequence[VariantResult], path: str) -> None:
    """mAP50 (range over runs as a bar) against GFLOPs and against latency, ONNX Runtime's if measured (params
    instead of mAP50 when nothing was trained)."""
    from .common.plotting import plt, save_figure

    trained = [r for r in results if r.map50 is not None]
    settings = list(results[0].latency_ms)
    setting = next((s for s in settings if s.startswith("onnx")), settings[0])
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for axis, x_of, label in ((axes[0], lambda r: r.gflops, "GFLOPs at 416"),
                              (axes[1], lambda r: r.latency_ms[setting], f"latency {setting} (ms)")):
        points = trained or results
        y_of = (lambda r: 100 * r.map50) if trained else (lambda r: r.params_m)
        for r in points:
            axis.scatter(x_of(r), y_of(r))
            if len(r.map50_runs) > 1:
                axis.vlines(x_of(r), 100 * min(r.map50_runs), 100 * max(r.map50_runs), alpha=0.5)
            axis.annotate(r.exp, (x_of(r), y_of(r)), textcoords="offset points", xytext=(4, 4), fontsize=8)
        axis.set_xlabel(label)
        axis.set_ylabel("mAP50 (bar: range over seeds)" if trained else "params (M)")
        axis.grid(alpha=0.3)
    figure.suptitle("yolox-lite variants (CPU, this machine)")
    save_figure(figure, path)


def plain_loop_img_per_s(exp, batch_size: int, iterations: int, num_workers: int = 2) -> float:
    """Training img/s of a bare loop around YOLOX's own pieces: upstream ``VOCDetection`` (JPEGs decoded in the
    loader workers, no cache), ``MosaicDetection``, ``YoloBatchSampler``, the exp's model and optimizer, and
    ``ModelEMA``, the one change being a collate function that works with today's torch. This is the baseline
    issue 5 measures the project's trainer against; every iteration counts, the first (loader start-up)
    included, as in ``LiteTrainer``'s ``train_stats.json``."""
    from yolox.data import (DataLoader, InfiniteSampler, MosaicDetection, TrainTransform, VOCDetection,
                            YoloBatchSampler, worker_init_reset_seed)
    from yolox.utils import ModelEMA

    from .data import detection_collate

    dataset = VOCDetection(exp.data_dir, exp.train_sets, exp.input_size,
                           TrainTransform(max_labels=50, flip_prob=exp.flip_prob, hsv_prob=exp.hsv_prob))
    dataset = MosaicDetection(dataset, mosaic=True, img_size=exp.input_size,
                              preproc=TrainTransform(max_labels=120, flip_prob=exp.flip_prob, hsv_prob=exp.hsv_prob),
                              degrees=exp.degrees, translate=exp.translate, mosaic_scale=exp.mosaic_scale,
                              mixup_scale=exp.mixup_scale, shear=exp.shear, enable_mixup=exp.enable_mixup,
                              mosaic_prob=exp.mosaic_prob, mixup_prob=exp.mixup_prob)
    batches = YoloBatchSampler(sampler=InfiniteSampler(len(dataset), seed=0), batch_size=batch_size,
                               drop_last=False, mosaic=True)
    # detection_collate: YOLOX 0.3.0's samples no longer go through today's default_collate
    loader = iter(DataLoader(dataset, batch_sampler=batches, num_workers=num_workers, collate_fn=detection_collate,
                             worker_init_fn=worker_init_reset_seed))
    model = exp.get_model().train()
    optimizer = exp.get_optimizer(batch_size)
    ema = ModelEMA(model, 0.9998)
    seconds = 0.0
    for _ in tqdm(range(iterations), desc="plain loop", leave=False):
        start = time.perf_counter()
        images, targets, _, _ = next(loader)
        loss = model(images.float(), targets.float())["total_loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema.update(model)
        seconds += time.perf_counter() - start
    return batch_size * iterations / seconds


def onnx_time_by_op(model: torch.nn.Module, size: int, runs: int = 20, warmup: int = 3) -> Dict[str, float]:
    """Where ONNX Runtime's CPU time goes: mean ms per inference by kind of node ("depthwise 7x7", "conv 1x1",
    "Concat", ...), from ORT's own profiler on its optimised graph (fused convs keep their kernel and groups)."""
    import onnx
    import onnxruntime

    with tempfile.TemporaryDirectory() as workdir:
        path, optimised = os.path.join(workdir, "model.onnx"), os.path.join(workdir, "optimised.onnx")
        export_onnx(model, path, (size, size))
        options = onnxruntime.SessionOptions()
        options.optimized_model_filepath = optimised
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(workdir, "profile")
        session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        feed = {"images": torch.randn(1, 3, size, size).numpy()}
        for _ in range(warmup + runs):
            session.run(None, feed)
        with open(session.end_profiling()) as profile:
            events = json.load(profile)
        kinds = {}
        for node in onnx.load(optimised).graph.node:
            attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if "Pool" in node.op_type:
                kinds[node.name] = "max-pool (SPP)"
            elif "kernel_shape" in attributes:
                k = attributes["kernel_shape"][0]
                kinds[node.name] = f"{'depthwise' if attributes.get('group', 1) > 1 else 'conv'} {k}x{k}"
            else:
                kinds[node.name] = node.op_type
    totals: Dict[str, float] = {}
    # ORT profiles the warm-up runs too; every node runs once per inference
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            node = event["name"][:-len("_kernel_time")]
            kind = kinds.get(node, event.get("args", {}).get("op_name", "other"))
            totals[kind] = totals.get(kind, 0.0) + event["dur"] / 1000
    return {kind: round(ms / (warmup + runs), 3) for kind, ms in sorted(totals.items(), key=lambda kv: -kv[1])}


def profile_table(profiles: Dict[str, Dict[str, float]]) -> str:
    """One row per kind of node, one column per exp (ms per inference), the total last."""
    names = list(profiles)
    kinds = sorted({k for p in profiles.values() for k in p},
                   key=lambda k: -max(p.get(k, 0) for p in profiles.values()))
    rows = [[kind] + [f"{profiles[n].get(kind, 0):.2f}" for n in names] for kind in kinds]
    rows.append(["total"] + [f"{sum(profiles[n].values()):.2f}" for n in names])
    return tabulate(rows, headers=["ONNX Runtime node kind (ms)"] + names, tablefmt="github", disable_numparse=True)

"""The variant table: mAP of runs evaluated elsewhere (mean over seeds, paired bootstrap against the reference),
results/variants.{md,json,png}."""
import json
import os
import statistics
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from tabulate import tabulate

from ..common.errors import DataError
from ..common.io import atomic_write_text
from ..common.provenance import RunSetting, describe_difference
from ..common.seeds import versus
from ..common.timing import RESOLVED
from ..core.curve import Curve, read_curve, run_curve_path
from ..evaluation import check_trained_act
from ..evaluators import EvalRecord, MatchedEvaluation, paired_bootstrap


@dataclass
class VariantResult:
    exp: str
    params_m: float
    gflops: float
    latency_ms: Dict[str, float] = field(default_factory=dict)     # "torch@416" -> median ms
    latency_ratio: Dict[str, float] = field(default_factory=dict)  # same keys, / stock's in this run
    # same keys: the bootstrap 95% interval of the ratio over the harness's rounds
    latency_interval: Dict[str, Tuple[float, float]] = field(default_factory=dict)
    train_img_per_s: Optional[float] = None
    map50: Optional[float] = None
    map50_95: Optional[float] = None
    per_class_ap50: Dict[str, float] = field(default_factory=dict)
    map50_runs: List[float] = field(default_factory=list)          # one per evaluated run (seed), when several
    map50_95_runs: List[float] = field(default_factory=list)
    # secondary: each run's val mAP50 at the epoch best_ckpt.pth would keep (best val mAP50:95), from the run's
    # curve.json; selected and scored on val, so it is never the headline
    best_val_map50_runs: List[float] = field(default_factory=list)
    best_val_epochs: List[int] = field(default_factory=list)
    # paired bootstrap 95% intervals of this exp's mean mAP50 minus another exp's (the reference's, and each
    # ablation baseline's), on the same test images, keyed by that other exp
    map50_intervals: Dict[str, Tuple[float, float]] = field(default_factory=dict)
    # exported models' scores by runtime ("onnx", "onnx-int8", ...): {"map50", "map50_95", "runs"} (means) and
    # {"vs_torch", "paired"} (versus_own_weights)
    deployed: Dict[str, Dict[str, float]] = field(default_factory=dict)
    scored_size: Optional[int] = None                               # input size the mAP was measured at
    # epochs that trained the scored weights: this row's runs' own, and before them their starting weights'
    # (a fine-tune's teacher, a pruned model's source); rows are compared at equal totals only
    epochs: Optional[int] = None
    prior_epochs: int = 0

    @property
    def total_epochs(self) -> Optional[int]:
        return None if self.epochs is None else self.epochs + self.prior_epochs


@dataclass
class ScoredRun:
    """One evaluation file read for the table: its record, its judged detections (when beside it) and, for a
    PyTorch evaluation in a run folder, the run's val curve (the best-epoch secondary column)."""
    path: str
    record: EvalRecord
    matched: Optional[MatchedEvaluation] = None
    curve: Optional[Curve] = None


def read_evaluations(specs: Sequence[str], exps: Mapping[str, str],
                     mixed_settings: bool = False) -> Dict[str, List[ScoredRun]]:
    """``EvalRecord`` files (``tools/eval.py --json``, a run's ``test_eval.json``) grouped by row: the exp each
    records, or ``LABEL`` for a ``LABEL=PATH`` spec (a ``--checkpoints`` row of the latency run, e.g. a pruned
    model built by its exp). ``exps`` maps each row to the activation it builds. ``DataError`` naming the file
    (before any long measurement starts) for one that is not a record, belongs to no row of ``exps``, was scored
    on another split than the others, records a model trained with another activation, or another number of
    epochs (its fine-tune's start included) than an earlier run of its row (a longer schedule is not another
    seed); and, unless ``mixed_settings``, for PyTorch runs trained with another protocol or loader setting than
    the first (the comparison would mix them in with the architecture) or that do not record theirs: numbers from
    different test images, models or settings are never compared."""
    runs: Dict[str, List[ScoredRun]] = {}
    splits = {}
    schedules: Dict[str, Tuple[int, str]] = {}  # row -> (total epochs, the first file that recorded them)
    first_setting: List[Tuple[RunSetting, str]] = []
    for spec in specs:
        label, separator, path = spec.partition("=")
        if not separator:
            label, path = None, spec
        record = EvalRecord.read(path)
        row = label or record.exp
        if row not in exps:
            raise DataError(f"{path}: {'row' if label else 'exp'} {row!r} is not one of the benchmarked rows "
                            f"({', '.join(exps)})")
        check_trained_act(path, record.act, row, exps[row])
        split = (record.split, str(record.image_sets), record.images)
        splits.setdefault(split, path)
        if len(splits) > 1:
            first = next(iter(splits.items()))
            raise DataError(f"{path}: scored on {split}, but {first[1]} on {first[0]}; compare one split only")
        if record.epoch is not None:
            epochs, first = schedules.setdefault(row, (record.total_epochs, path))
            if record.total_epochs != epochs:
                raise DataError(f"{path}: a model of {row} trained {record.total_epochs} epochs in all, but {first} "
                                f"{epochs}; benchmark each schedule on its own")
        if record.runtime == "torch" and not mixed_settings:
            check_one_setting(path, record, first_setting)
        run = ScoredRun(path, record, record.load_matched(path))
        curve_path = run_curve_path(os.path.dirname(path))
        if record.runtime == "torch" and os.path.exists(curve_path):
            run.curve = read_curve(curve_path)
        runs.setdefault(row, []).append(run)
    return runs


def check_one_setting(path: str, record: EvalRecord, first: List[Tuple[RunSetting, str]]) -> None:
    """``DataError`` when ``record``'s run does not record its setting, or was trained with another protocol or
    loader setting than the first run read (``first``: empty, or [(its setting, its file)])."""
    if record.training is None:
        raise DataError(f"{path}: does not record how its run was trained (protocol, loader workers); re-evaluate "
                        "a checkpoint that does, or pass --mixed-settings to compare anyway")
    if not first:
        first.append((record.training, path))
    setting, first_path = first[0]
    if setting.comparable() != record.training.comparable():
        raise DataError(f"{path}: trained with another setting than {first_path} "
                        f"({describe_difference(record.training, setting)}); compare runs of one setting, or pass "
                        "--mixed-settings to compare anyway")


def add_evaluations(results: Dict[str, VariantResult], runs: Dict[str, List[ScoredRun]],
                    ablations: Sequence["Ablation"] = (), draws: int = 1000) -> None:
    """Fill mAP from evaluations of runs trained outside the benchmark (training every exp inside it takes hours
    on CPU): several runs of one exp (seeds) give the mean, and each run's mAP50 is kept in ``map50_runs``;
    evaluations of exported models go to ``deployed`` under their runtime (mean over runs). When every run of an
    exp and of the reference (the first of ``results``), or of both exps of an ablation row, has its judged
    detections, the paired bootstrap interval of the difference goes in ``map50_intervals``. When every run has its
    curve, the best-epoch secondary scores go in ``best_val_map50_runs`` and ``best_val_epochs``."""
    reference = next(iter(results))
    torch_runs: Dict[str, List[ScoredRun]] = {}
    for exp, scored in runs.items():
        size = scored[0].record.test_size
        results[exp].scored_size = int(size[0]) if size else None
        exported = [run.record for run in scored if run.record.runtime != "torch"]
        in_torch = [run for run in scored if run.record.runtime == "torch"]
        for runtime in sorted({record.runtime for record in exported}):
            records = [record for record in exported if record.runtime == runtime]
            results[exp].deployed[runtime] = {
                "map50": statistics.mean(record.map50 / 100 for record in records),
                "map50_95": statistics.mean(record.map50_95 / 100 for record in records), "runs": len(records),
                **versus_own_weights(records, [run.record for run in in_torch])}
        if in_torch:
            torch_runs[exp] = in_torch
    for exp, scored in torch_runs.items():
        result, records = results[exp], [run.record for run in scored]
        result.map50_runs = [record.map50 / 100 for record in records]
        if records[0].epoch is not None:
            result.epochs, result.prior_epochs = records[0].epoch, records[0].prior_epochs or 0
        result.map50 = statistics.mean(result.map50_runs)
        result.map50_95_runs = [record.map50_95 / 100 for record in records]
        result.map50_95 = statistics.mean(result.map50_95_runs)
        result.per_class_ap50 = {name: statistics.mean(record.per_class_ap50[name] / 100 for record in records)
                                 for name in records[0].per_class_ap50}
        if all(run.curve is not None for run in scored):
            best = [run.curve.best() for run in scored]
            result.best_val_map50_runs = [point["mAP50"] / 100 for point in best]
            result.best_val_epochs = [int(point["epoch"]) for point in best]
    matched = {exp: [run.matched for run in scored] for exp, scored in torch_runs.items()
               if all(run.matched is not None for run in scored)}
    pairs = {(exp, reference) for exp in matched if exp != reference}
    pairs |= {(row.with_exp, row.without_exp) for row in ablations}
    for with_it, without_it in sorted(pairs):
        if with_it in matched and without_it in matched:
            interval = paired_bootstrap(matched[with_it], matched[without_it], draws=draws)
            results[with_it].map50_intervals[without_it] = (interval.low, interval.high)


def versus_own_weights(exported: Sequence[EvalRecord], torch_records: Sequence[EvalRecord]) -> dict:
    """How exported models score against PyTorch: ``{"vs_torch": mean difference of mAP50, "paired": bool}``.
    Paired when every exported result records weights (``weights_digest``) that a PyTorch result was scored with
    (the difference a runtime or INT8 makes to the same weights); else the difference of the two means, which
    also carries the difference between seeds when the two sets of runs are not the same. Empty without PyTorch
    results."""
    if not torch_records:
        return {}
    by_weights = {record.weights: record.map50 for record in torch_records if record.weights}
    if all(record.weights in by_weights for record in exported):
        differences = [record.map50 - by_weights[record.weights] for record in exported]
        return {"vs_torch": statistics.mean(differences) / 100, "paired": True}
    return {"vs_torch": (statistics.mean(record.map50 for record in exported)
                         - statistics.mean(record.map50 for record in torch_records)) / 100, "paired": False}


@dataclass(frozen=True)
class Ablation:
    """One row of the ablation table: ``with_exp`` minus ``without_exp`` isolates ``change``; ``claim`` is what a
    reference study reported for it (printed beside ours, never used in a verdict)."""
    change: str
    with_exp: str
    without_exp: str
    claim: str = "-"


def read_ablations(path: str) -> List[Ablation]:
    """The rows declared in ``path`` (YAML: a list of ``{change, with, without, claim}``, e.g. exps/ablations.yaml);
    ``DataError`` naming the file for anything else."""
    import yaml

    try:
        with open(path) as file:
            rows = yaml.safe_load(file)
        return [Ablation(row["change"], row["with"], row["without"], str(row.get("claim", "-"))) for row in rows]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise DataError(f"{path}: not a list of ablation rows with change, with, without ({error!r})") from None


def ablation_table(results: Dict[str, VariantResult], ablations: Sequence[Ablation]) -> str:
    """A row per ablation whose two exps both have mAP: the change's mAP50 and mAP50:95 differences (with exp
    minus without, in points) with the verdict of ``versus``: the seed spread, and for mAP50 also the paired
    bootstrap interval when ``add_evaluations`` had the judged detections of both; empty when no row applies."""
    rows = []
    for row in ablations:
        ours, theirs = results.get(row.with_exp), results.get(row.without_exp)
        if ours is None or theirs is None or ours.map50 is None or theirs.map50 is None:
            continue
        map50 = [r.map50_runs or [r.map50] for r in (ours, theirs)]
        map50_95 = [r.map50_95_runs or [r.map50_95] for r in (ours, theirs)]
        rows.append([row.change, f"{row.with_exp} - {row.without_exp}", f"{len(map50[0])} / {len(map50[1])}",
                     versus(*map50, 2, 100, interval=ours.map50_intervals.get(row.without_exp)),
                     versus(*map50_95, 2, 100), row.claim])
    if not rows:
        return ""
    return tabulate(rows, headers=["change", "exps (with - without)", "seeds", "mAP50 difference",
                                   "mAP50:95 difference", "reference study"], tablefmt="github",
                    disable_numparse=True)


def write_report(results: Sequence[VariantResult], output_dir: str, header: str = "",
                 ablations: Sequence[Ablation] = ()) -> str:
    """results/variants.{md,json,png}; returns the markdown table."""
    os.makedirs(output_dir, exist_ok=True)
    settings = list(results[0].latency_ms)
    reference = results[0]
    compare = reference.map50 is not None
    show_epochs = any(r.prior_epochs for r in results)
    rows = []
    for r in results:
        row = [r.exp, f"{r.params_m:.3f}", f"{r.gflops:.3f}"]
        row += [latency_cell(r, s) for s in settings]
        row += [f"{r.train_img_per_s:.1f}" if r.train_img_per_s else "-"]
        row += [format_epochs(r.epochs, r.prior_epochs)] if show_epochs else []
        row += [format_map(r.map50, r.map50_runs), format_map(r.map50_95, r.map50_95_runs), format_best_epoch(r)]
        if compare:
            row.append(versus_reference(r, reference) if r is not reference and r.map50 is not None else "-")
        rows.append(row)
    headers = ["exp", "params (M)", "GFLOPs@416"] + [f"{s} ms (x stock)" for s in settings] + [
        "train img/s"] + (["epochs"] if show_epochs else []) + [
        "mAP50", "mAP50:95", "val mAP50 at best val epoch (secondary)"] + (
        [f"mAP50 vs {reference.exp}"] if compare else [])
    table = tabulate(rows, headers=headers, tablefmt="github")
    atomic_write_text(os.path.join(output_dir, "variants.md"), (header + "\n\n" if header else "") + table + "\n")
    atomic_write_text(os.path.join(output_dir, "variants.json"),
                      json.dumps([asdict(r) for r in results], indent=2))
    plot_pareto(results, os.path.join(output_dir, "variants.png"))
    deployment = deployment_table(results)
    if deployment:
        atomic_write_text(os.path.join(output_dir, "deployment.md"),
                          (header + "\n\n" if header else "") + deployment + "\n")
        table += "\n\n" + deployment
    ablation = ablation_table({r.exp: r for r in results}, ablations)
    if ablation:
        atomic_write_text(os.path.join(output_dir, "ablation.md"),
                          (header + "\n\n" if header else "") + ablation + "\n")
        table += "\n\n" + ablation
    return table


def format_epochs(epochs: Optional[int], prior_epochs: Optional[int] = 0) -> str:
    """"45+45" for weights fine-tuned 45 epochs from weights trained 45, "90" for weights trained from fresh ones."""
    if epochs is None:
        return "-"
    return f"{prior_epochs}+{epochs}" if prior_epochs else str(epochs)


def versus_reference(result: VariantResult, reference: VariantResult) -> str:
    """``result``'s mAP50 against the reference's (``versus``), when both rows' weights trained equally many
    epochs in all; a row trained longer or shorter is not compared."""
    if None not in (result.total_epochs, reference.total_epochs) and result.total_epochs != reference.total_epochs:
        return f"- ({result.total_epochs} vs {reference.total_epochs} epochs)"
    return versus(result.map50_runs or [result.map50], reference.map50_runs or [reference.map50], 2, 100,
                  interval=result.map50_intervals.get(reference.exp))


def scores_by_runtime(result: VariantResult) -> Dict[str, Tuple[float, float, int]]:
    """runtime -> (mAP50, mAP50:95, runs): the PyTorch score under "torch", exported models' under theirs."""
    scores = {runtime: (d["map50"], d["map50_95"], d["runs"]) for runtime, d in result.deployed.items()}
    if result.map50 is not None:
        scores["torch"] = (result.map50, result.map50_95, max(1, len(result.map50_runs)))
    return scores


def deployment_table(results: Sequence[VariantResult]) -> str:
    """A row per exp and runtime with a score: mAP of that runtime's model next to its latency (and ratio) at
    every measured size; empty when no exported model was scored."""
    if not any(r.deployed for r in results):
        return ""
    sizes = sorted({int(s.split("@")[1]) for s in results[0].latency_ms}, reverse=True)
    rows = []
    for r in results:
        for runtime, (map50, map50_95, runs) in sorted(scores_by_runtime(r).items(), key=lambda item: item[0]):
            cells = [latency_cell(r, key) if key in r.latency_ms else "-"
                     for key in (f"{runtime}@{size}" for size in sizes)]
            rows.append([r.exp, runtime, runs, f"{100 * map50:.2f}", f"{100 * map50_95:.2f}",
                         versus_torch_cell(r, runtime)] + cells)
    headers = ["exp", "runtime", "runs", "mAP50", "mAP50:95", "mAP50 vs PyTorch"] + [
        f"ms @{size} (x stock ORT FP32)" for size in sizes]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def versus_torch_cell(result: VariantResult, runtime: str) -> str:
    """"+0.12" for the same weights in PyTorch; "+0.12 (means of 1 vs 3 runs)" when the runs cannot be paired."""
    deployed = result.deployed.get(runtime, {})
    if "vs_torch" not in deployed:
        return "-"
    cell = f"{100 * deployed['vs_torch']:+.2f}"
    if deployed["paired"]:
        return cell
    return f"{cell} (means of {deployed['runs']} vs {max(1, len(result.map50_runs))} runs)"


def latency_cell(result: VariantResult, setting: str) -> str:
    """"12.3 (0.91x [0.85, 0.97])": median ms, the median per-round ratio to the reference and its 95% interval,
    marked "not resolved" when the interval is wider than +-10% of the ratio (no verdict can rest on it)."""
    ms, ratio = result.latency_ms[setting], result.latency_ratio[setting]
    low, high = result.latency_interval.get(setting, (ratio, ratio))
    if low == high == ratio:
        return f"{ms:.1f} ({ratio:.2f}x)"
    resolved = low >= ratio * (1 - RESOLVED) and high <= ratio * (1 + RESOLVED)
    return f"{ms:.1f} ({ratio:.2f}x [{low:.2f}, {high:.2f}]{'' if resolved else ' not resolved'})"


def format_map(mean: Optional[float], runs: Sequence[float]) -> str:
    """"12.34", or with several runs "12.34 (11.90-12.78, n=2)": mean, range, count (fractions in, points out)."""
    if mean is None:
        return "-"
    if len(runs) < 2:
        return f"{100 * mean:.2f}"
    return f"{100 * mean:.2f} ({100 * min(runs):.2f}-{100 * max(runs):.2f}, n={len(runs)})"


def format_best_epoch(result: VariantResult) -> str:
    """"15.18 (epochs 42, 40)": the mean over runs of val mAP50 at each run's best val epoch, and those epochs."""
    if not result.best_val_map50_runs:
        return "-"
    label = "epochs" if len(result.best_val_epochs) > 1 else "epoch"
    epochs = ", ".join(str(epoch) for epoch in result.best_val_epochs)
    return f"{100 * statistics.mean(result.best_val_map50_runs):.2f} ({label} {epochs})"


def plot_pareto(results: Sequence[VariantResult], path: str) -> None:
    """mAP50 (range over runs as a bar) against GFLOPs, and against latency: ONNX Runtime's if measured (params
    instead of mAP50 when nothing was trained); with scored exported models, every exp/runtime/precision point at
    the largest measured size instead."""
    from ..common.plotting import plt, save_figure

    trained = [r for r in results if r.map50 is not None]
    settings = list(results[0].latency_ms)
    setting = next((s for s in settings if s.startswith("onnx")), settings[0])
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    # a colour per exp and a legend, not a label beside each point: variants of one design share GFLOPs and
    # their labels overlapped
    palette = list(plt.cm.tab10.colors) + list(plt.cm.Dark2.colors)
    colours = {r.exp: palette[index % len(palette)] for index, r in enumerate(results)}
    deployment = any(r.deployed for r in results)
    # a marker per exp too, so that two exps at one point both show; the deployment panel's markers are runtimes
    markers = {r.exp: "o" if deployment else "os^vDP"[index % 6] for index, r in enumerate(results)}
    if deployment:
        plot_deployment(results, axes[1], colours)
        panels = ((axes[0], lambda r: r.gflops, "GFLOPs at 416"),)
    else:
        panels = ((axes[0], lambda r: r.gflops, "GFLOPs at 416"),
                  (axes[1], lambda r: r.latency_ms[setting], f"latency {setting} (ms)"))
    points = trained or results
    for axis, x_of, label in panels:
        y_of = (lambda r: 100 * r.map50) if trained else (lambda r: r.params_m)
        for r in points:
            axis.scatter(x_of(r), y_of(r), label=r.exp, color=colours[r.exp], marker=markers[r.exp], alpha=0.8)
            if len(r.map50_runs) > 1:
                axis.vlines(x_of(r), 100 * min(r.map50_runs), 100 * max(r.map50_runs), alpha=0.5,
                            color=colours[r.exp])
        axis.set_xlabel(label)
        axis.set_ylabel("mAP50 (bar: range over seeds)" if trained else "params (M)")
        axis.grid(alpha=0.3)
    if not deployment:  # the deployment panel's legend names the exps otherwise
        axes[0].legend(fontsize=7, loc="best")
    figure.suptitle("yolox-lite variants (CPU, this machine)")
    save_figure(figure, path)


def plot_deployment(results: Sequence[VariantResult], axis, colours: Mapping[str, object]) -> None:
    """mAP50 against measured latency, one point per exp (colour from ``colours``) and runtime (marker), at the
    size the mAP was measured at when its latency was measured too, else at the largest size."""
    from matplotlib.lines import Line2D

    sizes = {int(s.split("@")[1]) for s in results[0].latency_ms}
    scored = {r.scored_size for r in results if r.deployed} & sizes
    size = scored.pop() if len(scored) == 1 else max(sizes)
    markers = {"torch": "o", "onnx": "s", "onnx-int8": "P", "openvino": "D", "openvino-int8": "X"}
    plotted_runtimes = set()
    for r in results:
        for runtime, (map50, _, _) in scores_by_runtime(r).items():
            key = f"{runtime}@{size}"
            if key in r.latency_ms:
                axis.scatter(r.latency_ms[key], 100 * map50, marker=markers.get(runtime, "o"), color=colours[r.exp])
                plotted_runtimes.add(runtime)
    axis.set_xlabel(f"latency at {size}x{size}, batch 1 (ms)")
    axis.set_ylabel("mAP50 of the model in that runtime")
    axis.grid(alpha=0.3)
    # one entry per exp (colour) and per runtime (marker), not per point, beside the axes
    handles = [Line2D([], [], marker="o", linestyle="", color=colours[r.exp], label=r.exp)
               for r in results if scores_by_runtime(r)]
    handles += [Line2D([], [], marker=markers[runtime], linestyle="", color="grey", label=runtime)
                for runtime in markers if runtime in plotted_runtimes]
    axis.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def combine_runs(run_dirs: Sequence[str]) -> str:
    """One row per exp and latency setting of several benchmark runs (their ``variants.json`` and
    ``latency.json``): each run's ratio to the reference with its interval, whether every run resolved it to
    +-10%, and whether the runs agree (their intervals overlap). A ratio a recommendation rests on must be
    resolved in every run and the runs must agree; the header names each run's machine and load."""
    runs = []
    for run_dir in run_dirs:
        try:
            with open(os.path.join(run_dir, "variants.json")) as file:
                variants = {row["exp"]: row for row in json.load(file)}
            with open(os.path.join(run_dir, "latency.json")) as file:
                latency = json.load(file)
        except (OSError, ValueError) as error:
            raise DataError(f"{run_dir}: not a tools/benchmark.py output folder ({error})") from None
        runs.append((run_dir, variants, latency))
    rows = []
    first = runs[0][1]
    for exp, row in first.items():
        for setting in row["latency_ratio"]:
            cells, intervals = [], []
            for _, variants, _ in runs:
                other = variants.get(exp, {})
                if setting not in other.get("latency_ratio", {}):
                    cells.append("-")
                    continue
                ratio = other["latency_ratio"][setting]
                low, high = other.get("latency_interval", {}).get(setting, (ratio, ratio))
                intervals.append((ratio, low, high))
                cells.append(f"{other['latency_ms'][setting]:.1f} ms, {ratio:.2f}x [{low:.2f}, {high:.2f}]")
            if len(intervals) < len(runs) or (low, high) == (ratio, ratio) == (1.0, 1.0):
                verdict = "reference" if intervals and intervals[0][1:] == (1.0, 1.0) else "-"
            else:
                resolved = all(low >= ratio * (1 - RESOLVED) and high <= ratio * (1 + RESOLVED)
                               for ratio, low, high in intervals)
                agree = max(low for _, low, _ in intervals) <= min(high for _, _, high in intervals)
                verdict = ("resolved, runs agree" if resolved and agree else
                           "runs disagree" if not agree else "not resolved")
            rows.append([exp, setting, *cells, verdict])
    headers = ["exp", "setting", *(f"run {index + 1}" for index in range(len(runs))), "verdict"]
    header = "\n".join(f"- run {index + 1}: {run_dir}, {latency['machine']['cpu']} "
                       f"({', '.join(latency['machine']['flags'])}), busy rounds {latency['busy_rounds'] or 'none'}"
                       for index, (run_dir, _, latency) in enumerate(runs))
    return header + "\n\n" + tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)

"""``python -m classification.seeds RUN [RUN ...] --output DIR``: one compression recipe run with several seeds (one
``classification.compress --seed N --output RUN`` each), summarised per stage: MACs, params, non-zero params,
bytes on disk, macro F1 on val and test per seed with mean, sample std and spread, training minutes, a verdict
against a reference stage (a difference only beyond both seed spreads), and batch-1 CPU latency of the stage's
model in PyTorch and ONNX Runtime (2 threads; the first run's checkpoint: the seeds share the architecture up to
the channels pruning picks, whose MAC range the table shows). Writes ``DIR/seeds.{md,json,png}``.
"""
import functools
import json
import os
import tempfile
from typing import List, Optional, Sequence

import torch

from yolox_mods.common import ConfigError, seed_stats, versus
from yolox_mods.common.onnx import onnx_session
from yolox_mods.common.timing import LatencyRun, measure_latency

from ..deployment import export_classifier
from ..models import load_model


def load_runs(runs: Sequence[str]) -> List[List[dict]]:
    """Each run's ``results.json`` rows; a missing or unreadable file is one error naming it."""
    repeated = sorted({run for run in runs if runs.count(run) > 1})
    if repeated:
        raise ConfigError(f"runs given more than once: {', '.join(repeated)} (one output folder per seed)")
    loaded = []
    for run in runs:
        path = os.path.join(run, "results.json")
        try:
            with open(path) as file:
                loaded.append(json.load(file))
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigError(f"{path}: cannot read a compression run's results ({error})") from None
    return loaded


def summarise(runs: Sequence[str], rows_per_run: Sequence[List[dict]]) -> List[dict]:
    """Per stage (in the first run's order), over the runs that have it: MACs, params and non-zero params (their
    mean: pruning picks channels from each seed's weights, so a pruned architecture can differ slightly between
    seeds, and ``macs_range`` then gives min and max), F1 lists and their statistics, mean minutes."""
    summary = []
    for stage in dict.fromkeys(row["stage"] for rows in rows_per_run for row in rows):
        found = [(run, next(r for r in rows if r["stage"] == stage)) for run, rows in zip(runs, rows_per_run)
                 if any(r["stage"] == stage for r in rows)]
        first = found[0][1]

        def mean(key, found=found):
            return round(sum(r[key] for _, r in found) / len(found))

        macs = [r["macs"] for _, r in found]
        entry = {"stage": stage, "kind": first["kind"], "runs": [run for run, _ in found], "macs": mean("macs"),
                 "macs_range": [min(macs), max(macs)] if len(set(macs)) > 1 else None, "params": mean("params"),
                 "nonzero_params": mean("nonzero_params"), "bytes": first.get("bytes"),
                 "minutes": round(sum(r["seconds"] for _, r in found) / 60 / len(found), 1)}
        for split, key in (("val", "f1"), ("test", "test_f1")):
            values = [r[key] for _, r in found if r.get(key) is not None]
            entry[f"{split}_f1"] = values
            if values:
                stats = seed_stats(values)
                entry[f"{split}_mean"] = round(stats["mean"], 4)
                entry[f"{split}_std"] = None if stats["std"] is None else round(stats["std"], 4)
                entry[f"{split}_spread"] = round(stats["spread"], 4)
        summary.append(entry)
    return summary


def add_latency(summary: List[dict], runs: int, reference: Optional[str] = None) -> Optional[LatencyRun]:
    """``torch_ms`` and ``onnx_ms`` of every stage's checkpoint in one harness run (``measure_latency``: 7 rounds
    of warm blocks of ``runs`` / 7 batch-1 calls, 2 threads, order rotated), and with a ``reference`` stage each
    one's ratio to it within each round with its 95% interval (``torch_vs_reference``, ``onnx_vs_reference``).
    Returns the run (None when no stage kept a checkpoint)."""
    runners = {}
    with tempfile.TemporaryDirectory() as work:
        for entry in summary:
            ckpt = os.path.join(entry["runs"][0], entry["stage"] + ".pth")
            if not os.path.exists(ckpt):  # a sweep row (input_size@N) keeps no checkpoint
                continue
            model, size, _ = load_model(ckpt)
            path = os.path.join(work, entry["stage"] + ".onnx")
            export_classifier(model, size, path)
            session = onnx_session(path, threads=2, spinning=False)
            image = torch.randn(1, 3, size, size)
            runners[(entry["stage"], "torch_ms")] = lambda model=model, image=image: model(image)
            runners[(entry["stage"], "onnx_ms")] = functools.partial(session.run, None, {"images": image.numpy()})
        if not runners:
            return None
        with torch.no_grad():
            run = measure_latency({f"{stage}|{key}": call for (stage, key), call in runners.items()},
                                  calls_per_block=max(1, runs // 7))
    for entry in summary:
        for key in ("torch_ms", "onnx_ms"):
            name = f"{entry['stage']}|{key}"
            if name in run.per_round:
                entry[key] = round(run.ms(name), 3)
                if reference and f"{reference}|{key}" in run.per_round:
                    ratio = run.ratio(name, f"{reference}|{key}")
                    entry[key.replace("_ms", "_vs_reference")] = ratio.describe()
    return run


def only_stages(summary: List[dict], stages: Optional[Sequence[str]]) -> List[dict]:
    """The entries of ``stages`` in that order (all when None); a stage in none of the runs is an error."""
    if stages is None:
        return summary
    by_name = {entry["stage"]: entry for entry in summary}
    missing = [stage for stage in stages if stage not in by_name]
    if missing:
        raise ConfigError(f"--stages: {', '.join(missing)} in none of the runs (they have: {', '.join(by_name)})")
    return [by_name[stage] for stage in stages]


def reference_entry(summary: List[dict], reference: Optional[str]) -> Optional[dict]:
    if reference is None:
        return None
    found = next((s for s in summary if s["stage"] == reference), None)
    if found is None:
        raise ConfigError(f"reference stage {reference!r} is in none of the runs (--reference '' for none)")
    return found


def macs_cell(entry: dict) -> str:
    low_high = entry.get("macs_range")
    return f"{entry['macs']:,}" + (f" ({low_high[0]:,}-{low_high[1]:,})" if low_high else "")


def summary_table(summary: List[dict], reference: Optional[str]) -> str:
    ref = reference_entry(summary, reference)
    lines = [f"| stage | kind | MACs | params | non-zero | bytes | F1 val mean (spread) | F1 test per seed | "
             f"mean | std | spread | vs {reference or '-'} (test) | ms torch | ms ORT | ORT vs {reference or '-'} | "
             "minutes |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        test = s["test_f1"]
        verdict = versus(test, ref["test_f1"]) if ref is not None and s is not ref and test else "-"
        std = "-" if s.get("test_std") is None else f"{s['test_std']:.4f}"
        lines.append(
            f"| {s['stage']} | {s['kind']} | {macs_cell(s)} | {s['params']:,} | {s['nonzero_params']:,} | "
            f"{s['bytes'] or 0:,} | {s.get('val_mean', float('nan')):.4f} ({s.get('val_spread', float('nan')):.4f}) | "
            f"{', '.join(f'{v:.4f}' for v in test)} | {s.get('test_mean', float('nan')):.4f} | {std} | "
            f"{s.get('test_spread', float('nan')):.4f} | {verdict} | {s.get('torch_ms', '-')} | "
            f"{s.get('onnx_ms', '-')} | {s.get('onnx_vs_reference', '-')} | {s['minutes']} |")
    return "\n".join(lines) + "\n"


def plot_summary(summary: List[dict], path: str) -> None:
    """Test F1 (every seed, and mean +- std) against MACs and against non-zero parameters (where unstructured
    pruning shows: it leaves MACs unchanged), one labelled point per stage."""
    from yolox_mods.common.plotting import plt, save_figure

    figure, axes = plt.subplots(1, 2, figsize=(13, 5))
    for axis, key, label in ((axes[0], "macs", "MACs (millions, thop)"),
                             (axes[1], "nonzero_params", "non-zero parameters (millions)")):
        for s in summary:
            if not s["test_f1"]:
                continue
            x = s[key] / 1e6
            axis.scatter([x] * len(s["test_f1"]), s["test_f1"], alpha=0.35, s=12)
            axis.errorbar(x, s["test_mean"], yerr=s.get("test_std") or 0, fmt="o", capsize=4)
            axis.annotate(s["stage"], (x, s["test_mean"]), fontsize=7, xytext=(4, 3), textcoords="offset points")
        axis.set_xlabel(label)
        axis.set_ylabel("macro F1 (test)")
        axis.grid(alpha=0.3)
    figure.suptitle(f"compression stages over seeds ({max(len(s['runs']) for s in summary)} runs): mean +- std")
    save_figure(figure, path)

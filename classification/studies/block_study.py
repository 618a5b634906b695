"""``python -m classification.block_study``: the shared blocks in ShuffleNetV1's depthwise slot at matched MACs.

Every block (vanilla depthwise k3/k5/k7, MixConv {3,5,7,9}, Ghost module) replaces the middle conv of every
ShuffleNet unit; the bottleneck (mid) channels of each block are then scaled by one factor, in steps that keep
group convs and Ghost halves whole, until the model's thop MACs are the closest reachable to the k3 model's
(within ``--tolerance``, 3% by default). Each block is trained with the same settings for every seed; results
(macro F1 mean, sample std and spread per block) go to ``<output>/blocks.{md,json,png}``, and a rerun skips
finished (block, seed) runs and resumes an interrupted one from its last epoch.
"""
import json
import os
import time
from typing import Dict, List, Sequence, Tuple

import numpy as np
from loguru import logger

from yolox_mods.common import ConfigError, atomic_write_text, seed_stats, versus

from ..data import load_data
from ..metrics import count_macs, count_params
from ..models import ShuffleNetV1
from ..train import TrainConfig, evaluate, fit

BLOCKS: Dict[str, Tuple[str, object]] = {
    "dw_k3": ("dw", 3),
    "dw_k5": ("dw", 5),
    "dw_k7": ("dw", 7),
    "mix_3579": ("mix", (3, 5, 7, 9)),
    # primary 1x1 conv to half the channels, cheap 3x3 depthwise conv for the other half
    "ghost": ("ghost", 1),
}


def mid_channel_step(block: Tuple[str, object], groups: int) -> int:
    """Mid channels must split into ``groups`` for the group pointwise convs (and in halves for Ghost)."""
    return groups * 2 if block[0] == "ghost" else groups


def match_mid_channels(block: Tuple[str, object], target_macs: int, input_size: int, num_classes: int,
                       groups: int = 3, width: float = 0.25, tolerance: float = 0.03) -> Tuple[List[int], int]:
    """Mid channels (the paper's C/4 per stage, times one common factor in 0.4-1.6) whose model is closest to
    ``target_macs``; raises ``ValueError`` if even the closest is off by more than ``tolerance``. MACs grow with
    the factor, so a bisection over the candidates counts a handful of models instead of all of them."""
    step = mid_channel_step(block, groups)
    base = [c // 4 for c in ShuffleNetV1(num_classes, groups, width).config["stage_channels"]]
    candidates = list(dict.fromkeys(tuple(max(step, int(round(c * factor / step)) * step) for c in base)
                                    for factor in np.arange(0.4, 1.6, 0.01)))
    counted: Dict[Tuple[int, ...], int] = {}

    def macs_of(mids: Tuple[int, ...]) -> int:
        if mids not in counted:
            model = ShuffleNetV1(num_classes, groups, width, depthwise=block, mid_channels=mids)
            counted[mids] = count_macs(model, input_size)
        return counted[mids]

    low, high = 0, len(candidates) - 1  # the first candidate with at least target_macs, or the last
    while low < high:
        middle = (low + high) // 2
        if macs_of(candidates[middle]) < target_macs:
            low = middle + 1
        else:
            high = middle
    mids, macs = min(((m, macs_of(m)) for m in candidates[max(low - 1, 0):low + 1]),
                     key=lambda item: abs(item[1] - target_macs))
    if abs(macs - target_macs) > tolerance * target_macs:
        raise ConfigError(f"{block}: closest model has {macs:,} MACs, more than {tolerance:.0%} from {target_macs:,}")
    return list(mids), macs


def summarise(rows: List[dict]) -> List[dict]:
    """Per block: MACs, params, F1 of every seed, mean, sample std, spread (max - min)."""
    summary = []
    for block in dict.fromkeys(r["block"] for r in rows):
        runs = [r for r in rows if r["block"] == block]
        f1 = [r["f1"] for r in runs]
        stats = seed_stats(f1)
        summary.append({"block": block, "mid_channels": runs[0]["mid_channels"], "macs": runs[0]["macs"],
                        "params": runs[0]["params"], "seeds": [r["seed"] for r in runs], "f1": f1,
                        "f1_mean": round(stats["mean"], 4),
                        "f1_std": None if stats["std"] is None else round(stats["std"], 4),
                        "f1_spread": round(stats["spread"], 4)})
    return summary


def summary_table(summary: List[dict], reference: str = "dw_k3") -> str:
    ref = next((s for s in summary if s["block"] == reference), None)
    lines = ["| block | mid channels | MACs | params | macro F1 per seed | mean | std | spread | vs dw_k3 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        verdict = versus(s["f1"], ref["f1"]) if ref is not None and s is not ref else "-"
        std = "-" if s["f1_std"] is None else f"{s['f1_std']:.4f}"
        lines.append(f"| {s['block']} | {s['mid_channels']} | {s['macs']:,} | {s['params']:,} | "
                     f"{', '.join(f'{v:.4f}' for v in s['f1'])} | {s['f1_mean']:.4f} | {std} | "
                     f"{s['f1_spread']:.4f} | {verdict} |")
    return "\n".join(lines) + "\n"


def plot_summary(summary: List[dict], path: str, scored_on: str = "test") -> None:
    from yolox_mods.common.plotting import plt, save_figure

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for index, s in enumerate(summary):
        axis.scatter([index] * len(s["f1"]), s["f1"], alpha=0.5)
        axis.errorbar(index, s["f1_mean"], yerr=s["f1_std"] or 0, fmt="k_", capsize=6, markersize=18)
    axis.set_xticks(range(len(summary)), [f"{s['block']}\n{s['macs'] / 1e6:.3f}M" for s in summary])
    axis.set_ylabel(f"macro F1 ({scored_on})")
    axis.grid(alpha=0.3, axis="y")
    axis.set_title("ShuffleNetV1 depthwise slot at matched MACs: seeds and mean +- std")
    save_figure(figure, path)


def run_study(data: str, output: str, blocks: Sequence[str], seeds: Sequence[int], config: TrainConfig,
              input_size: int, tolerance: float = 0.03, strict: bool = True) -> List[dict]:
    os.makedirs(output, exist_ok=True)
    train, val, test = load_data(data, strict=strict)
    # a comparison is reported on test; val only when the data has no test split (and then the summary says so)
    scored, scored_on = (test, "test") if test is not None else (val, "val")
    num_classes = len(train.classes)
    target = count_macs(ShuffleNetV1(num_classes, depthwise=BLOCKS["dw_k3"]), input_size)
    settings = {"data": os.path.abspath(data), "input_size": input_size, "scored_on": scored_on, **config.__dict__}
    settings.pop("seed")
    rows_path = os.path.join(output, "runs.json")
    rows = json.load(open(rows_path)) if os.path.exists(rows_path) else []
    # runs made with other settings are kept on file but never mixed into this summary
    current = [r for r in rows if r.get("settings") == settings]
    for block in blocks:
        mids, macs = match_mid_channels(BLOCKS[block], target, input_size, num_classes, tolerance=tolerance)
        logger.info("{}: mid channels {}, {:,} MACs ({:+.2%} vs dw_k3)", block, mids, macs, macs / target - 1)
        for seed in seeds:
            if any(r["block"] == block and r["seed"] == seed for r in current):
                logger.info("{} seed {}: done, skipped", block, seed)
                continue
            started = time.time()
            model = ShuffleNetV1(num_classes, depthwise=BLOCKS[block], mid_channels=mids)
            run_config = TrainConfig(**{**config.__dict__, "seed": seed})
            checkpoint = os.path.join(output, f"{block}_seed{seed}.epoch.pth")
            fit(model, train, input_size, run_config, checkpoint_path=checkpoint, desc=f"{block} seed {seed}")
            metrics = evaluate(model, scored, input_size)
            row = {"block": block, "seed": seed, "mid_channels": mids, "macs": macs, "params": count_params(model),
                   "f1": round(metrics["f1"], 4), "accuracy": round(metrics["accuracy"], 4),
                   "seconds": round(time.time() - started, 1), "settings": settings}
            rows.append(row)
            current.append(row)
            atomic_write_text(rows_path, json.dumps(rows, indent=2))
            os.remove(checkpoint)
            logger.info("{} seed {}: macro F1 {:.4f} ({:.0f} s)", block, seed, metrics["f1"], time.time() - started)
    summary = summarise([r for r in current if r["block"] in blocks and r["seed"] in seeds])
    atomic_write_text(os.path.join(output, "blocks.json"), json.dumps(summary, indent=2))
    header = (f"Input {input_size}, {config.epochs} epochs, seeds {list(seeds)}, target {target:,} MACs "
              f"(dw_k3), tolerance {tolerance:.0%}; macro F1 on {scored_on}.\n\n")
    atomic_write_text(os.path.join(output, "blocks.md"), header + summary_table(summary))
    plot_summary(summary, os.path.join(output, "blocks.png"), scored_on)
    return summary

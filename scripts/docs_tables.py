"""Write the tables of README.md and the docs from the artefacts: ``weights/manifest.json`` (seeds, test mAP of the
published runs), ``results/variants.json`` + ``results/latency.json`` (params, GFLOPs, the harness's latency
ratios and the CPU they were measured on), the evaluation records and tables under ``results/`` that the studies'
commands wrote, and ``results/compress/*.json`` (the classifier's studies, ``python -m classification.seeds``).

A table lives between ``<!-- table:NAME -->`` and ``<!-- /table:NAME -->`` in a page; ``python scripts/docs_tables.py``
rewrites every such region in place, ``--check`` only says which are stale (tests/test_docs.py runs it).
"""
import argparse
import ast
import glob
import json
import os
import re
import statistics
import sys
from typing import Callable, Dict, List

from classification.studies.seeds import macs_cell
from yolox_mods.benchmark.report import format_epochs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md", "docs/studies/deployment.md", "docs/studies/variants.md", "docs/studies/schedule.md",
         "docs/studies/classifier.md", "docs/studies/blocks.md", "docs/pruning.md", "docs/studies/pruning.md"]
REGION = re.compile(r"(<!-- table:(?P<name>[a-z0-9_]+) -->\n)(?P<body>.*?)(<!-- /table:(?P=name) -->)", re.S)
# the rows of the model table, in its order: published names (weights/NAME_sSEED.pth); each named file's exp's first
# docstring line says what it changes
MODEL_ROWS = ["yolox_voc_nano", "dwconv_nano", "mdconv_nano", "dark2fpn_nano", "ghost_nano", "final_nano",
              "final_k5_nano", "yolox_voc_nano_lrelu", "final_k5_nano_lrelu", "final_k5_nano_lrelu_p35_kd"]
LATENCY_SETTING = "onnx@256"
# what each pruned row of the model table is (no exp file describes it); a published name is pruned when its manifest
# entries say so, and then its params, GFLOPs and latency come from the pruning study's latency run, its evaluation
# records from the study's runs folder
PRUNING_STUDY = os.path.join("results", "pruning", "study")
PRUNED_ROWS = {"final_k5_nano_lrelu_p35_kd": "`final_k5_nano_lrelu` pruned to 0.35x of stock's GFLOPs (L2 magnitude, "
                                             "widths in multiples of 8), fine-tuned distilled from its unpruned "
                                             "weights"}


def load(path: str):
    with open(os.path.join(ROOT, path)) as file:
        return json.load(file)


def exp_summary(exp: str) -> str:
    """The first line of the exp file's docstring."""
    with open(os.path.join(ROOT, "exps", exp + ".py")) as file:
        doc = ast.get_docstring(ast.parse(file.read())) or ""
    return doc.splitlines()[0].rstrip(".") if doc else ""


def protocol_setting(entry: dict) -> bool:
    """Whether the published run of ``entry`` was trained with the quick protocol's loader setting (its evaluation
    record under results/quick/, or the pruning study's runs for a pruned file, says how it was trained)."""
    runs = os.path.join(PRUNING_STUDY, "runs") if entry.get("pruned") else os.path.join("results", "quick")
    record = load(os.path.join(runs, entry["file"][:-len(".pth")], "test_eval.json"))
    return record["training"]["loader_workers"] == 0


def published_name(entry: dict) -> str:
    """The name a file was published under, without its seed: ``final_nano_2x_s0.pth`` -> ``final_nano_2x``."""
    return re.sub(rf"_s{entry['seed']}\.pth$", "", entry["file"])


def model_table() -> str:
    """Per published name: its exp, what it changes, params, GFLOPs, epochs, test mAP50 (mean, range, seeds), ONNX
    Runtime FP32 latency at 256 against stock's from the last variant table (a pruned row's from the pruning
    study's, marked), weights files."""
    manifest = load("weights/manifest.json")
    variants = {row["exp"]: row for row in load("results/variants.json")}
    machine = load("results/latency.json")["machine"]
    pruned_variants, pruned_machine = None, None  # read when a row is pruned
    rows = ["| exp | what it changes | params (M) | GFLOPs | epochs | test mAP50 (seeds) | mAP50:95 | "
            "latency x stock (ONNX Runtime FP32, 256) | weights |", "|---|---|---|---|---|---|---|---|---|"]
    left_out = []
    for name in MODEL_ROWS:
        entries = sorted((e for e in manifest if published_name(e) == name), key=lambda e: e["seed"])
        (exp,) = {e["exp"] for e in entries}
        (epochs,) = {format_epochs(e["epochs"], e.get("prior_epochs")) for e in entries}
        # one table, one setting: runs trained (or fine-tuned from weights trained) with another loader setting
        # than the protocol's are left out and named
        left_out += [e["file"] for e in entries if not protocol_setting(e)]
        entries = [e for e in entries if protocol_setting(e)]
        map50 = [e["test"]["mAP50"] for e in entries]
        map50_95 = [e["test"]["mAP50_95"] for e in entries]
        seeds = ",".join(str(e["seed"]) for e in entries)
        score = (f"{statistics.mean(map50):.2f} ({min(map50):.2f}-{max(map50):.2f}, seeds {seeds})" if len(map50) > 1
                 else f"{map50[0]:.2f} (seed {seeds})")
        pruned = any(e.get("pruned") for e in entries)
        if pruned and pruned_variants is None:
            pruned_variants = {row["exp"]: row for row in load(os.path.join(PRUNING_STUDY, "variants.json"))}
            pruned_machine = load(os.path.join(PRUNING_STUDY, "latency.json"))["machine"]
        row = pruned_variants[name] if pruned else variants[exp]
        ratio = row["latency_ratio"].get(LATENCY_SETTING)
        low, high = row.get("latency_interval", {}).get(LATENCY_SETTING, (ratio, ratio))
        latency = "-" if ratio is None else f"{ratio:.2f}x" + ("" if low == high else f" [{low:.2f}, {high:.2f}]")
        files = f"`{entries[0]['file']}`" if len(entries) == 1 else f"`{name}_s{{{seeds}}}.pth`"
        model, summary = ((f"`{name}` (`-n {exp}`)", PRUNED_ROWS[name]) if pruned else (f"`{exp}`", exp_summary(exp)))
        rows.append(f"| {model} | {summary} | {row['params_m']:.3f} | {row['gflops']:.3f} | {epochs} | "
                    f"{score} | {statistics.mean(map50_95):.2f} | {latency}{' *' if pruned else ''} | {files} |")
    cpu = cpu_name(machine)
    note = ((f"\nLeft out, trained with another loader setting than the protocol's (being retrained): "
             f"{', '.join(f'`{name}`' for name in left_out)}." if left_out else "")
            + f"\nLatency: batch 1, CPU {cpu}, from `results/variants.md` (the latency harness: median over rounds of "
            "the per-round ratio to stock, 95% interval). mAP: the quick protocol's 2,000 test images, the last "
            "epoch's EMA weights (`weights/manifest.json`); epochs \"45+10\": 10 epochs fine-tuned from weights "
            "trained 45.")
    if pruned_machine:
        note += (f"\n\n\\* Pruned: latency from the [pruning study](docs/studies/pruning.md)'s run (CPU "
                 f"{cpu_name(pruned_machine)}); epochs: its source's + the fine-tune's.")
    return "\n".join(rows) + "\n" + note + "\n"


def cpu_name(machine: dict) -> str:
    return f"{machine['cpu']} ({', '.join(machine['flags'])}), {machine['cores']} cores"


def deployment_runs() -> str:
    """The two latency runs of the deployment study side by side (``tools/benchmark.py report --runs``)."""
    with open(os.path.join(ROOT, "results", "deployment", "harness", "runs.md")) as file:
        return file.read()


# the evaluation records of the deployment study: every runtime and precision of the activation study's models
DEPLOYMENT_RECORDS = ["results/deployment/activation_ft20", "results/deployment/harness/bf16"]
RUNTIME_ORDER = ["torch", "onnx", "onnx-int8", "openvino", "openvino-bf16", "openvino-int8"]


def deployment_accuracy() -> str:
    """Test mAP50 of each exp in each runtime, mean (range) over its evaluated seeds, from the evaluation records."""
    from yolox_mods.evaluators import EvalRecord

    scores: Dict[tuple, List[float]] = {}
    for folder in DEPLOYMENT_RECORDS:
        for path in sorted(glob.glob(os.path.join(ROOT, folder, "*.json"))):
            if "per_class_AP50" not in load(path):
                continue
            record = EvalRecord.read(path)
            scores.setdefault((record.exp, record.runtime), []).append(record.map50)
    rows = ["| exp | runtime | evaluations | test mAP50 mean (range) |", "|---|---|---|---|"]
    for (exp, runtime), values in sorted(scores.items(), key=lambda item: (item[0][0],
                                                                         RUNTIME_ORDER.index(item[0][1]))):
        spread = f" ({min(values):.2f}-{max(values):.2f})" if len(values) > 1 else ""
        rows.append(f"| {exp} | {runtime} | {len(values)} | {statistics.mean(values):.2f}{spread} |")
    return "\n".join(rows) + f"\n\nFrom the evaluation records in {', '.join(f'`{f}/`' for f in DEPLOYMENT_RECORDS)}" \
        " (one per seed's weights; INT8 models calibrated on training images).\n"


def results_file(*path: str) -> Callable[[], str]:
    """A table ``tools/benchmark.py report`` wrote, as it is (its header names the machine and the evaluations)."""
    def table() -> str:
        with open(os.path.join(ROOT, "results", *path)) as file:
            return file.read()
    return table


# what each stage of the classifier's technique study does, in the words of its page (the stage names are the recipe's)
TECHNIQUES = {
    "decompose": "the chain: local L1 channels + group decomposition",
    "l1_global": "L1 filter norm, global", "slimming": "BN scale (network slimming), global",
    "hrank": "feature-map rank (HRank), global", "taylor": "activation x gradient (Taylor), global",
    "tucker2": "Tucker-2 of every grouped 1x1 conv (tensorly), rank by bisection",
    "scratch_control": "decompose's architecture from random init, 135 epochs (what default.yaml ships)",
    "baseline": "dense, 40 epochs", "magnitude_50": "one-shot magnitude, global, 50%",
    "magnitude_80": "one-shot magnitude, global, 80%", "magnitude_90": "one-shot magnitude, global, 90%",
    "lottery_80": "iterative, rewound to init", "lr_rewind_80": "iterative, learning-rate rewinding",
    "snip_80": "SNIP at initialisation, trained from scratch", "baseline_same_budget": "dense, 135 epochs",
    "distill": "response KD (Hinton, T 4, alpha 0.7)", "fitnet": "+ FitNets hint on the middle stage",
    "similarity": "+ similarity-preserving, every stage", "rkd": "+ RKD distance on the pooled last stage",
    "prune_900k": "layer_prune, global L1 to 900,000 MACs, 15 epochs",
    "distill_900k": "prune_900k fine-tuned with KD from baseline_same_budget",
    "scratch_900k": "prune_900k's architecture from random init, 135 epochs",
    "kd_scratch_900k": "scratch_900k with KD from baseline_same_budget",
}
# the columns a classifier table can show: header and cell of one summary entry (``classification.seeds``' JSON)
COMPRESS_COLUMNS: Dict[str, tuple] = {
    "technique": ("technique", lambda s: TECHNIQUES[s["stage"]]),
    "macs": ("MACs", lambda s: macs_cell(s)),
    "params": ("params", lambda s: f"{s['params']:,}"),
    "nonzero": ("non-zero params", lambda s: f"{s['nonzero_params']:,}"),
    "bytes": ("bytes on disk", lambda s: f"{s['bytes']:,}"),
    "val": ("F1 val mean (spread)", lambda s: f"{s['val_mean']:.4f} ({s['val_spread']:.4f})"),
    "test_seeds": ("F1 test per seed", lambda s: ", ".join(f"{v:.4f}" for v in s["test_f1"])),
    "test": ("F1 test mean (spread)", lambda s: f"{s['test_mean']:.4f} ({s['test_spread']:.4f})"),
    "minutes": ("minutes", lambda s: f"{s['minutes']:.1f}"),
}


def compress_table(summary: str, reference: str, columns: List[str], stages: List[str] = None) -> Callable[[], str]:
    """A table of the classifier's compression study from ``results/compress/<summary>.json`` (what
    ``python -m classification.seeds`` wrote): the chosen columns, ``vs`` being each stage's test F1 against
    ``reference`` in points with the seed-spread verdict."""
    def table() -> str:
        from yolox_mods.common.seeds import versus

        entries = load(os.path.join("results", "compress", summary + ".json"))
        if stages is not None:
            entries = [next(e for e in entries if e["stage"] == stage) for stage in stages]
        ref = next(e for e in entries if e["stage"] == reference)

        def cell(column: str, entry: dict) -> str:
            if column != "vs":
                return COMPRESS_COLUMNS[column][1](entry)
            return "-" if entry is ref else versus(entry["test_f1"], ref["test_f1"], digits=2, scale=100)

        headers = ["stage"] + [f"vs {reference}, points" if c == "vs" else COMPRESS_COLUMNS[c][0] for c in columns]
        rows = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        rows += ["| " + " | ".join([entry["stage"]] + [cell(c, entry) for c in columns]) + " |" for entry in entries]
        return "\n".join(rows) + f"\n\nFrom `results/compress/{summary}.json`.\n"
    return table


def prunable_table() -> str:
    """Every exp's prunable share of conv output channels as ``tools/prune.py --report`` finds it (the dependency
    graph of the exp's model), and the convs kept besides the prediction convs; exps alike share a row."""
    import torch

    from yolox_mods.exp_files import load_exp
    from yolox_mods.pruning import plan_exclusions

    rows: Dict[tuple, List[str]] = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "exps", "*.py"))) + sorted(
            glob.glob(os.path.join(ROOT, "exps", "*", "*.py"))):
        exp = load_exp(path)
        _, _, report = plan_exclusions(exp.get_model().eval(), torch.zeros(1, 3, 64, 64))
        kept = sorted(name for name, why in report.excluded.items() if why != "prediction output")
        rows.setdefault((f"{100 * report.fraction:.1f}%", tuple(kept)), []).append(exp.exp_name)
    lines = ["| exp | prunable | convs kept besides the prediction convs |", "|---|---|---|"]
    for (share, kept), exps in sorted(rows.items(), key=lambda item: -float(item[0][0][:-1])):
        cell = ", ".join(f"`{name.replace('backbone.backbone.', '')}`" for name in kept) or "-"
        lines.append(f"| {', '.join(exps)} | {share} | {cell} |")
    return "\n".join(lines) + "\n"


TABLES: Dict[str, Callable[[], str]] = {
    "models": model_table, "deployment_runs": deployment_runs,
    "variants": results_file("variants.md"), "ablation": results_file("ablation.md"),
    "schedule": results_file("quick_2x", "variants.md"), "deployment_accuracy": deployment_accuracy,
    "classifier_structured": compress_table(
        "techniques_structured_s012", "decompose",
        ["technique", "macs", "params", "val", "test_seeds", "test", "vs", "minutes"]),
    "classifier_unstructured": compress_table(
        "techniques_unstructured_s012", "baseline",
        ["technique", "nonzero", "bytes", "val", "test_seeds", "test", "vs", "minutes"]),
    "classifier_kd": compress_table(
        "techniques_kd_s012", "distill", ["technique", "val", "test_seeds", "test", "vs", "minutes"]),
    "classifier_900k": compress_table(
        "under_900k_s012", "baseline_same_budget", ["technique", "macs", "val", "test_seeds", "test", "vs"],
        ["baseline_same_budget", "prune_900k", "distill_900k", "scratch_900k", "kd_scratch_900k"]),
    "block_study": results_file("block_study", "blocks.md"),
    "prunable": prunable_table,
    "pruning_study": results_file("pruning", "study", "variants.md"),
    "pruning_study_runs": results_file("pruning", "study", "runs.md"),
}


def render(text: str) -> str:
    def fill(match):
        name = match.group("name")
        if name not in TABLES:
            raise SystemExit(f"error: unknown table {name!r} (known: {', '.join(TABLES)})")
        return match.group(1) + TABLES[name]() + match.group(4)

    return REGION.sub(fill, text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 naming each stale page")
    args = parser.parse_args(argv)
    stale: List[str] = []
    for page in PAGES:
        path = os.path.join(ROOT, page)
        with open(path) as file:
            text = file.read()
        rendered = render(text)
        if rendered != text:
            stale.append(page)
            if not args.check:
                with open(path, "w") as file:
                    file.write(rendered)
    if args.check and stale:
        print(f"stale: {', '.join(stale)} (python scripts/docs_tables.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

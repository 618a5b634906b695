"""Where ONNX Runtime's CPU time goes, by kind of node."""
import json
import os
import tempfile
from typing import Dict

import torch
from tabulate import tabulate

from ..export import export_onnx


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

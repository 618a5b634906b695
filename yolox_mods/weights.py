"""Published weights: a run's last-epoch EMA weights, small enough to commit, listed in ``weights/manifest.json``.

Each entry records where the weights came from and what they scored, and the sha256 of the file, so that a table
in docs/results.md can cite a file that ``tools/eval.py -c`` and ``tools/export_onnx.py -c`` load as they are.
"""
import datetime
import hashlib
import json
import os
import shutil
from typing import Dict, List, Optional, Tuple

import torch

from .common.errors import DataError
from .common.io import atomic_save, atomic_write_text, epochs_in_all, load_checkpoint
from .evaluators.record import EvalRecord

MANIFEST = "manifest.json"


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_digest(model: torch.nn.Module) -> str:
    """16 hex digits of sha256 over ``model``'s parameters and BN statistics as float32 (the batch counters left
    out): the same weights give the same digest whichever file they were loaded from (a run's checkpoint or its
    published copy), so an exported model's score can be paired with the PyTorch score of its own weights."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def read_manifest(weights_dir: str) -> List[dict]:
    path = os.path.join(weights_dir, MANIFEST)
    if not os.path.exists(path):
        return []
    try:
        with open(path) as file:
            return json.load(file)
    except ValueError as error:
        raise DataError(f"{path}: not a weights manifest ({error})") from None


def published_file(weights_dir: str, exp_name: str, epochs: Optional[int] = None) -> Optional[str]:
    """Path of the manifest's weights of ``exp_name`` trained ``epochs`` epochs, or of its shortest schedule when
    ``epochs`` is None or no entry has it (a longer schedule is the exception, not the exp's default); None when
    the exp has no published weights. The manifest is sorted by file name, so its first entry of an exp can be a
    longer schedule (``final_nano_2x_s0.pth`` sorts before ``final_nano_s0.pth``). Pruned files (``pruned`` in
    their entry) are another architecture than the exp builds, never its weights."""
    entries = [entry for entry in read_manifest(weights_dir)
               if entry["exp"] == exp_name and not entry.get("pruned")]
    if not entries:
        return None
    matching = [entry for entry in entries if entry["epochs"] == epochs]
    chosen = matching[0] if matching else min(entries, key=lambda entry: entry["epochs"])
    return os.path.join(weights_dir, chosen["file"])


def stored_in(state: Dict[str, torch.Tensor], dtype: str) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """``state`` with every floating tensor in ``dtype``, except those whose values ``dtype`` cannot hold, which
    stay float32; and their names. With YOLOX's 0-255 inputs the stem BN's running variance reaches about 1e6,
    beyond float16's 65,504: cast, it becomes inf and the model's mAP collapses (docs/results.md)."""
    target = getattr(torch, dtype)
    stored, kept = {}, []
    for name, tensor in state.items():
        if not tensor.is_floating_point():
            stored[name] = tensor
            continue
        cast = tensor.to(target)
        if torch.isfinite(cast).all() or not torch.isfinite(tensor).all():
            stored[name] = cast
        else:
            stored[name] = tensor.float()
            kept.append(name)
    return stored, kept


def publish(run_dir: str, weights_dir: str, name: str, protocol: str, seed: int, dtype: str = "float32",
            val_eval: Optional[str] = None, results_dir: Optional[str] = None,
            finetuned_from: Optional[str] = None) -> dict:
    """Copy ``run_dir/latest_ckpt.pth``'s evaluated (EMA) weights to ``weights_dir/<name>.pth`` in ``dtype``
    (no optimizer, no training copy; tensors beyond ``dtype``'s range stay float32: ``stored_in``), add or replace
    its manifest entry, and keep the run's ``test_eval.json``, its matches and ``curve.json`` under
    ``results_dir/<name>/``. ``val_eval``: an evaluation of the same weights on val (``tools/eval.py --split val
    --json``), recorded for the cheap reproduction test. ``finetuned_from``: the weights file the run started from
    (``tools/train.py -c``), recorded by name and sha256; ``epochs`` counts the fine-tune's epochs and
    ``prior_epochs`` the source's (from the run, or from that file for a run from before runs recorded it); a pruned
    run's entry says ``pruned`` (its file builds the architecture it carries, not the exp's)."""
    checkpoint = load_checkpoint(os.path.join(run_dir, "latest_ckpt.pth"))
    prior_epochs = checkpoint.get("prior_epochs")
    if finetuned_from is not None:
        source = load_checkpoint(finetuned_from)  # a weights file, not any file: a missing or foreign one raises here
        if prior_epochs is None:  # a run from before checkpoints recorded it
            prior_epochs = epochs_in_all(source)
    test = EvalRecord.read(os.path.join(run_dir, "test_eval.json"))
    if test.training is None:
        raise DataError(f"{os.path.join(run_dir, 'test_eval.json')}: no run setting (training), so the benchmark "
                        "could not pair it with runs trained alike: re-evaluate it with tools/eval.py")
    state, kept_float32 = stored_in(checkpoint["model"], dtype)
    path = os.path.join(weights_dir, name + ".pth")
    atomic_save({"model": state, "exp_name": checkpoint.get("exp_name"), "num_classes": checkpoint.get("num_classes"),
                 "act": checkpoint.get("act"), "start_epoch": checkpoint["start_epoch"],
                 "prior_epochs": prior_epochs or 0,
                 "training": checkpoint.get("training"),
                 **{key: checkpoint[key] for key in ("architecture", "pruning") if key in checkpoint}}, path)
    entry = {"file": name + ".pth", "exp": test.exp, "seed": seed, "protocol": protocol,
             "epochs": checkpoint["start_epoch"], "dtype": dtype, "kept_float32": kept_float32,
             "bytes": os.path.getsize(path),
             "sha256": sha256(path), "date": datetime.date.today().isoformat(),
             "test": {"images": test.images, "mAP50": round(test.map50, 4), "mAP50_95": round(test.map50_95, 4)}}
    if prior_epochs:
        entry["prior_epochs"] = prior_epochs
    if "architecture" in checkpoint:
        entry["pruned"] = True
    if finetuned_from is not None:
        entry["finetuned_from"] = {"file": os.path.basename(finetuned_from), "sha256": sha256(finetuned_from)}
    if val_eval:
        val = EvalRecord.read(val_eval)
        entry["val"] = {"images": val.images, "mAP50": round(val.map50, 4), "mAP50_95": round(val.map50_95, 4)}
    entries = [e for e in read_manifest(weights_dir) if e["file"] != entry["file"]] + [entry]
    atomic_write_text(os.path.join(weights_dir, MANIFEST), json.dumps(sorted(entries, key=lambda e: e["file"]),
                                                                    indent=2) + "\n")
    if results_dir:
        target = os.path.join(results_dir, name)
        os.makedirs(target, exist_ok=True)
        for kept in ("test_eval.json", "test_eval.matches.npz", "curve.json", "train_stats.json"):
            if os.path.exists(os.path.join(run_dir, kept)):
                shutil.copyfile(os.path.join(run_dir, kept), os.path.join(target, kept))
        if val_eval:
            shutil.copyfile(val_eval, os.path.join(target, "val_eval.json"))
    return entry


def record_file_score(weights_dir: str, name: str, eval_path: str, results_dir: Optional[str] = None) -> dict:
    """Record in ``name``'s manifest entry the test score of the published file itself (``file_test``):
    ``eval_path`` is ``tools/eval.py -c weights/<name>.pth --json`` on the test split. A float16 file scores a little
    differently from the run's float32 weights (``test``). With ``results_dir``, the evaluation is kept as
    ``results_dir/<name>/file_test.json`` (and its matches) beside the run's records, carrying the run's setting
    when the file has none of its own (files published before settings were recorded). ``DataError`` when the
    evaluation is of another file, another split or other weights than the file holds."""
    entries = read_manifest(weights_dir)
    entry = next((e for e in entries if e["file"] == name + ".pth"), None)
    if entry is None:
        raise DataError(f"{os.path.join(weights_dir, MANIFEST)}: no entry for {name}.pth")
    record = EvalRecord.read(eval_path)
    if record.split != "test" or os.path.basename(record.model_file or "") != entry["file"]:
        raise DataError(f"{eval_path}: a {record.split} evaluation of {record.model_file}, not of {entry['file']} on "
                        "test")
    if record.exp != entry["exp"]:
        raise DataError(f"{eval_path}: an evaluation of exp {record.exp}, but {entry['file']} is {entry['exp']}'s")
    if results_dir:
        keep_file_score(record, eval_path, os.path.join(results_dir, name))
    entry["file_test"] = {"images": record.images, "mAP50": round(record.map50, 4),
                          "mAP50_95": round(record.map50_95, 4), "weights": record.weights}
    atomic_write_text(os.path.join(weights_dir, MANIFEST), json.dumps(entries, indent=2) + "\n")
    return entry


def keep_file_score(record: EvalRecord, eval_path: str, run_results: str) -> None:
    run_test = os.path.join(run_results, "test_eval.json")
    if record.training is None:
        if not os.path.exists(run_test):
            raise DataError(f"{eval_path}: no run setting, and no {run_test} to take it from")
        record.training = EvalRecord.read(run_test).training
        if record.training is None:
            raise DataError(f"{run_test}: no run setting (training) to give {eval_path}")
    record.write(os.path.join(run_results, "file_test.json"), record.load_matched(eval_path))


def verify(weights_dir: str) -> Dict[str, str]:
    """File name -> problem, for every manifest entry whose file is missing or whose sha256 differs."""
    problems = {}
    for entry in read_manifest(weights_dir):
        path = os.path.join(weights_dir, entry["file"])
        if not os.path.exists(path):
            problems[entry["file"]] = "missing"
        elif sha256(path) != entry["sha256"]:
            problems[entry["file"]] = "sha256 differs from the manifest"
    return problems

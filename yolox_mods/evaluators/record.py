"""``EvalRecord``: one model scored on one split, as ``tools/eval.py --json`` and a run's ``test_eval.json`` write
it and the benchmark, publishing and plotting read it. Versioned JSON; files written before the version existed
are read through ``from_dict``'s one adapter."""
import json
import os
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional

from ..common.errors import DataError
from ..common.io import atomic_write_text
from ..common.provenance import RunSetting
from .bootstrap import MatchedEvaluation, load_matches, matches_path, save_matches
from .voc_map import VOCResult

EVAL_RECORD_VERSION = 1
# runtimes an evaluation can name: PyTorch, and the exported models' (tools/eval.py --onnx / --openvino)
RUNTIME_NAMES = ("torch", "onnx", "onnx-int8", "openvino", "openvino-bf16", "openvino-int8")
# on-disk spelling of the score fields, as VOC and YOLOX logs print them
SCORE_KEYS = {"map50": "mAP50", "map50_95": "mAP50_95", "per_class_ap50": "per_class_AP50"}


@dataclass
class EvalRecord:
    """Scores in percent. ``model_file`` is the checkpoint, ONNX file or OpenVINO IR that was run; ``weights``
    the digest of its weights (``weights.weights_digest``), which pairs an exported model with the PyTorch score
    of the same weights; ``epoch`` the epochs their run trained, ``prior_epochs`` those of the weights it started
    from (a fine-tune's, a pruned model's source's; 0 or None from fresh weights); ``training`` how their run was
    trained; ``matches`` the file of judged detections beside this one (paired bootstrap)."""
    exp: str
    split: str
    image_sets: List[Any]
    images: int
    map50: float
    map50_95: float
    per_class_ap50: Dict[str, float]
    runtime: str = "torch"
    model_file: Optional[str] = None
    act: Optional[str] = None
    test_size: Optional[List[int]] = None
    weights: Optional[str] = None
    epoch: Optional[int] = None
    prior_epochs: Optional[int] = None
    seed: Optional[int] = None
    matches: Optional[str] = None
    training: Optional[RunSetting] = None
    version: int = field(default=EVAL_RECORD_VERSION)

    @classmethod
    def from_result(cls, result: VOCResult, **values) -> "EvalRecord":
        return cls(images=len(result.image_ids), map50=100 * result.map50, map50_95=100 * result.map50_95,
                   per_class_ap50={name: 100 * ap for name, ap in result.per_class_ap50.items()}, **values)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> Dict[str, Any]:
        values = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, RunSetting):
                value = value.to_dict()
            values[SCORE_KEYS.get(item.name, item.name)] = value
        return values

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, values: Dict[str, Any], where: str) -> "EvalRecord":
        """The record in ``values`` (read from ``where``); ``DataError`` naming ``where`` for anything else."""
        if not isinstance(values, dict):
            raise DataError(f"{where}: not an evaluation record (a JSON object is expected)")
        if "version" not in values:
            values = legacy_fields(values, where)
        elif values["version"] != EVAL_RECORD_VERSION:
            raise DataError(f"{where}: evaluation record version {values['version']!r}; this yolox-lite reads "
                            f"version {EVAL_RECORD_VERSION}")
        names = {item.name for item in fields(cls)}
        renamed = {name: values[key] for name, key in SCORE_KEYS.items() if key in values}
        values = {**{k: v for k, v in values.items() if k not in SCORE_KEYS.values()}, **renamed}
        unknown = sorted(set(values) - names)
        if unknown:
            raise DataError(f"{where}: not an evaluation record (unexpected fields {unknown})")
        try:
            record = cls(**values)
            record.map50, record.map50_95 = float(record.map50), float(record.map50_95)
            record.per_class_ap50 = {str(k): float(v) for k, v in dict(record.per_class_ap50).items()}
        except (TypeError, ValueError) as error:
            raise DataError(f"{where}: not an evaluation record ({error})") from None
        if record.runtime not in RUNTIME_NAMES:
            raise DataError(f"{where}: unknown runtime {record.runtime!r}; one of {', '.join(RUNTIME_NAMES)}")
        if record.training is not None and not isinstance(record.training, RunSetting):
            record.training = RunSetting.from_dict(record.training, where)
        return record

    @classmethod
    def read(cls, path: str) -> "EvalRecord":
        try:
            with open(path) as file:
                values = json.load(file)
        except (OSError, ValueError) as error:
            raise DataError(f"{path}: not a readable evaluation record ({error})") from None
        return cls.from_dict(values, path)

    def write(self, path: str, matched: Optional[MatchedEvaluation] = None) -> None:
        """``path`` (atomically), and beside it the judged detections that ``paired_bootstrap`` compares."""
        if matched is not None:
            save_matches(matches_path(path), matched)
            self.matches = os.path.basename(matches_path(path))
        atomic_write_text(path, self.to_json() + "\n")

    def load_matched(self, path: str) -> Optional[MatchedEvaluation]:
        """The judged detections of the record read from ``path``, when it names them."""
        return load_matches(os.path.join(os.path.dirname(path), self.matches)) if self.matches else None

    @property
    def total_epochs(self) -> Optional[int]:
        """Every epoch that trained these weights, a fine-tune's start included (None when not recorded)."""
        return None if self.epoch is None else self.epoch + (self.prior_epochs or 0)

    @property
    def int8(self) -> bool:
        return self.runtime.endswith("-int8")


def record_evaluation(path: str, result: VOCResult, **values) -> EvalRecord:
    """Write ``result`` with ``values`` (exp, split, runtime, ...) to ``path`` as an ``EvalRecord``, and its
    judged detections beside it; return the record."""
    record = EvalRecord.from_result(result, **values)
    record.write(path, MatchedEvaluation(result.image_ids, result.matches50))
    return record


def legacy_fields(values: Dict[str, Any], where: str) -> Dict[str, Any]:
    """The fields of a record written before ``version`` existed: the model file was under ``ckpt``, ``onnx`` or
    ``openvino``; ``int8`` repeated the runtime; files from before runtimes were recorded are PyTorch's unless
    they name an exported model, which then cannot be told apart (FP32 or INT8) and is refused."""
    values = dict(values)
    exported = [key for key in ("onnx", "openvino") if key in values]
    if "runtime" not in values:
        if exported:
            raise DataError(f"{where}: an exported model's result without its runtime (written before tools/eval.py "
                            "recorded it): evaluate it again")
        values["runtime"] = "torch"
    for key in ("ckpt", *exported):
        if key in values:
            values["model_file"] = values.pop(key)
    values.pop("int8", None)
    values["version"] = EVAL_RECORD_VERSION
    return values

"""The compression pipeline: a recipe run stage by stage, resumably (``python -m classification.compress``).

Stage kinds (each a function below, registered in ``STAGES``):
- ``train``: a fresh model (the recipe's ``model``, updated by the stage's, or the architecture of the stage named
  by ``architecture_of``: the from-scratch control of a compressed model), trained from scratch;
- ``input_size_search``: one such model per input size, tabulated (the working size stays the recipe's);
- ``layer_prune`` / ``channel_prune`` / ``decompose`` / ``lowrank``: surgery on the ``from`` stage's model (units,
  channels, more groups, or low-rank group 1x1 convs by Tucker-2), then fine-tuning;
- ``distill``: the ``from`` model (or a fresh ``model``, or a fresh copy of the architecture of the stage named by
  ``architecture_of``) trained against the frozen ``teachers`` (stage names);
  one teacher = single KD, several = ensemble (averaged soft targets), a teacher that was itself distilled =
  a chain; ``method: true_label`` distils only where the teacher is right;
- ``unstructured``: weights zeroed by magnitude (one-shot or iterative, with lottery-ticket or learning-rate
  rewinding) or by SNIP at initialisation, masks kept through training, stored packed. Later stages that train
  the result do not keep its zeros (give them ``from`` another stage).
Every stage writes ``<output>/<stage>.pth`` and a row of ``results.json``/``results.md`` atomically; a re-run
skips stages that have both, and a stage killed mid-training resumes at its last finished epoch.
"""
import hashlib
import json
import os
import time
from typing import Callable, Dict, List, Optional

import torch
from loguru import logger

from yolox_mods.common import ConfigError, atomic_write_text, load_checkpoint

from .data import Split
from .metrics import compression_score, count_macs, count_params
from .models import ShuffleNetV1, build_model, load_model, save_model
from .techniques.decompose import decompose_groups
from .techniques.distill import Distiller
from .techniques.lowrank import factorise, factorise_to_macs
from .techniques.prune import channels_for_ratio, prune_layers, prune_stage_channels, prune_to_macs
from .techniques.sparsity import apply_masks, magnitude_masks, make_permanent, nonzero_params, prunable, snip_masks
from .train import TrainConfig, evaluate, fit, task_loss


# ----------------------------------------------------------------------------- checkpoints
class Pipeline:
    """Holds the data, the recipe and the finished rows; runs stages and records results."""

    def __init__(self, recipe: dict, train_split: Split, val_split: Split, output: str, force: bool = False,
                 test_split: Optional[Split] = None):
        self.recipe, self.train_split, self.val_split, self.output = recipe, train_split, val_split, output
        self.test_split = test_split
        self.force = force
        self.data_fingerprint = data_fingerprint(*(s for s in (train_split, val_split, test_split) if s is not None))
        self.input_size = recipe["input_size"]
        self.rows: List[dict] = []
        os.makedirs(output, exist_ok=True)
        results = os.path.join(output, "results.json")
        if os.path.exists(results):
            with open(results) as file:
                self.rows = json.load(file)

    # ---------------------------------------------------------------- helpers
    def checkpoint(self, stage: str) -> str:
        return os.path.join(self.output, f"{stage}.pth")

    def initial_weights(self, stage: str) -> str:
        return os.path.join(self.output, f"{stage}.init.pth")

    def fingerprint(self, stage: dict, size: Optional[int] = None) -> str:
        """What a stage's result depends on: the data, the recipe's model and training defaults, the stage's own
        keys (and for a size sweep, the size). A finished stage or an epoch checkpoint is reused only if equal."""
        return digest({"data": self.data_fingerprint, "model": self.recipe["model"],
                       "train": self.recipe.get("train", {}), "input_size": size or self.input_size, "stage": stage,
                       "upstream": [self.fingerprint(self.stage_named(name)) for name in upstream(self, stage)]})

    def stage_named(self, name: str) -> dict:
        return next(s for s in self.recipe["stages"] if s["name"] == name)

    def finished(self, name: str, fingerprint: str) -> bool:
        """Whether ``name`` has a row of this fingerprint; a row of another one stops the run (or, with
        ``force``, is dropped so the stage runs again)."""
        row = next((r for r in self.rows if r["stage"] == name), None)
        if row is None:
            return False
        if row.get("fingerprint") != fingerprint:
            if not self.force:
                raise ConfigError(f"stage {name!r} in {self.output} was run on other data or with another recipe; "
                                  "use another --output, or --force to run it again")
            self.rows = [r for r in self.rows if r["stage"] != name]
            for stale in (self.checkpoint(name), os.path.join(self.output, f"{name}.epoch.pth")):
                if os.path.exists(stale):
                    os.remove(stale)
            return False
        return True

    def done(self, stage: dict) -> bool:
        """A stage is done when its row (of this data and config) and checkpoint exist (a size sweep: when every
        size has its row)."""
        if stage["kind"] == "input_size_search":
            return all([self.finished(f"{stage['name']}@{size}", self.fingerprint(stage, size))
                        for size in stage["sizes"]])
        return self.finished(stage["name"], self.fingerprint(stage)) and os.path.exists(self.checkpoint(stage["name"]))

    def model_of(self, stage: str) -> ShuffleNetV1:
        if not os.path.exists(self.checkpoint(stage)):
            raise ConfigError(f"stage needs the model of stage {stage!r}, which has not run (no "
                             f"{self.checkpoint(stage)})")
        return load_model(self.checkpoint(stage))[0]

    def fresh_model(self, stage: dict) -> ShuffleNetV1:
        """A randomly initialised model for ``stage``, drawn from the stage's seed (so seeds vary the initial
        weights, not only the data order): the recipe's model updated by the stage's ``model``, or the
        architecture of the stage named by ``architecture_of``."""
        torch.manual_seed(self.train_config(stage).seed)
        if "architecture_of" in stage:
            return build_model(self.model_of(stage["architecture_of"]).config)
        config = {**self.recipe["model"], **(stage.get("model") or {})}
        return ShuffleNetV1(num_classes=len(self.train_split.classes), **config)

    def train_config(self, stage: dict) -> TrainConfig:
        own = {key: value for key, value in stage.items() if key in TrainConfig.__annotations__}
        fields = {**self.recipe.get("train", {}), **own}
        return TrainConfig(**fields)

    def fit(self, model, stage: dict, size: int, criterion: Optional[Callable] = None, tag: str = ""):
        name = stage["name"] + tag
        resume = os.path.join(self.output, f"{name}.epoch.pth")
        fingerprint = self.fingerprint(stage, size if tag else None)
        if self.force and os.path.exists(resume) and load_checkpoint(resume).get("fingerprint") != fingerprint:
            os.remove(resume)
        fit(model, self.train_split, size, self.train_config(stage), criterion, resume, desc=name,
            fingerprint=fingerprint)
        return model

    def interrupted_seconds(self, name: str) -> float:
        """Training seconds that interrupted processes already spent on stage ``name`` (its epoch checkpoint), so
        that a resumed stage reports its whole time, not only the last process's."""
        path = os.path.join(self.output, f"{name}.epoch.pth")
        return load_checkpoint(path).get("elapsed_seconds", 0.0) if os.path.exists(path) else 0.0

    def reference(self, name: Optional[str] = None):
        """(MACs, reported F1) of the reference stage (the recipe's ``reference`` unless ``name``), or Nones before
        it ran."""
        reference = name or self.recipe.get("reference", "baseline")
        row = next((r for r in self.rows if r["stage"] == reference), None)
        return (row["macs"], reported_f1(row)) if row else (None, None)

    def record(self, stage: dict, model: ShuffleNetV1, size: int, started: float, name: Optional[str] = None,
               save: bool = True) -> dict:
        name = name or stage["name"]
        metrics = evaluate(model, self.val_split, size)
        macs = count_macs(model, size)
        row = {"stage": name, "kind": stage["kind"], "input_size": size, "macs": macs,
               "fingerprint": self.fingerprint(stage, size if name != stage["name"] else None),
               "params": count_params(model), "nonzero_params": nonzero_params(model), "f1": round(metrics["f1"], 4),
               "accuracy": round(metrics["accuracy"], 4), "seconds": round(time.time() - started, 1),
               **self.test_metrics(model, size),
               "stage_repeats": model.config["stage_repeats"], "stage_channels": model.config["stage_channels"],
               "stage_groups": model.config["stage_groups"]}
        if save:
            save_model(self.checkpoint(name), model, size, self.train_split.classes, name)
            row["bytes"] = os.path.getsize(self.checkpoint(name))
        self.rows = [r for r in self.rows if r["stage"] != name] + [row]
        self.write_results()
        epoch_file = os.path.join(self.output, f"{name}.epoch.pth")
        if os.path.exists(epoch_file):
            os.remove(epoch_file)
        return row

    def test_metrics(self, model: ShuffleNetV1, size: int) -> dict:
        """F1 and accuracy on the test split (the reported numbers), when the data has one."""
        if self.test_split is None:
            return {}
        metrics = evaluate(model, self.test_split, size)
        return {"test_f1": round(metrics["f1"], 4), "test_accuracy": round(metrics["accuracy"], 4)}

    def write_results(self) -> None:
        columns = {"score": self.reference()}
        if self.recipe.get("second_reference"):
            columns["score_vs_" + self.recipe["second_reference"]] = self.reference(self.recipe["second_reference"])
        for row in self.rows:
            for column, (base_macs, ref_f1) in columns.items():
                row[column] = (round(compression_score(row["macs"], reported_f1(row), base_macs, ref_f1), 4)
                               if base_macs else None)
        atomic_write_text(os.path.join(self.output, "results.json"), json.dumps(self.rows, indent=2))
        atomic_write_text(os.path.join(self.output, "results.md"), results_table(self.rows))
        plot_results(self.rows, os.path.join(self.output, "results.png"))

    # ---------------------------------------------------------------- running
    def run(self, only: Optional[List[str]] = None) -> None:
        names = [s["name"] for s in self.recipe["stages"]]
        for name in only or []:
            if name not in names:
                raise ConfigError(f"--stages: no stage {name!r} in the recipe (stages: {names})")
        for stage in self.recipe["stages"]:
            if only and stage["name"] not in only:
                continue
            if self.done(stage):
                logger.info("{}: done, skipped", stage["name"])
                continue
            if stage["kind"] not in STAGES:
                raise ConfigError(f"stage {stage['name']!r}: unknown kind {stage['kind']!r} ({sorted(STAGES)})")
            logger.info("{}: {}", stage["name"], stage["kind"])
            STAGES[stage["kind"]](self, stage, time.time() - self.interrupted_seconds(stage["name"]))


def reported_f1(row: dict) -> float:
    """The F1 a row reports and scores with: on test when the data has a test split (choices are made on val)."""
    return row.get("test_f1", row["f1"])


def digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def data_fingerprint(*splits: Split) -> str:
    """The class names and every image's class folder, file name and size: other data gives another value."""
    return digest([[split.classes, sorted((os.path.relpath(p, os.path.dirname(os.path.dirname(p))),
                                           os.path.getsize(p)) for p in split.paths)] for split in splits])


# ----------------------------------------------------------------------------- stage kinds
# kinds that cut the ``from`` stage's model and fine-tune it
SURGERY = ("layer_prune", "channel_prune", "decompose", "lowrank")


def previous_stage(pipeline: Pipeline, stage: dict) -> str:
    if "from" in stage:
        return stage["from"]
    names = [s["name"] for s in pipeline.recipe["stages"]]
    index = names.index(stage["name"])
    compressing = [s["name"] for s in pipeline.recipe["stages"][:index]
                   if s["kind"] in SURGERY + ("distill",)]
    return compressing[-1] if compressing else next(s["name"] for s in pipeline.recipe["stages"]
                                                    if s["kind"] == "train")


def upstream(pipeline: Pipeline, stage: dict) -> List[str]:
    """The stages whose models this stage starts from or learns from."""
    names = list(stage.get("teachers", [])) + ([stage["architecture_of"]] if "architecture_of" in stage else [])
    fresh_student = "model" in stage or "architecture_of" in stage
    if stage["kind"] in SURGERY or (stage["kind"] == "distill" and not fresh_student) or (
            stage["kind"] == "unstructured" and stage.get("method", "magnitude") == "magnitude"):
        names.append(previous_stage(pipeline, stage))
    return names


def run_train(pipeline: Pipeline, stage: dict, started: float) -> None:
    model = pipeline.fresh_model(stage)
    # the initial weights, for lottery-ticket rewinding of a later unstructured stage
    save_model(pipeline.initial_weights(stage["name"]), model, pipeline.input_size, pipeline.train_split.classes,
               stage["name"] + ".init")
    model = pipeline.fit(model, stage, pipeline.input_size)
    pipeline.record(stage, model, pipeline.input_size, started)


def run_input_size_search(pipeline: Pipeline, stage: dict, started: float) -> None:
    """A sweep: one model per size, each row timed on its own (the choice of size is the recipe's)."""
    for size in stage["sizes"]:
        name = f"{stage['name']}@{size}"
        if pipeline.finished(name, pipeline.fingerprint(stage, size)):
            logger.info("{}: done, skipped", name)
            continue
        size_started = time.time()
        model = pipeline.fit(pipeline.fresh_model(stage), stage, size, tag=f"@{size}")
        pipeline.record(stage, model, size, size_started, name=name, save=False)



def finetune_after(surgery: Callable[[Pipeline, ShuffleNetV1, dict], ShuffleNetV1]):
    """A stage kind: ``surgery(pipeline, model, stage)`` on the ``from`` stage's model, then fine-tuning."""
    def run(pipeline: Pipeline, stage: dict, started: float) -> None:
        model = surgery(pipeline, pipeline.model_of(previous_stage(pipeline, stage)), stage)
        pipeline.fit(model, stage, pipeline.input_size)
        pipeline.record(stage, model, pipeline.input_size, started)
    return run


def check_teachers(pipeline: Pipeline, stage: dict) -> None:
    """``teacher_must_beat``: every teacher's val F1 must exceed that stage's, else ``ConfigError`` names them."""
    bar = stage.get("teacher_must_beat")
    if bar is None:
        return
    f1 = {row["stage"]: row["f1"] for row in pipeline.rows}
    weak = [f"{name} ({f1[name]:.4f})" for name in stage["teachers"] if f1[name] <= f1[bar]]
    if weak:
        raise ConfigError(f"stage {stage['name']!r}: teacher {', '.join(weak)} does not beat {bar} "
                          f"({f1[bar]:.4f}) on val; teacher_must_beat stops the run before it distils")


def run_distill(pipeline: Pipeline, stage: dict, started: float) -> None:
    check_teachers(pipeline, stage)
    teachers = [pipeline.model_of(name) for name in stage["teachers"]]
    student = (pipeline.fresh_model(stage) if "model" in stage or "architecture_of" in stage
               else pipeline.model_of(previous_stage(pipeline, stage)))
    distiller = Distiller(teachers, task_loss(pipeline.train_config(stage)), stage.get("method", "kl"),
                          stage.get("temperature", 4.0), stage.get("alpha", 0.7), student=student,
                          beta=stage.get("beta"))
    pipeline.fit(student, stage, pipeline.input_size, criterion=distiller)
    distiller.close()
    pipeline.record(stage, student, pipeline.input_size, started)


def channel_prune(pipeline: Pipeline, model: ShuffleNetV1, stage: dict) -> ShuffleNetV1:
    """By channel counts (``remove``), by fractions (``ratio``), or by a MACs budget (``target_macs``, or
    ``target_ratio`` of the model's MACs at the working input size). HRank reads training images."""
    criterion, size = stage.get("criterion", "l1"), pipeline.input_size
    data = (pipeline.train_split, size)
    if "target_macs" in stage or "target_ratio" in stage:
        budget = stage.get("target_macs") or round(stage["target_ratio"] * count_macs(model, size))
        return prune_to_macs(model, budget, size, criterion, stage.get("step", 4), data)
    remove = (channels_for_ratio(model, {int(k): v for k, v in stage["ratio"].items()}) if "ratio" in stage
              else {int(k): v for k, v in stage["remove"].items()})
    return prune_stage_channels(model, remove, criterion, stage.get("scope", "local"), data)


def lowrank(pipeline: Pipeline, model: ShuffleNetV1, stage: dict) -> ShuffleNetV1:
    if "target_macs" in stage:
        return factorise_to_macs(model, stage["target_macs"], pipeline.input_size, stage.get("stages"))
    return factorise(model, stage["rank_ratio"], stage.get("stages"))


def run_unstructured(pipeline: Pipeline, stage: dict, started: float) -> None:
    """Unstructured pruning to ``sparsity`` of the conv and linear weights, masks kept through training.

    ``method: magnitude`` prunes the ``from`` model by |w| in ``iterations`` rounds (each to 1 - (1 - sparsity)^(i/n)
    of the weights, then ``epochs`` of training with the stage's full LR schedule). ``rewind: init`` resets the
    surviving weights to the initial weights of the ``train`` stage the model descends from before each round's
    training (the lottery-ticket procedure); ``rewind: none`` keeps the trained weights (learning-rate rewinding).
    ``method: snip`` scores a fresh model at initialisation (|g * w| on one training batch) and trains it from
    scratch with its mask: no dense training first."""
    sparsity, method, rounds = stage["sparsity"], stage.get("method", "magnitude"), stage.get("iterations", 1)
    if method == "snip":
        model = pipeline.fresh_model(stage)
        apply_masks(model, snip_masks(model, pipeline.train_split, pipeline.input_size, sparsity))
        pipeline.fit(model, stage, pipeline.input_size)
    else:
        source = previous_stage(pipeline, stage)
        model = pipeline.model_of(source)
        initial = None
        if stage.get("rewind", "none") == "init":
            origin = train_origin(pipeline, source)
            if not os.path.exists(pipeline.initial_weights(origin)):
                raise ConfigError(f"stage {stage['name']!r}: rewind init needs {pipeline.initial_weights(origin)} "
                                  f"(stage {origin!r} ran before initial weights were kept: run it again with --force)")
            initial = load_model(pipeline.initial_weights(origin))[0].state_dict()
        for round_index in range(1, rounds + 1):
            target = 1 - (1 - sparsity) ** (round_index / rounds)
            apply_masks(model, magnitude_masks(model, target, stage.get("scope", "global")))
            if initial is not None:
                with torch.no_grad():
                    for name, module in prunable(model):
                        module.weight_orig.copy_(initial[name + ".weight"])
            pipeline.fit(model, stage, pipeline.input_size, tag=f".round{round_index}" if rounds > 1 else "")
    make_permanent(model)
    pipeline.record(stage, model, pipeline.input_size, started)
    for round_index in range(1, rounds + 1):
        finished_round = os.path.join(pipeline.output, f"{stage['name']}.round{round_index}.epoch.pth")
        if os.path.exists(finished_round):
            os.remove(finished_round)


def train_origin(pipeline: Pipeline, name: str) -> str:
    """The ``train`` stage a stage's model descends from (through ``from`` links)."""
    stage = pipeline.stage_named(name)
    while stage["kind"] != "train":
        stage = pipeline.stage_named(previous_stage(pipeline, stage))
    return stage["name"]


STAGES: Dict[str, Callable[[Pipeline, dict, float], None]] = {
    "train": run_train,
    "input_size_search": run_input_size_search,
    "layer_prune": finetune_after(lambda pipeline, model, stage: prune_layers(model, stage["stage_repeats"])),
    "channel_prune": finetune_after(channel_prune),
    "decompose": finetune_after(lambda pipeline, model, stage: decompose_groups(model, stage["stage"],
                                                                                stage.get("factor", 2))),
    "lowrank": finetune_after(lowrank),
    "distill": run_distill,
    "unstructured": run_unstructured,
}


# ----------------------------------------------------------------------------- reporting
def results_table(rows: List[dict]) -> str:
    scores = [k for k in (rows[0] if rows else {}) if k == "score" or k.startswith("score_vs_")]
    header = ("| stage | kind | input | MACs | params | non-zero params | F1 val | F1 test | accuracy test | "
              + " | ".join(scores) + " | time (s) | repeats / channels / groups |\n")
    header += "|---" * (11 + len(scores) - 1) + "|\n"
    lines = [f"| {r['stage']} | {r['kind']} | {r['input_size']} | {r['macs']:,} | {r['params']:,} | "
             f"{r.get('nonzero_params', r['params']):,} | {r['f1']:.4f} | "
             + (f"{r['test_f1']:.4f} | {r['test_accuracy']:.4f} | " if "test_f1" in r else "- | - | ")
             + " | ".join("-" if r.get(k) is None else format(r[k], ".4f") for k in scores)
             + f" | {r['seconds']} | {r['stage_repeats']} / {r['stage_channels']} / {r['stage_groups']} |"
             for r in rows]
    return header + "\n".join(lines) + "\n"


def plot_results(rows: List[dict], path: str) -> None:
    from yolox_mods.common.plotting import plt, save_figure

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for row in rows:
        axis.scatter(row["macs"] / 1e6, reported_f1(row))
        axis.annotate(row["stage"], (row["macs"] / 1e6, reported_f1(row)), textcoords="offset points",
                      xytext=(4, 3), fontsize=8)
    axis.set_xscale("log")  # teachers can be 10x the students
    axis.set_xlabel("MACs (M, thop, log scale)")
    axis.set_ylabel("macro F1 (test)" if all("test_f1" in row for row in rows) else "macro F1 (val: no test split)")
    axis.grid(alpha=0.3)
    axis.set_title("Compression stages: F1 against MACs")
    save_figure(figure, path)

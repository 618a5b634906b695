"""The compression recipe's schema: every key of every stage kind, its type and default, checked before any
stage trains, so a misspelt key (``epoch: 25``, ``temprature``) or a bad value is one error naming stage and key."""
import dataclasses
import difflib
import os
from typing import Any, Dict, List, Optional, Tuple

import yaml

from yolox_mods.common import ConfigError, DataError

from .techniques.prune import IMPORTANCE
from .train import TrainConfig

REQUIRED = object()
# the recipes shipped with the package (package data): --recipe takes a file or one of these names
RECIPES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recipes")

# key -> (type or tuple of types, default or REQUIRED, help)
Schema = Dict[str, Tuple[Any, Any, str]]

TRAINING: Schema = {f.name: (f.type, f.default, "training setting") for f in dataclasses.fields(TrainConfig)}

COMMON: Schema = {
    "name": (str, REQUIRED, "unique stage name: its checkpoint is <output>/<name>.pth"),
    "kind": (str, REQUIRED, "one of the stage kinds"),
}
FROM: Schema = {"from": (str, None, "stage whose model this one starts from (None: the last earlier "
                                    "layer_prune/channel_prune/decompose/lowrank/distill stage, else the first train "
                                    "stage)")}
MODEL: Schema = {"model": (dict, None, "ShuffleNetV1 arguments over the recipe's model (e.g. {width: 1.0})")}

ARCHITECTURE_OF: Schema = {"architecture_of": (str, None, "an earlier stage whose architecture (repeats, channels, "
                                                          "groups after pruning) is built fresh, from random init: "
                                                          "the from-scratch control of a compressed model")}

KINDS: Dict[str, Schema] = {
    "train": {**MODEL, **ARCHITECTURE_OF},
    "input_size_search": {"sizes": (list, REQUIRED, "input sizes, one model each (a sweep, scored on val)"),
                          **MODEL},
    "layer_prune": {**FROM, "stage_repeats": (list, REQUIRED, "units kept per stage (lowest weight std dropped)")},
    "channel_prune": {**FROM,
                      "remove": (dict, None, "{stage index: channels to remove} (give one of remove, ratio, "
                                             "target_macs, target_ratio)"),
                      "ratio": (dict, None, "{stage index: fraction of its channels to remove}"),
                      "target_macs": (int, None, "prune globally until thop MACs at input_size are at most this"),
                      "target_ratio": (float, None, "as target_macs, as a fraction of the model's MACs"),
                      "step": (int, 4, "channels removed per re-scoring, for a target"),
                      "criterion": (str, "l1", "l1, l2, bn (weights), hrank (feature-map rank) or taylor "
                                               "(activation x gradient; both on training images)"),
                      "scope": (str, "local", "local or global (remove and ratio; a target is always global)")},
    "decompose": {**FROM, "stage": (int, REQUIRED, "stage index whose group convs get more groups"),
                  "factor": (int, 2, "groups multiplied by this")},
    "lowrank": {**FROM,
                "rank_ratio": (float, None, "kept rank of every group 1x1 conv group, as a fraction of min(in, out) "
                                            "(give rank_ratio or target_macs)"),
                "target_macs": (int, None, "the largest rank_ratio whose thop MACs at input_size are at most this"),
                "stages": (list, None, "stage indices whose group 1x1 convs are factorised (None: all)")},
    "unstructured": {**FROM, **MODEL,
                     "sparsity": (float, REQUIRED, "fraction of the conv and linear weights zeroed"),
                     "method": (str, "magnitude", "magnitude (prunes the from model) or snip (a fresh model, at "
                                                  "initialisation)"),
                     "scope": (str, "global", "magnitude threshold over all layers (global) or per layer"),
                     "iterations": (int, 1, "magnitude rounds, each pruning further and training epochs"),
                     "rewind": (str, "none", "none (keep trained weights, full LR schedule) or init (reset "
                                             "survivors to the train stage's initial weights: lottery ticket)")},
    "distill": {**FROM, **MODEL, **ARCHITECTURE_OF, "teachers": (list, REQUIRED, "names of earlier stages"),
                "method": (str, "kl", "kl or true_label (response); fitnet, sp or rkd (feature and relation "
                                      "based, one teacher, added to kl)"),
                "temperature": (float, 4.0, "softmax temperature"),
                "alpha": (float, 0.7, "weight of the distillation term"),
                "beta": (float, None, "weight of the feature/relation term (default fitnet 100, sp 3000, rkd 25)"),
                "teacher_must_beat": (str, None, "an earlier stage whose val F1 every teacher must exceed, or the "
                                                 "run stops before distilling (a teacher weaker than the student "
                                                 "could become teaches it down)")},
}
TOP: Schema = {
    "input_size": (int, REQUIRED, "working input size"),
    "reference": (str, "baseline", "stage whose MACs and F1 the score is relative to"),
    "second_reference": (str, None, "another stage for a second score column (score_vs_<stage>)"),
    "model": (dict, REQUIRED, "ShuffleNetV1 arguments"),
    "train": (dict, {}, "training settings for every stage (a stage's own keys win)"),
    "stages": (list, REQUIRED, "the stages, run in order"),
}


def _unknown(key: str, known, where: str) -> ConfigError:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(f"{where}: unknown key {key!r}{hint}; keys: {', '.join(sorted(known))}")


def _check_type(value, expected, where: str, key: str) -> None:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if float in kinds:
        kinds = (*kinds, int)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds if k is not int or float not in kinds)
        raise ConfigError(f"{where}: {key} must be {names}, got {value!r}")


def _check_keys(entry: dict, schema: Schema, where: str) -> None:
    for key, value in entry.items():
        if key not in schema:
            raise _unknown(key, schema, where)
        _check_type(value, schema[key][0], where, key)
    for key, (_, default, _) in schema.items():
        if default is REQUIRED and key not in entry:
            raise ConfigError(f"{where}: missing required key {key!r}")


def check_recipe(recipe: Optional[dict], path: str) -> dict:
    """Return ``recipe`` if every key and value is valid; otherwise raise ``ConfigError`` naming the first bad one."""
    if not isinstance(recipe, dict):
        raise ConfigError(f"{path}: a recipe is a mapping with {', '.join(TOP)}")
    _check_keys(recipe, TOP, path)
    _check_keys(recipe["train"] if "train" in recipe else {}, TRAINING, f"{path}: train")
    repeats = recipe["model"].get("stage_repeats", [4, 8, 4])
    seen: List[str] = []
    for index, stage in enumerate(recipe["stages"]):
        if not isinstance(stage, dict) or not isinstance(stage.get("name"), str):
            raise ConfigError(f"{path}: stage {index + 1} needs a name (and a kind)")
        where = f"{path}: stage {stage['name']!r}"
        if stage["name"] in seen:
            raise ConfigError(f"{where}: a stage of that name comes earlier")
        kind = stage.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{where}: unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
        _check_keys(stage, {**COMMON, **TRAINING, **KINDS[kind]}, where)
        if "architecture_of" in stage and "model" in stage:
            raise ConfigError(f"{where}: give model or architecture_of, not both")
        for earlier in ([stage.get("from"), stage.get("architecture_of"), stage.get("teacher_must_beat")]
                        + list(stage.get("teachers", []))):
            if earlier is not None and earlier not in seen:
                raise ConfigError(f"{where}: {earlier!r} is not an earlier stage ({', '.join(seen) or 'none'})")
        if kind == "decompose" and not 0 <= stage["stage"] < len(repeats):
            raise ConfigError(f"{where}: stage must be a stage index 0-{len(repeats) - 1}, got {stage['stage']}")
        if kind == "channel_prune":
            _check_channel_prune(stage, where, len(repeats))
        if kind == "unstructured":
            _check_unstructured(stage, where)
        if kind == "lowrank":
            _check_lowrank(stage, where, len(repeats))
        if kind == "distill":
            _check_distill(stage, where)
        seen.append(stage["name"])
    for key in ("reference", "second_reference"):
        name = recipe.get(key, TOP[key][1])
        if name is not None and name not in seen:
            raise ConfigError(f"{path}: {key} {name!r} is not a stage")
    return recipe


def _check_channel_prune(stage: dict, where: str, stages: int) -> None:
    if stage.get("criterion", "l1") not in IMPORTANCE:
        raise ConfigError(f"{where}: criterion must be one of {', '.join(IMPORTANCE)}, got {stage['criterion']!r}")
    given = [key for key in ("remove", "ratio", "target_macs", "target_ratio") if key in stage]
    if len(given) != 1:
        raise ConfigError(f"{where}: give exactly one of remove, ratio, target_macs and target_ratio"
                          + (f" (got {', '.join(given)})" if given else ""))
    for key in ("remove", "ratio"):
        for index, value in stage.get(key, {}).items():
            if not (isinstance(index, int) and 0 <= index < stages):
                raise ConfigError(f"{where}: {key} keys must be stage indices 0-{stages - 1}, got {index!r}")
            if key == "ratio" and not (isinstance(value, (int, float)) and 0 < value < 1):
                raise ConfigError(f"{where}: ratio of stage {index} must be between 0 and 1, got {value!r}")
    if "target_ratio" in stage and not 0 < stage["target_ratio"] < 1:
        raise ConfigError(f"{where}: target_ratio must be between 0 and 1, got {stage['target_ratio']!r}")
    if "target_macs" in stage and stage["target_macs"] < 1:
        raise ConfigError(f"{where}: target_macs must be positive, got {stage['target_macs']!r}")


def _check_distill(stage: dict, where: str) -> None:
    if "from" in stage and ("model" in stage or "architecture_of" in stage):
        raise ConfigError(f"{where}: a student built fresh (model or architecture_of) does not start from a stage; "
                          "drop from")
    methods = ("kl", "true_label", "fitnet", "sp", "rkd")
    if stage.get("method", "kl") not in methods:
        raise ConfigError(f"{where}: method must be one of {', '.join(methods)}, got {stage['method']!r}")
    if stage.get("method") in ("fitnet", "sp", "rkd") and len(stage["teachers"]) != 1:
        raise ConfigError(f"{where}: {stage['method']} matches one teacher's stages to the student's; give one "
                          f"teacher (got {len(stage['teachers'])})")


def _check_lowrank(stage: dict, where: str, stages: int) -> None:
    given = [key for key in ("rank_ratio", "target_macs") if key in stage]
    if len(given) != 1:
        raise ConfigError(f"{where}: give exactly one of rank_ratio and target_macs"
                          + (f" (got {', '.join(given)})" if given else ""))
    if "rank_ratio" in stage and not 0 < stage["rank_ratio"] <= 1:
        raise ConfigError(f"{where}: rank_ratio must be in (0, 1], got {stage['rank_ratio']!r}")
    if "target_macs" in stage and stage["target_macs"] < 1:
        raise ConfigError(f"{where}: target_macs must be positive, got {stage['target_macs']!r}")
    bad = [s for s in stage.get("stages") or [] if not (isinstance(s, int) and 0 <= s < stages)]
    if bad:
        raise ConfigError(f"{where}: stages must be stage indices 0-{stages - 1}, got {bad}")


def _check_unstructured(stage: dict, where: str) -> None:
    choices = {"method": ("magnitude", "snip"), "scope": ("global", "layer"), "rewind": ("none", "init")}
    for key, allowed in choices.items():
        if stage.get(key, allowed[0]) not in allowed:
            raise ConfigError(f"{where}: {key} must be one of {', '.join(allowed)}, got {stage[key]!r}")
    if not 0 < stage["sparsity"] < 1:
        raise ConfigError(f"{where}: sparsity must be between 0 and 1, got {stage['sparsity']!r}")
    if stage.get("iterations", 1) < 1:
        raise ConfigError(f"{where}: iterations must be at least 1, got {stage['iterations']!r}")
    if stage.get("method") == "snip" and (stage.get("iterations", 1) != 1 or stage.get("rewind", "none") != "none"
                                          or "from" in stage):
        raise ConfigError(f"{where}: snip prunes a fresh model once: iterations, rewind and from do not apply")


def describe() -> str:
    """``--list``: every stage kind with its keys, defaults and meaning."""
    lines = ["recipe keys:"] + [f"  {k}: {_default(d)} - {h}" for k, (_, d, h) in TOP.items()]
    for kind, schema in KINDS.items():
        lines.append(f"\nkind {kind}:")
        lines += [f"  {k}: {_default(d)} - {h}" for k, (_, d, h) in {**COMMON, **schema}.items()]
    lines.append("\nevery stage also takes the training settings (default: the recipe's train, then):")
    lines += [f"  {k}: {d!r}" for k, (_, d, _) in TRAINING.items()]
    return "\n".join(lines)


def _default(value) -> str:
    return "required" if value is REQUIRED else f"default {value!r}"


def packaged_recipes() -> List[str]:
    return sorted(os.path.splitext(name)[0] for name in os.listdir(RECIPES) if name.endswith(".yaml"))


def recipe_path(recipe: str) -> str:
    """``recipe`` if it is a file, else the packaged recipe of that name (``default``, ``prune_distill``, ...);
    ``DataError`` naming both places otherwise."""
    if os.path.isfile(recipe):
        return recipe
    packaged = os.path.join(RECIPES, recipe + ".yaml")
    if os.path.isfile(packaged):
        return packaged
    raise DataError(f"{recipe}: recipe not found (not a file, nor one of the packaged recipes in {RECIPES}: "
                    f"{', '.join(packaged_recipes())})")


def load_recipe(recipe: str) -> dict:
    """The checked recipe of a file or packaged name (``recipe_path``)."""
    path = recipe_path(recipe)
    with open(path) as file:
        try:
            loaded = yaml.safe_load(file)
        except yaml.YAMLError as error:
            raise DataError(f"{path}: not valid YAML ({error})") from None
    return check_recipe(loaded, path)

"""The recipe is checked whole before any stage trains: every misspelt key or bad value is one named error."""
import glob
import json
import os

import pytest
import yaml

from classification.cli.compress import main
from classification.recipe import KINDS, check_recipe
from tests.classification.recipes import tiny_recipe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = os.path.join(ROOT, "classification", "recipes")
SMOKE = os.path.join(RECIPES, "smoke.yaml")


def smoke():
    with open(SMOKE) as file:
        return yaml.safe_load(file)


@pytest.mark.parametrize("name", sorted(os.listdir(RECIPES)))
def test_shipped_recipes_are_valid(name):
    with open(os.path.join(RECIPES, name)) as file:
        assert check_recipe(yaml.safe_load(file), name)


def with_stage(index, **changes):
    recipe = smoke()
    recipe["stages"][index] = {**recipe["stages"][index], **changes}
    return recipe


@pytest.mark.parametrize("recipe, message", [
    (with_stage(0, epoch=25), "stage 'baseline': unknown key 'epoch' (did you mean 'epochs'?)"),
    (with_stage(7, temprature=2.0), "stage 'distill': unknown key 'temprature' (did you mean 'temperature'?)"),
    (with_stage(5, stage=5), "stage 'decompose': stage must be a stage index 0-2, got 5"),
    (with_stage(5, factor="two"), "stage 'decompose': factor must be int, got 'two'"),
    (with_stage(4, remove={7: 3}), "stage 'channel_prune': remove keys must be stage indices 0-2, got 7"),
    (with_stage(4, ratio={2: 0.1}), "stage 'channel_prune': give exactly one of remove, ratio, target_macs and "
                                    "target_ratio (got remove, ratio)"),
    (with_stage(4, remove=None), "stage 'channel_prune': remove must be dict, got None"),
    (with_stage(4, target_ratio=1.5, remove=None), "stage 'channel_prune': remove must be dict"),
    ({**smoke(), "stages": [smoke()["stages"][0], {"name": "cp", "kind": "channel_prune", "ratio": {2: 1.5}}]},
     "stage 'cp': ratio of stage 2 must be between 0 and 1, got 1.5"),
    ({**smoke(), "stages": [smoke()["stages"][0], {"name": "cp", "kind": "channel_prune"}]},
     "stage 'cp': give exactly one of remove, ratio, target_macs and target_ratio"),
    ({**smoke(), "stages": [smoke()["stages"][0], {"name": "s", "kind": "unstructured", "sparsity": 0.5,
                                                    "method": "snip", "from": "baseline"}]},
     "stage 's': snip prunes a fresh model once: iterations, rewind and from do not apply"),
    ({**smoke(), "stages": [smoke()["stages"][0], {"name": "s", "kind": "unstructured", "sparsity": 1.2}]},
     "stage 's': sparsity must be between 0 and 1, got 1.2"),
    (with_stage(11, **{"from": "baseline"}), "stage 'kd_scratch': a student built fresh (model or architecture_of) "
                                             "does not start from a stage; drop from"),
    (with_stage(9, target_macs=900_000), "stage 'lowrank': give exactly one of rank_ratio and target_macs (got "
                                         "rank_ratio, target_macs)"),
    (with_stage(9, rank_ratio=1.5), "stage 'lowrank': rank_ratio must be in (0, 1], got 1.5"),
    (with_stage(9, stages=[3]), "stage 'lowrank': stages must be stage indices 0-2, got [3]"),
    (with_stage(7, method="sp"), "stage 'distill': sp matches one teacher's stages to the student's; give one "
                                 "teacher (got 2)"),
    (with_stage(7, method="hint"), "stage 'distill': method must be one of kl, true_label, fitnet, sp, rkd"),
    (with_stage(4, criterion="rank"), "stage 'channel_prune': criterion must be one of l1, l2, bn, hrank, taylor"),
    (with_stage(6, teachers=["nobody"]), "stage 'assistant': 'nobody' is not an earlier stage"),
    (with_stage(3, **{"from": "distill"}), "stage 'layer_prune': 'distill' is not an earlier stage"),
    (with_stage(2, kind="trian"), "stage 'teacher': unknown kind 'trian'"),
    (with_stage(2, architecture_of="distill"), "stage 'teacher': give model or architecture_of, not both"),
    (with_stage(0, architecture_of="distill"), "stage 'baseline': 'distill' is not an earlier stage"),
    (with_stage(1, sizes=None), "stage 'input_size': sizes must be list, got None"),
    (with_stage(0, lr="fast"), "stage 'baseline': lr must be float, got 'fast'"),
    (with_stage(3, stage_repeats=None), "stage 'layer_prune': stage_repeats must be list"),
    ({**smoke(), "trian": {}}, "unknown key 'trian' (did you mean 'train'?)"),
    ({**smoke(), "train": {"epoch": 3}}, "train: unknown key 'epoch' (did you mean 'epochs'?)"),
    ({**smoke(), "reference": "nothing"}, "reference 'nothing' is not a stage"),
    ({k: v for k, v in smoke().items() if k != "model"}, "missing required key 'model'"),
])
def test_bad_recipes_are_one_named_error(recipe, message):
    with pytest.raises(ValueError, match="^r.yaml: .*" + message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("?", r"\?")):
        check_recipe(recipe, "r.yaml")


def test_a_bad_recipe_stops_before_training(tmp_path, capfd):
    recipe = with_stage(7, temprature=2.0)
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(SystemExit) as stop:
        main(["--recipe", str(path), "--output", str(tmp_path / "out")])
    assert stop.value.code == 2
    assert capfd.readouterr().err.strip().splitlines()[-1].startswith(
        f"error: {path}: stage 'distill': unknown key 'temprature'")
    assert not (tmp_path / "out").exists()


def test_list_shows_every_kind_with_its_keys(capfd):
    main(["--list"])
    out = capfd.readouterr().out
    for kind, schema in KINDS.items():
        assert f"kind {kind}:" in out
        assert all(f"  {key}:" in out for key in schema)
    assert "temperature: default 4.0" in out and "sizes: required" in out


TINY = tiny_recipe("""  - {name: baseline, kind: train}
  - {name: pruned, kind: layer_prune, stage_repeats: [1, 1, 1], epochs: 1}
""")


def test_finished_stages_are_reused_only_for_the_same_data_and_config(tmp_path, capfd, log_messages):
    from classification.data import make_synthetic_folder

    first = make_synthetic_folder(str(tmp_path / "a"), classes=2, train_per_class=4, val_per_class=2, size=40)
    other = make_synthetic_folder(str(tmp_path / "b"), classes=2, train_per_class=5, val_per_class=2, size=40)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(TINY)
    out = str(tmp_path / "out")
    main(["--data", first, "--recipe", str(recipe), "--output", out])
    main(["--data", first, "--recipe", str(recipe), "--output", out])
    assert "baseline: done, skipped" in log_messages
    for data, text in ((other, TINY), (first, TINY.replace("lr: 0.05", "lr: 0.02"))):
        recipe.write_text(text)
        with pytest.raises(SystemExit):
            main(["--data", data, "--recipe", str(recipe), "--output", out])
        assert capfd.readouterr().err.strip().splitlines()[-1] == (
            f"error: stage 'baseline' in {out} was run on other data or with another recipe; use another --output, "
            "or --force to run it again")
    log_messages.clear()
    main(["--data", first, "--recipe", str(recipe), "--output", out, "--force"])
    assert "baseline: train" in log_messages and "pruned: layer_prune" in log_messages
    # a stage whose input model's stage changed is stale too, though its own keys did not change
    recipe.write_text(TINY.replace("lr: 0.05", "lr: 0.02").replace("kind: train}", "kind: train, epochs: 2}"))
    with pytest.raises(SystemExit):
        main(["--data", first, "--recipe", str(recipe), "--output", out, "--stages", "pruned"])
    assert capfd.readouterr().err.strip().splitlines()[-1].startswith(f"error: stage 'pruned' in {out} was run on")


def test_the_reference_stage_scores_one_in_its_own_column(tmp_path):
    from classification.data import make_synthetic_folder

    data = make_synthetic_folder(str(tmp_path / "a"), classes=2, train_per_class=4, val_per_class=2, size=40)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(TINY.replace("stages:", "reference: pruned\nsecond_reference: baseline\nstages:"))
    main(["--data", data, "--recipe", str(recipe), "--output", str(tmp_path / "out")])
    rows = {r["stage"]: r for r in json.loads((tmp_path / "out" / "results.json").read_text())}
    assert rows["pruned"]["score"] == 1.0 and rows["baseline"]["score_vs_baseline"] == 1.0
    assert "| score | score_vs_baseline |" in (tmp_path / "out" / "results.md").read_text()


def test_committed_recipes_are_valid_and_define_shared_stages_alike():
    """Runs of several recipes share one output folder per seed (a stage already done is skipped by its
    fingerprint), so a stage name used by two committed recipes must be defined alike in both, and their
    settings must be the default's."""
    from classification.recipe import RECIPES, load_recipe

    def settings(recipe):
        return {key: value for key, value in recipe.items() if key != "stages"}

    default_recipe = load_recipe(os.path.join(RECIPES, "default.yaml"))
    paths = sorted(glob.glob(os.path.join(RECIPES, "*.yaml")))
    assert {os.path.basename(p) for p in paths} >= {"default.yaml", "prune_distill.yaml", "close_gap.yaml",
                                                    "techniques.yaml", "under_900k.yaml", "smoke.yaml"}
    first_defined = {}
    for path in paths:
        if os.path.basename(path) == "smoke.yaml":
            continue
        recipe = load_recipe(path)
        assert settings(recipe) == settings(default_recipe), path
        for stage in recipe["stages"]:
            where, definition = first_defined.setdefault(stage["name"], (path, stage))
            assert stage == definition, f"{path}: stage {stage['name']} differs from its definition in {where}"

"""The compression pipeline end to end on generated data: every stage kind, resume, bad input."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from classification.cli.compress import main
from classification.data import load_data, make_synthetic_folder
from classification.metrics import compression_score
from classification.models import ShuffleNetV1, load_model
from classification.pipeline import Pipeline
from classification.train import TrainConfig, fit
from tests.classification.recipes import tiny_recipe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMOKE = os.path.join(ROOT, "classification", "recipes", "smoke.yaml")


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    return make_synthetic_folder(str(tmp_path_factory.mktemp("cls")), classes=3, train_per_class=10,
                                 val_per_class=4, test_per_class=4, size=48)


@pytest.mark.slow
def test_pipeline_all_stages_then_resume(image_folder, tmp_path, log_messages):
    out = str(tmp_path / "run")
    main(["--data", image_folder, "--recipe", SMOKE, "--output", out])
    rows = {r["stage"]: r for r in json.load(open(os.path.join(out, "results.json")))}
    assert {"baseline", "input_size@48", "input_size@64", "teacher", "layer_prune", "channel_prune",
            "decompose", "assistant", "distill", "sparse", "lowrank", "scratch", "kd_scratch"} <= set(rows)
    assert rows["layer_prune"]["stage_repeats"] == [1, 2, 1]
    assert rows["channel_prune"]["stage_channels"][2] <= 240 - 12
    assert rows["decompose"]["stage_groups"] == [3, 3, 6]
    assert rows["lowrank"]["macs"] < rows["baseline"]["macs"]
    assert rows["distill"]["macs"] < rows["baseline"]["macs"]
    assert rows["baseline"]["score"] == pytest.approx(1.0)
    # reported on test, where nothing was chosen: the score uses test F1 (val F1 is where recipes are compared)
    distill, baseline = rows["distill"], rows["baseline"]
    assert 0 <= distill["test_f1"] <= 1 and "f1" in distill
    with_val = compression_score(distill["macs"], distill["f1"], baseline["macs"], baseline["f1"])
    with_test = compression_score(distill["macs"], distill["test_f1"], baseline["macs"], baseline["test_f1"])
    assert distill["score"] == pytest.approx(with_test, abs=1e-4)
    if abs(with_val - with_test) > 1e-3:
        assert distill["score"] != pytest.approx(with_val, abs=1e-4)
    assert "| F1 val | F1 test |" in open(os.path.join(out, "results.md")).read()
    assert os.path.getsize(os.path.join(out, "results.png")) > 0
    model, size, classes = load_model(os.path.join(out, "distill.pth"))
    assert size == 64 and len(classes) == 3 and model.config["stage_groups"] == [3, 3, 6]
    # the from-scratch control: the compressed architecture, its own (random-init, then trained) weights
    scratch, _, _ = load_model(os.path.join(out, "scratch.pth"))
    assert scratch.config == model.config and rows["scratch"]["macs"] == rows["distill"]["macs"]
    assert not torch.equal(scratch.state_dict()["classifier.weight"], model.state_dict()["classifier.weight"])
    # the same architecture from random init, distilled: the control with a teacher
    kd_scratch, _, _ = load_model(os.path.join(out, "kd_scratch.pth"))
    assert kd_scratch.config == model.config
    assert not torch.equal(kd_scratch.state_dict()["classifier.weight"], scratch.state_dict()["classifier.weight"])
    log_messages.clear()

    main(["--data", image_folder, "--recipe", SMOKE, "--output", out])
    assert sum(message.endswith("done, skipped") for message in log_messages) == 12

    os.remove(os.path.join(out, "distill.pth"))  # a stage whose checkpoint is gone runs again, alone
    main(["--data", image_folder, "--recipe", SMOKE, "--output", out, "--stages", "distill"])
    assert os.path.exists(os.path.join(out, "distill.pth"))


def test_a_stage_seed_draws_the_initial_weights(image_folder, tmp_path):
    train, val, _ = load_data(image_folder)
    recipe = {"input_size": 32, "model": {"groups": 3, "width": 0.25, "stage_repeats": [1, 1, 1]}, "stages": []}
    pipeline = Pipeline(recipe, train, val, str(tmp_path))

    def weights(seed):
        return pipeline.fresh_model({"name": "a", "kind": "train", "seed": seed}).state_dict()["classifier.weight"]

    torch.manual_seed(123)  # whatever ran before does not matter
    first = weights(1)
    assert torch.equal(first, weights(1)) and not torch.equal(first, weights(2))


def test_seed_flag_sets_the_recipe_seed(image_folder, tmp_path):
    recipe = tmp_path / "one.yaml"
    recipe.write_text(tiny_recipe("  - {name: baseline, kind: train}\n"))

    def initial(seed, run):
        out = str(tmp_path / run)
        main(["--data", image_folder, "--recipe", str(recipe), "--output", out, "--seed", str(seed)])
        return load_model(os.path.join(out, "baseline.init.pth"))[0].state_dict()["classifier.weight"]

    assert torch.equal(initial(3, "a"), initial(3, "b")) and not torch.equal(initial(3, "a"), initial(4, "c"))


def test_data_without_a_test_split(tmp_path):
    root = make_synthetic_folder(str(tmp_path / "data"), classes=2, train_per_class=2, val_per_class=2,
                                 test_per_class=1, size=32)
    assert [len(split.labels) for split in load_data(root)] == [4, 4, 2]
    shutil.rmtree(os.path.join(root, "test"))
    assert load_data(root)[2] is None


def test_epoch_level_resume(image_folder, tmp_path):
    train, _, _ = load_data(image_folder)
    config = TrainConfig(epochs=2, batch_size=8, num_workers=0)
    checkpoint = str(tmp_path / "epoch.pth")
    torch.manual_seed(0)
    trained = fit(ShuffleNetV1(3), train, 48, config, checkpoint_path=checkpoint)
    assert torch.load(checkpoint, weights_only=False)["epoch"] == 2
    # a rerun finds all epochs done: it loads the saved state and trains no further
    resumed = fit(ShuffleNetV1(3), train, 48, config, checkpoint_path=checkpoint)
    for a, b in zip(trained.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.parametrize("breaker,message", [
    (lambda root: shutil.rmtree(os.path.join(root, "val", "class_2")), "class folders differ from train/"),
    (lambda root: [os.remove(os.path.join(root, "train", "class_1", f))
                   for f in os.listdir(os.path.join(root, "train", "class_1"))], "class folder has no images"),
    (lambda root: open(os.path.join(root, "train", "class_0", "0003.jpg"), "wb").write(b"\xff\xd8 broken"),
     "0003.jpg: unreadable or corrupt image"),
    (lambda root: shutil.rmtree(os.path.join(root, "train")), "data folder not found"),
])
def test_bad_data_is_one_named_line(image_folder, tmp_path, breaker, message):
    root = str(tmp_path / "data")
    shutil.copytree(image_folder, root)
    breaker(root)
    result = run_cli("classification.compress", "--data", root, "--recipe", SMOKE, "--output", str(tmp_path / "o"))
    assert result.returncode == 2
    assert message in result.stderr.strip().splitlines()[-1] and "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "o" / "results.json")


def test_evaluate_rejects_foreign_checkpoints(image_folder, tmp_path):
    detector = str(tmp_path / "detector.pth")
    torch.save({"model": {"w": torch.zeros(1)}, "start_epoch": 1}, detector)
    result = run_cli("classification.evaluate", "--ckpt", detector, "--data", image_folder)
    assert result.returncode == 2 and "not a classification checkpoint" in result.stderr

    wrong = str(tmp_path / "wrong.pth")
    model = ShuffleNetV1(3)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("classifier")}
    torch.save({"model": state, "config": model.config, "input_size": 48, "classes": ["a", "b", "c"]}, wrong)
    result = run_cli("classification.evaluate", "--ckpt", wrong, "--data", image_folder)
    assert result.returncode == 2 and "does not fit this model" in result.stderr


def test_evaluate_prints_macs_f1_score(image_folder, tmp_path):
    path = str(tmp_path / "m.pth")
    from classification.models import save_model

    save_model(path, ShuffleNetV1(3), 48, ["class_0", "class_1", "class_2"], "x")
    result = run_cli("classification.evaluate", "--ckpt", path, "--data", image_folder, "--ref-f1", "0.5")
    assert result.returncode == 0, result.stderr
    from classification.metrics import count_macs

    macs = count_macs(ShuffleNetV1(3), 48)
    assert f"MACs {macs:,}," in result.stdout
    # the score's base defaults to the uncompressed model counted the same way: an uncompressed model scores 1 + F1 term
    assert f"(base MACs {macs:,}, ref F1 0.5)" in result.stdout
    assert "macro F1" in result.stdout and "score" in result.stdout


def test_per_class_scores_by_hand():
    from classification.metrics import confusion_matrix, macro_f1, per_class_scores

    labels, predictions = [0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2]
    matrix = confusion_matrix(labels, predictions, 3)
    assert matrix.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    scores = per_class_scores(matrix)
    assert scores["precision"] == pytest.approx([1.0, 0.5, 0.5]) and scores["recall"] == pytest.approx([2 / 3, 0.5, 1])
    assert scores["f1"] == pytest.approx([0.8, 0.5, 2 / 3])
    assert sum(scores["f1"]) / 3 == pytest.approx(macro_f1(labels, predictions, 3))


def test_evaluation_report_takes_its_reference_from_the_run(image_folder, tmp_path):
    from PIL import Image

    from classification.models import save_model

    path = str(tmp_path / "distill.pth")
    save_model(path, ShuffleNetV1(3), 48, ["class_0", "class_1", "class_2"], "distill")
    (tmp_path / "results.json").write_text(json.dumps([
        {"stage": "baseline", "macs": 1000, "f1": 0.4, "test_f1": 0.35},
        {"stage": "baseline_same_budget", "macs": 2000, "f1": 0.6, "test_f1": 0.55}]))
    result = run_cli("classification.evaluate", "--ckpt", path, "--data", image_folder, "--latency-runs", "3",
                     "--json", str(tmp_path / "report.json"))
    assert result.returncode == 0, result.stderr
    # scored on test by default, against the reference's test F1; on val against its val F1
    assert "(base MACs 2,000, ref F1 0.55 from stage baseline_same_budget)" in result.stdout
    on_val = run_cli("classification.evaluate", "--ckpt", path, "--data", image_folder, "--split", "val",
                     "--latency-runs", "0")
    assert "(base MACs 2,000, ref F1 0.6 from stage baseline_same_budget)" in on_val.stdout, on_val.stderr
    assert "ms/image (batch 1, median of 3)" in result.stdout and "| true \\ predicted" in result.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert sum(report["confusion"], []) and sum(map(sum, report["confusion"])) == report["images"] == 12
    assert sum(v["support"] for v in report["per_class"].values()) == 12
    with Image.open(tmp_path / "distill_confusion.png") as png:
        assert png.format == "PNG" and png.size[0] > 200
    missing = run_cli("classification.evaluate", "--ckpt", path, "--data", image_folder, "--reference", "teacher")
    assert missing.returncode == 2 and "no stage 'teacher'" in missing.stderr.strip().splitlines()[-1]


KILL_RECIPE = tiny_recipe("""  - {name: baseline, kind: train}
  - {name: teacher, kind: train, epochs: 8, model: {width: 0.5}}
  - {name: distill, kind: distill, from: baseline, teachers: [teacher], method: kl}
""", input_size=48, batch_size=16)


@pytest.mark.slow
def test_sigkill_mid_stage_then_resume(image_folder, tmp_path):
    """Killed (SIGKILL) while a later stage is mid-way through its epochs: no truncated file is left under a final
    name, finished stages are skipped on the rerun and the interrupted stage continues from its last epoch."""
    (tmp_path / "recipe.yaml").write_text(KILL_RECIPE)
    out = tmp_path / "run"
    command = [sys.executable, "-m", "classification.compress", "--data", image_folder,
               "--recipe", str(tmp_path / "recipe.yaml"), "--output", str(out)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (out / "teacher.epoch.pth").exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (out / "baseline.pth").exists() and not (out / "teacher.pth").exists()
    for checkpoint in out.glob("*.pth"):
        torch.load(checkpoint, weights_only=False)  # complete, or it would not carry the final name

    # the killed process's training time, made long so that the resumed row can only reach it by counting it
    interrupted = torch.load(out / "teacher.epoch.pth", weights_only=False)
    torch.save({**interrupted, "elapsed_seconds": 10_000.0}, out / "teacher.epoch.pth")

    resumed = run_cli("classification.compress", *command[3:])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "baseline: done, skipped" in resumed.stderr
    assert re.search(r"resuming after epoch [1-7] of 8 \(.*teacher\.epoch\.pth\)", resumed.stderr)
    rows = {row["stage"]: row for row in json.load(open(out / "results.json"))}
    assert set(rows) == {"baseline", "teacher", "distill"}
    assert 10_000 < rows["teacher"]["seconds"] < 10_000 + 300


def test_each_input_size_row_times_only_its_own_training(tmp_path, monkeypatch):
    """A clock that moves only while a model trains (10 s each): every row reports 10 s, not 10, 20, 30."""
    import classification.pipeline as compress

    root = make_synthetic_folder(str(tmp_path / "data"), classes=2, train_per_class=2, val_per_class=2, size=48)
    train, val, _ = load_data(root)
    recipe = {"input_size": 48, "model": {"groups": 3, "width": 0.25, "stage_repeats": [1, 1, 1]}, "stages": []}
    pipeline = compress.Pipeline(recipe, train, val, str(tmp_path / "out"))
    clock = [1000.0]

    def train_for_ten_seconds(self, model, stage, size, criterion=None, tag=""):
        clock[0] += 10
        return model

    monkeypatch.setattr(compress.Pipeline, "fit", train_for_ten_seconds)
    monkeypatch.setattr(compress.time, "time", lambda: clock[0])
    compress.run_input_size_search(pipeline, {"name": "sizes", "kind": "input_size_search",
                                              "sizes": [32, 48, 64]}, clock[0])
    assert [row["seconds"] for row in pipeline.rows] == [10.0, 10.0, 10.0]

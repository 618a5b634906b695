"""Published weights: the manifest's hashes hold, a published file loads as it is, and (with the data) reproduces."""
import hashlib
import os

import pytest
import torch

from yolox_mods.common import atomic_save, load_checkpoint, load_exact
from yolox_mods.common.errors import CheckpointError, DataError
from yolox_mods.common.provenance import RunSetting
from yolox_mods.evaluation import load_for_eval
from yolox_mods.evaluators import EvalRecord
from yolox_mods.exp_files import load_exp
from yolox_mods.pruning import PruneSettings, architecture_of, prune_detector
from yolox_mods.weights import publish, published_file, read_manifest, verify, weights_digest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS = os.path.join(ROOT, "weights")
VAL_VOC = os.path.join(ROOT, "..", "shared", "data", "voc_mini", "VOCdevkit")


QUICK_SETTING = RunSetting(protocol="quick", loader_workers=0, threads=2)


def fake_run(run_dir, exp, model=None, epochs=45, training=QUICK_SETTING):
    model = model or exp.get_model()
    os.makedirs(run_dir, exist_ok=True)
    atomic_save({"model": model.state_dict(), "train_model": model.state_dict(), "optimizer": {}, "start_epoch": epochs,
                 "exp_name": exp.exp_name, "num_classes": 20}, os.path.join(run_dir, "latest_ckpt.pth"))
    EvalRecord(exp=exp.exp_name, split="test", image_sets=[["2007", "test"]], images=2000, map50=12.3456,
               map50_95=6.5, per_class_ap50={}, epoch=epochs,
               training=training).write(os.path.join(run_dir, "test_eval.json"))
    return model


def test_publish_writes_small_loadable_weights_and_a_manifest(tmp_path):
    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"))
    stem_var = "backbone.backbone.stem.conv.bn.running_var"
    model = exp.get_model()
    model.get_buffer(stem_var).fill_(1.07e6)  # as trained on 0-255 inputs: beyond float16's 65,504
    model = fake_run(str(tmp_path / "run"), exp, model)
    entry = publish(str(tmp_path / "run"), str(tmp_path / "weights"), "stock_s0", "quick", 0, dtype="float16",
                    results_dir=str(tmp_path / "results"))
    published = str(tmp_path / "weights" / "stock_s0.pth")
    assert (entry["exp"], entry["seed"], entry["epochs"]) == ("yolox_voc_nano", 0, 45)
    assert entry["test"]["mAP50"] == 12.3456 and entry["kept_float32"] == [stem_var]
    # float16 and no training copy: about half of the one fp32 copy this fake run holds
    assert entry["bytes"] == os.path.getsize(published) < 0.55 * os.path.getsize(tmp_path / "run" / "latest_ckpt.pth")
    assert read_manifest(str(tmp_path / "weights")) == [entry] and verify(str(tmp_path / "weights")) == {}
    assert os.listdir(tmp_path / "results" / "stock_s0") == ["test_eval.json"]
    loaded = exp.get_model()
    load_exact(loaded, load_checkpoint(published)["model"], published)
    stored = load_checkpoint(published)["model"]
    assert stored[stem_var].dtype == torch.float32 and stored[stem_var].eq(1.07e6).all()
    for (name, ours), theirs in zip(loaded.state_dict().items(), model.state_dict().values()):
        if ours.is_floating_point() and name != stem_var:
            assert stored[name].dtype == torch.float16 and torch.allclose(ours, theirs.half().float()), name
    with open(published, "r+b") as file:
        file.seek(200)
        file.write(b"\x00\x01")
    assert verify(str(tmp_path / "weights")) == {"stock_s0.pth": "sha256 differs from the manifest"}


def test_a_pruned_run_publishes_a_file_that_builds_its_pruned_model(tmp_path):
    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"))
    torch.manual_seed(0)
    pruned, _ = prune_detector(exp.get_model().eval(), PruneSettings(ratio=0.5), example_size=64)
    run = tmp_path / "run"
    fake_run(str(run), exp, pruned, epochs=35)
    checkpoint = load_checkpoint(str(run / "latest_ckpt.pth"))
    atomic_save({**checkpoint, "architecture": architecture_of(pruned), "prior_epochs": 55},
                str(run / "latest_ckpt.pth"))
    fake_run(str(tmp_path / "unpruned"), exp, epochs=45)
    publish(str(tmp_path / "unpruned"), str(tmp_path / "weights"), "stock_s0", "quick", 0)
    entry = publish(str(run), str(tmp_path / "weights"), "stock_p50_s0", "quick", 0, dtype="float16")
    assert (entry["epochs"], entry["prior_epochs"], entry["pruned"]) == (35, 55, True)
    # the exp's own weights, whatever the schedule asked for: the pruned file is another architecture
    assert published_file(str(tmp_path / "weights"), exp.exp_name, 35) == str(tmp_path / "weights" / "stock_s0.pth")
    published = load_for_eval(exp, str(tmp_path / "weights" / "stock_p50_s0.pth"))  # as every tool builds it
    assert architecture_of(published) == architecture_of(pruned) != architecture_of(exp.get_model())
    image = torch.rand(1, 3, 64, 64) * 255
    with torch.no_grad():
        assert torch.allclose(published(image), pruned.eval()(image), rtol=1e-3, atol=1e-2)  # float16 rounding


def test_weights_digest_follows_the_weights_not_the_file(tmp_path):
    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"))
    torch.manual_seed(0)
    model = fake_run(str(tmp_path / "run"), exp)
    publish(str(tmp_path / "run"), str(tmp_path / "weights"), "fp32", "quick", 0)
    publish(str(tmp_path / "run"), str(tmp_path / "weights"), "fp16", "quick", 0, dtype="float16")

    def digest_of(path):
        loaded = exp.get_model()
        load_exact(loaded, load_checkpoint(path)["model"], path)
        return weights_digest(loaded)

    run = digest_of(str(tmp_path / "run" / "latest_ckpt.pth"))
    assert run == digest_of(str(tmp_path / "weights" / "fp32.pth")) == weights_digest(model)
    assert digest_of(str(tmp_path / "weights" / "fp16.pth")) != run  # rounded weights score differently
    mean = model.get_buffer("head.stems.0.bn.running_mean")
    trained = mean.clone()
    mean[0] += 1e-3  # a BN statistic is part of the weights
    assert weights_digest(model) != run
    mean.copy_(trained)
    model.get_buffer("head.stems.0.bn.num_batches_tracked").add_(7)  # a counter is not
    assert weights_digest(model) == run


def test_a_fine_tune_records_the_weights_it_started_from(tmp_path):
    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano_lrelu.py"))
    fake_run(str(tmp_path / "run"), exp)
    start = tmp_path / "stock_s0.pth"
    atomic_save({"model": {}, "start_epoch": 45}, str(start))
    entry = publish(str(tmp_path / "run"), str(tmp_path / "weights"), "lrelu_s0", "quick", 0,
                    finetuned_from=str(start))
    # the fake run predates runs recording prior_epochs: the start file's epochs are counted instead
    assert entry["prior_epochs"] == 45 == load_checkpoint(str(tmp_path / "weights" / "lrelu_s0.pth"))["prior_epochs"]
    assert entry["finetuned_from"] == {"file": "stock_s0.pth", "sha256": hashlib.sha256(start.read_bytes()).hexdigest()}
    assert read_manifest(str(tmp_path / "weights"))[0]["finetuned_from"] == entry["finetuned_from"]
    with pytest.raises(CheckpointError, match="nowhere.pth: checkpoint not found"):
        publish(str(tmp_path / "run"), str(tmp_path / "weights"), "lrelu_s1", "quick", 1,
                finetuned_from=str(tmp_path / "nowhere.pth"))
    assert [e["file"] for e in read_manifest(str(tmp_path / "weights"))] == ["lrelu_s0.pth"]


def test_a_published_file_records_its_own_test_score(synthetic_voc, tmp_path, capfd):
    """A float16 file scores a little differently from the run's float32 weights: its own score, measured by
    tools/eval.py on the file, goes into the manifest beside the run's."""
    from yolox_mods.cli import eval as eval_cli
    from yolox_mods.cli import publish_weights as publish_cli
    from yolox_mods.weights import record_file_score

    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"))
    fake_run(str(tmp_path / "run"), exp)
    publish(str(tmp_path / "run"), str(tmp_path / "weights"), "stock_s0", "quick", 0, dtype="float16",
            results_dir=str(tmp_path / "results"))
    published = str(tmp_path / "weights" / "stock_s0.pth")
    evaluation = str(tmp_path / "file_test.json")
    eval_cli.main(["-f", os.path.join(ROOT, "exps", "yolox_voc_nano.py"), "-c", published, "-b", "8", "--device",
                   "cpu", "--json", evaluation, "data_dir", synthetic_voc, "test_size", "(128,128)",
                   "data_num_workers", "0"])
    capfd.readouterr()
    publish_cli.main(["--name", "stock_s0", "--file-eval", evaluation, "--weights-dir", str(tmp_path / "weights"),
                      "--results-dir", str(tmp_path / "results")])
    entry = read_manifest(str(tmp_path / "weights"))[0]
    scored = EvalRecord.read(evaluation)
    assert entry["file_test"] == {"images": 8, "mAP50": round(scored.map50, 4), "mAP50_95": round(scored.map50_95, 4),
                                  "weights": scored.weights}
    # kept beside the run's records, with the run's setting (this fake run's file holds none) and its matches
    kept_path = str(tmp_path / "results" / "stock_s0" / "file_test.json")
    kept = EvalRecord.read(kept_path)
    assert kept.training == QUICK_SETTING and kept.map50 == scored.map50 and kept.matches == "file_test.matches.npz"
    assert kept.load_matched(kept_path).image_ids == scored.load_matched(evaluation).image_ids
    assert entry["test"]["mAP50"] == 12.3456  # the run's score stays beside it
    # an evaluation of another file, or on val, is not this file's test score
    other = EvalRecord.read(evaluation)
    other.model_file = "weights/other.pth"
    other.write(str(tmp_path / "other.json"))
    with pytest.raises(ValueError, match="other.json: a test evaluation of weights/other.pth, not of stock_s0.pth"):
        record_file_score(str(tmp_path / "weights"), "stock_s0", str(tmp_path / "other.json"))
    with pytest.raises(SystemExit):
        publish_cli.main([str(tmp_path / "run"), "--name", "stock_s0", "--file-eval", evaluation])
    assert "error: --file-eval records the score of a file already published" in capfd.readouterr().err


def test_a_run_record_without_its_setting_is_not_published(tmp_path):
    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"))
    fake_run(str(tmp_path / "run"), exp, training=None)
    with pytest.raises(DataError, match="run/test_eval.json: no run setting"):
        publish(str(tmp_path / "run"), str(tmp_path / "weights"), "stock_s0", "quick", 0)
    assert not os.path.exists(tmp_path / "weights" / "stock_s0.pth")


def test_the_benchmark_times_the_published_weights_of_the_evaluated_schedule(tmp_path):
    """A 2x file sorts before the 45-epoch file of its exp in the manifest; a 45-epoch variant table must still
    time and name the 45-epoch weights, a 90-epoch table the 90-epoch ones, and no evaluations the shorter."""
    from yolox_mods.cli.benchmark import timed_models

    exp_file = os.path.join(ROOT, "exps", "yolox_voc_nano.py")
    exp, weights = load_exp(exp_file), str(tmp_path / "weights")
    for name, epochs, bias in (("stock_s0", 45, 0.25), ("stock_2x_s0", 90, 0.75)):
        model = exp.get_model()
        model.head.cls_preds[0].bias.data.fill_(bias)
        fake_run(str(tmp_path / name), exp, model, epochs)
        publish(str(tmp_path / name), weights, name, "quick", 0)
    assert [e["file"] for e in read_manifest(weights)] == ["stock_2x_s0.pth", "stock_s0.pth"]
    for schedules, file, bias in (({"yolox_voc_nano": 45}, "stock_s0.pth", 0.25),
                                  ({"yolox_voc_nano": 90}, "stock_2x_s0.pth", 0.75),
                                  (None, "stock_s0.pth", 0.25)):
        models, published = timed_models([exp_file], weights, schedules)
        assert published == {"yolox_voc_nano": os.path.join(weights, file)}
        assert torch.all(models["yolox_voc_nano"].head.cls_preds[0].bias == bias)


def test_committed_weights_match_their_manifest():
    entries = read_manifest(WEIGHTS)
    assert entries, "weights/manifest.json lists the weights that docs/results.md cites"
    assert verify(WEIGHTS) == {}
    for entry in entries:
        assert {"exp", "seed", "protocol", "epochs", "sha256", "date", "test"} <= set(entry)


def test_every_float16_file_records_its_own_test_score():
    """A float16 file scores a little differently from its run's float32 weights: the manifest gives both, and they
    stay close (casting to float16 moved no file by more than 0.2 mAP50)."""
    float16 = [entry for entry in read_manifest(WEIGHTS) if entry["dtype"] == "float16"]
    assert float16
    for entry in float16:
        assert entry["file_test"]["images"] == entry["test"]["images"], entry["file"]
        assert abs(entry["file_test"]["mAP50"] - entry["test"]["mAP50"]) < 0.2, entry["file"]


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(VAL_VOC), reason="needs the quick protocol's val images (voc_mini's 300 test "
                                                       "images; datasets/build_quick_voc.py builds them)")
def test_a_published_checkpoint_reproduces_its_val_score(capfd):
    from yolox_mods.cli import eval as eval_cli

    entry = next(e for e in read_manifest(WEIGHTS) if "val" in e)
    exp_file = os.path.join(ROOT, "exps", entry["exp"] + ".py")
    # the protocol's val images are voc_mini's test split: scored as this folder's test split
    eval_cli.main(["-f", exp_file, "-c", os.path.join(WEIGHTS, entry["file"]), "-b", "16", "--device", "cpu",
                   "--protocol", entry["protocol"], "--split", "test", "data_dir", VAL_VOC])
    line = next(text for text in capfd.readouterr().out.splitlines() if text.startswith("mAP50:"))
    assert float(line.split()[1]) == pytest.approx(entry["val"]["mAP50"], abs=0.05)

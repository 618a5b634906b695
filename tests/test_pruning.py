"""Structured pruning of the detector: every exp prunes and runs, a budget is met by an independent count, the
architecture travels with the checkpoint, BatchNorm statistics are re-estimated, and a pruned model trains,
resumes, evaluates, exports and demos through the tools."""
import json
import os
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

from yolox_mods.common.batchnorm import recalibrate_batchnorm
from yolox_mods.common.errors import CheckpointError
from yolox_mods.exp_files import load_exp
from yolox_mods.pruning import (
    PruneSettings,
    PruningError,
    apply_architecture,
    architecture_of,
    plan_exclusions,
    prune_detector,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# one exp per structure DepGraph meets: plain depthwise, MixConv, the Dark2 path, Ghost (final_nano, which has
# them together, is pruned in the round trip below)
FAMILIES = ["dwconv_nano", "mdconv_nano", "dark2fpn_nano", "ghost_nano"]


def exp_model(name):
    torch.manual_seed(0)
    exp = load_exp(os.path.join(ROOT, "exps", f"{name}.py"))
    return exp, exp.get_model().eval()


def independent_gflops(model, size=416):
    """2 x MACs as Torch-Pruning's own counter gives them (not the thop count the budget search uses)."""
    import torch_pruning as tp

    macs, _ = tp.utils.count_ops_and_params(model, torch.zeros(1, 3, size, size))
    return 2 * macs / 1e9


@pytest.mark.parametrize("name", FAMILIES)
def test_every_exp_prunes_and_keeps_its_outputs(name):
    _, model = exp_model(name)
    image = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        before = model(image)
    pruned, result = prune_detector(model, PruneSettings(ratio=0.4), example_size=128)
    with torch.no_grad():
        after = pruned.eval()(image)
    assert after.shape == before.shape  # every anchor still predicts box, objectness and 20 classes
    assert result.gflops < 0.8 * result.gflops_before and result.params < result.params_before
    assert independent_gflops(pruned) < 0.8 * independent_gflops(model)
    assert architecture_of(model) != architecture_of(pruned)  # the input model is left as it was
    assert 0.9 < result.report.fraction <= 1.0, result.report.describe()


def test_the_report_names_every_unit_left_unpruned():
    _, stock = exp_model("yolox_voc_nano")
    _, _, report = plan_exclusions(stock, torch.randn(1, 3, 128, 128))
    assert sorted(report.excluded) == sorted(f"head.{kind}.{level}" for kind in ("cls_preds", "reg_preds",
                                                                                 "obj_preds") for level in range(3))
    assert report.channels - report.prunable == 3 * (20 + 4 + 1)  # the prediction convs' outputs
    _, final = exp_model("final_nano")  # MixConv, the Dark2 path's channel-multiplier conv: all prunable
    _, _, report = plan_exclusions(final, torch.randn(1, 3, 128, 128))
    assert sorted(report.excluded) == sorted(f"head.{kind}.{level}" for kind in ("cls_preds", "reg_preds",
                                                                                 "obj_preds") for level in range(3))
    assert report.channels - report.prunable == 3 * (20 + 4 + 1)
    assert "kept: head.obj_preds.0 (prediction output)" in report.describe()


def test_a_channel_multiplier_conv_loses_whole_filter_groups():
    """The Dark2 path's depthwise conv (32 -> 64 channels, 2 filters per input channel) keeps both filters of
    every input channel it keeps, and dark3's sum keeps exactly those filters' outputs."""
    _, model = exp_model("dark2fpn_nano")
    pruned, _ = prune_detector(model, PruneSettings(ratio=0.5, round_to=8), example_size=128)
    before, after = dict(model.named_modules()), dict(pruned.named_modules())

    def kept(name):  # the original channels a depthwise conv kept: its filters are rows of the original's
        original = before[f"backbone.backbone.{name}"].weight.flatten(1)
        return [next(index for index, row in enumerate(original) if torch.equal(row, filter_))
                for filter_ in after[f"backbone.backbone.{name}"].weight.flatten(1)]

    dark2 = kept("dark3.0.dconv.conv")  # the depthwise conv reading dark2's output
    down = kept("dark2_down.conv")
    dark3 = kept("dark4.0.dconv.conv")  # the depthwise conv reading dark3 + dark2_down
    assert len(dark2) < 32 and down == [2 * channel + offset for channel in dark2 for offset in (0, 1)]
    assert dark3 == down
    features = torch.randn(1, 32, 16, 16)
    with torch.no_grad():  # PyTorch's grouped conv as the reference
        expected = before["backbone.backbone.dark2_down.conv"](features)[:, down]
        assert torch.allclose(after["backbone.backbone.dark2_down.conv"](features[:, dark2]), expected, atol=1e-6)


def test_a_gflops_budget_is_met_within_its_tolerance():
    _, model = exp_model("yolox_voc_nano")
    target = 0.5 * 1.0854  # half of stock's GFLOPs at 416 (tests/test_exps.py's table, YOLOX's count)
    pruned, result = prune_detector(model, PruneSettings(target_gflops=target), example_size=128)
    assert 0.98 * target <= result.gflops <= target  # a budget is a ceiling, met within 2% below it
    # another counter (it leaves out some ops, so its totals are ~3% lower) sees the same share removed
    assert independent_gflops(pruned) / independent_gflops(model) == pytest.approx(result.gflops / 1.0854, rel=0.03)
    with pytest.raises(PruningError, match="already within"):
        prune_detector(model, PruneSettings(target_gflops=2.0), example_size=128)
    # widths kept at multiples of 16 cannot go below 16 channels: a budget under that floor is refused, naming
    # what the most pruned model still has
    floor = r"cannot prune to 0.1 GFLOPs: the most pruned model \(ratio 0\.\d+\) has 0\.[2-9]"
    with pytest.raises(PruningError, match=floor):
        prune_detector(model, PruneSettings(target_gflops=0.1, round_to=16), example_size=128)


def test_taylor_importance_uses_the_loss_gradients():
    exp, model = exp_model("yolox_voc_nano")
    targets = torch.zeros(2, 120, 5)
    targets[:, 0] = torch.tensor([3.0, 64.0, 64.0, 40.0, 40.0])

    def gradients(target):
        target.train()
        target(torch.rand(2, 3, 128, 128) * 255, targets)["total_loss"].backward()

    pruned, result = prune_detector(model, PruneSettings(importance="taylor", ratio=0.3), example_size=128,
                                    gradients=gradients)
    assert result.gflops < result.gflops_before
    assert all(parameter.grad is None for parameter in pruned.parameters())
    assert all(parameter.grad is None for parameter in model.parameters())  # computed on a copy


def test_an_architecture_round_trips_and_refuses_another_family(tmp_path):
    exp, model = exp_model("final_nano")
    pruned, _ = prune_detector(model, PruneSettings(ratio=0.5), example_size=128)
    rebuilt = exp.get_model()
    optimizer_params = list(rebuilt.parameters())
    apply_architecture(rebuilt, architecture_of(pruned), "pruned.pth")
    assert [id(p) for p in rebuilt.parameters()] == [id(p) for p in optimizer_params]
    rebuilt.load_state_dict(pruned.state_dict())
    image = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(image), pruned.eval()(image))
    _, other = exp_model("ghost_nano")
    with pytest.raises(CheckpointError, match="pruned.pth: its pruned architecture does not match"):
        apply_architecture(other, architecture_of(pruned), "pruned.pth")


def test_the_sparsity_term_is_the_sum_of_batchnorm_scales():
    from yolox_mods.pruning import batchnorm_scale_l1

    _, model = exp_model("yolox_voc_nano")
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for i, norm in enumerate(norms):
        norm.weight.data.fill_(-0.5 if i % 2 else 0.25)
    expected = sum(norm.num_features * (0.5 if i % 2 else 0.25) for i, norm in enumerate(norms))
    assert batchnorm_scale_l1(model).item() == pytest.approx(expected)
    batchnorm_scale_l1(model).backward()
    assert norms[1].weight.grad.eq(-1).all() and norms[0].weight.grad.eq(1).all()


def test_recalibration_gives_the_statistics_of_the_batches():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5))
    model[1].running_mean.fill_(7.0)
    batches = [torch.randn(8, 3, 10, 10) + i for i in range(3)]
    assert recalibrate_batchnorm(model, batches) == 3
    with torch.no_grad():
        features = [model[0](batch) for batch in batches]
    mean = torch.stack([f.mean(dim=(0, 2, 3)) for f in features]).mean(0)
    variance = torch.stack([f.transpose(0, 1).reshape(4, -1).var(dim=1, unbiased=True) for f in features]).mean(0)
    assert torch.allclose(model[1].running_mean, mean, atol=1e-5)
    assert torch.allclose(model[1].running_var, variance, rtol=1e-4)
    assert not model.training and not model[1].training and model[1].momentum == 0.1
    with pytest.raises(ValueError, match="at least one batch"):
        recalibrate_batchnorm(model, [])
    assert torch.allclose(model[1].running_mean, mean, atol=1e-5)  # nothing reset by the refusal


@pytest.mark.slow
def test_a_pruned_checkpoint_trains_resumes_evaluates_exports_and_demos(synthetic_voc, tmp_path):
    tools = os.path.join(ROOT, "tools")
    data = ["data_dir", synthetic_voc, "input_size", "(128,128)", "test_size", "(128,128)", "data_num_workers", "0"]
    small = ["warmup_epochs", "1", "no_aug_epochs", "1", "random_size", "(4,4)", "print_interval", "1"]

    def run(tool, *args):
        result = subprocess.run([sys.executable, os.path.join(tools, tool), *args], capture_output=True, text=True,
                                timeout=600, cwd=ROOT)
        return result

    # trained with network slimming's sparsity term, then pruned by BatchNorm scale
    trained = run("train.py", "-n", "yolox_voc_nano", "-b", "8", "--device", "cpu", *data, *small,
                  "output_dir", str(tmp_path), "max_epoch", "1", "bn_sparsity", "1e-4")
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "bn_l1_loss" in trained.stderr
    source = str(tmp_path / "yolox_voc_nano" / "latest_ckpt.pth")
    pruned_path = str(tmp_path / "pruned.pth")
    pruned = run("prune.py", "-n", "yolox_voc_nano", "-c", source, "-o", pruned_path, "--target-gflops", "0.5",
                 "--importance", "bn", "-b", "8", "--calibration-batches", "2", "--device", "cpu", *data)
    assert pruned.returncode == 0, pruned.stderr[-3000:]
    assert "prunable: " in pruned.stdout and "-> 0.5" in pruned.stdout
    checkpoint = torch.load(pruned_path, weights_only=False)
    assert checkpoint["architecture"]["backbone.backbone.stem.conv.conv"]["out"] < 16
    assert checkpoint["pruning"]["source"] == source and "optimizer" not in checkpoint
    assert (checkpoint["start_epoch"], checkpoint["prior_epochs"]) == (1, 0)  # its source's epochs, carried

    evaluated = run("eval.py", "-n", "yolox_voc_nano", "-c", pruned_path, "-b", "8", "--device", "cpu", "--json",
                    str(tmp_path / "pruned_eval.json"), *data)
    assert evaluated.returncode == 0 and "mAP50:" in evaluated.stdout, evaluated.stderr[-3000:]
    assert json.loads((tmp_path / "pruned_eval.json").read_text())["exp"] == "yolox_voc_nano"
    onnx = str(tmp_path / "pruned.onnx")
    # one epoch and two calibration batches leave some BatchNorm variances tiny, which amplifies float rounding:
    # the default atol (1e-4, for trained models) was exceeded once by 7.8e-4 on a score
    exported = run("export_onnx.py", "-n", "yolox_voc_nano", "-c", pruned_path, "--tsize", "128", "--output-name",
                   onnx, "--atol", "2e-3")
    assert exported.returncode == 0 and "within atol" in exported.stdout, exported.stderr[-3000:]
    quantized = run("quantize_onnx.py", "-n", "yolox_voc_nano", "--onnx", onnx, "--output",
                    str(tmp_path / "pruned_int8.onnx"), "--calib", "4", *data)
    assert quantized.returncode == 0 and os.path.exists(tmp_path / "pruned_int8.onnx"), quantized.stderr[-3000:]
    image = os.path.join(synthetic_voc, "VOC2007", "JPEGImages", sorted(os.listdir(
        os.path.join(synthetic_voc, "VOC2007", "JPEGImages")))[0])
    demo = run("demo.py", "image", "-n", "yolox_voc_nano", "-c", pruned_path, "--path", image, "--device", "cpu",
               "--tsize", "128")
    assert demo.returncode == 0, demo.stderr[-3000:]

    # fine-tuned while distilled from the unpruned weights it came from, FPN features through adapters
    teacher = ["teacher_ckpt", source, "distill_feature", "1.0"]
    tuned = run("train.py", "-n", "yolox_voc_nano", "-c", pruned_path, "-b", "8", "--device", "cpu", "-expn", "tuned",
                *data, *small, *teacher, "output_dir", str(tmp_path), "max_epoch", "1")
    assert tuned.returncode == 0, tuned.stderr[-3000:]
    assert "fine-tune load" not in tuned.stderr  # every pruned tensor loaded into the pruned architecture
    assert "distill_cls_loss" in tuned.stderr and "distill_feature_loss" in tuned.stderr
    latest = str(tmp_path / "tuned" / "latest_ckpt.pth")
    state = torch.load(latest, weights_only=False)
    assert state["architecture"] == checkpoint["architecture"] and state["distilled_from"]["ckpt"] == source
    assert len(state["distill_adapters"]) == 6  # 3 levels x (weight, bias), kept for resuming
    assert not any(key.startswith(("teacher", "adapters")) for key in state["model"])
    resumed = run("train.py", "-n", "yolox_voc_nano", "--resume", "-b", "8", "--device", "cpu", "-expn", "tuned",
                  *data, *small, *teacher, "output_dir", str(tmp_path), "max_epoch", "2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    state = torch.load(latest, weights_only=False)
    # the fine-tune counts the epoch its pruned source trained, before and after resuming
    assert (state["start_epoch"], state["prior_epochs"]) == (2, 1)
    record = json.loads((tmp_path / "tuned" / "test_eval.json").read_text())
    assert (record["epoch"], record["prior_epochs"]) == (2, 1)

    # the same architecture from fresh weights (the from-scratch control), which resumes from its own checkpoint
    scratch = ["architecture_from", pruned_path]
    fresh = run("train.py", "-n", "yolox_voc_nano", "-b", "8", "--device", "cpu", "-expn", "scratch", *data, *small,
                *scratch, "output_dir", str(tmp_path), "max_epoch", "1")
    assert fresh.returncode == 0 and "fresh weights" in fresh.stderr, fresh.stderr[-3000:]
    state = torch.load(str(tmp_path / "scratch" / "latest_ckpt.pth"), weights_only=False)
    assert state["architecture"] == checkpoint["architecture"] and state["prior_epochs"] == 0
    stem = "backbone.backbone.stem.conv.conv.weight"
    assert state["model"][stem].shape == checkpoint["model"][stem].shape
    assert not torch.allclose(state["model"][stem], checkpoint["model"][stem], atol=1e-2)
    both = run("train.py", "-n", "yolox_voc_nano", "-c", pruned_path, "-b", "8", "--device", "cpu", *data, *small,
               *scratch, "output_dir", str(tmp_path), "max_epoch", "1")
    assert both.returncode != 0 and "give one" in both.stderr

    foreign = run("eval.py", "-n", "ghost_nano", "-c", pruned_path, "-b", "8", "--device", "cpu", *data)
    assert foreign.returncode != 0
    assert f"error: {pruned_path}: its pruned architecture does not match" in foreign.stderr

    # published like any run: the file keeps the architecture, and loads by the exp alone
    from yolox_mods.evaluation import load_for_eval
    from yolox_mods.weights import publish

    entry = publish(str(tmp_path / "tuned"), str(tmp_path / "weights"), "pruned_s0", "quick", 0, dtype="float16")
    assert (entry["epochs"], entry["prior_epochs"]) == (2, 1)
    published = load_for_eval(load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py")),
                              str(tmp_path / "weights" / "pruned_s0.pth"))
    assert architecture_of(published) == checkpoint["architecture"]


def test_a_reshaped_model_is_reinitialised_as_a_built_one():
    from yolox_mods.models import reinitialize

    exp, model = exp_model("yolox_voc_nano")
    pruned, _ = prune_detector(model, PruneSettings(ratio=0.5))
    reshaped = apply_architecture(exp.get_model(), architecture_of(pruned), "pruned")
    reinitialize(reshaped)
    prior = -torch.log(torch.tensor((1 - 1e-2) / 1e-2))
    for level in range(3):
        assert torch.allclose(reshaped.head.obj_preds[level].bias, prior)
        assert torch.allclose(reshaped.head.cls_preds[level].bias, prior)
    norms = [m for m in reshaped.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(m.eps == 1e-3 and m.momentum == 0.03 and torch.all(m.weight == 1) and torch.all(m.running_var == 1)
               for m in norms)
    convs = [m for m in reshaped.modules() if isinstance(m, nn.Conv2d)]
    # PyTorch's default conv init: uniform within +-1/sqrt(fan_in)
    for conv in convs:
        fan_in = conv.weight[0].numel()
        assert conv.weight.abs().max() <= 1 / fan_in ** 0.5 + 1e-6
    assert architecture_of(reshaped) == architecture_of(pruned)
    with torch.no_grad():
        outputs = reshaped.eval()(torch.zeros(1, 3, 128, 128))
    assert outputs.shape == (1, 336, 25) and torch.isfinite(outputs).all()


def test_iterative_pruning_reaches_the_one_shot_widths_in_steps():
    _, model = exp_model("yolox_voc_nano")
    calls = []
    one_shot, first = prune_detector(model, PruneSettings(ratio=0.4), example_size=128)
    stepped, second = prune_detector(model, PruneSettings(ratio=0.4, steps=3), example_size=128,
                                     between_steps=lambda pruning: calls.append(architecture_of(pruning)))
    assert architecture_of(stepped) == architecture_of(one_shot) and second.gflops == first.gflops
    # between the 3 steps the model was partly pruned, less after the first than after the second
    width = "backbone.backbone.stem.conv.conv"
    assert len(calls) == 2 and calls[0][width]["out"] > calls[1][width]["out"] > architecture_of(stepped)[width]["out"]

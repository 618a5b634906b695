"""Detection distillation: the loss terms against hand computations on a toy pair, the frozen teacher, and the
adapters outside the student."""
import math
import os

import pytest
import torch

from yolox_mods.common.errors import ConfigError
from yolox_mods.distill import DetectionDistiller, DistillWeights, detection_distillation_losses
from yolox_mods.exp_files import load_exp
from yolox_mods.pruning import PruneSettings, prune_detector

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_terms_on_a_toy_pair():
    # two anchors, two classes: the teacher sure of an object on anchor 0 and of background on anchor 1
    t_obj = torch.tensor([[[50.0], [-50.0]]])
    t_cls = torch.tensor([[[0.0, 2.0], [1.0, -1.0]]])
    t_box = torch.tensor([[[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]]])
    s_box = t_box + torch.tensor([[[0.5, 0.5, -0.5, -0.5], [9.0, 9.0, 9.0, 9.0]]])
    s_cls = torch.tensor([[[0.0, 0.0], [5.0, 5.0]]])
    s_obj = torch.tensor([[[0.0], [0.0]]])
    losses = detection_distillation_losses((s_box, s_obj, s_cls), (t_box, t_obj, t_cls), "teacher_obj")

    def bce(logit, p):
        q = 1 / (1 + math.exp(-logit))
        return -(p * math.log(q) + (1 - p) * math.log(1 - q))

    sig = [1 / (1 + math.exp(-v)) for v in (0.0, 2.0)]
    # the background anchor (teacher objectness ~0) does not count for class and box
    assert losses["distill_cls_loss"].item() == pytest.approx((bce(0.0, sig[0]) + bce(0.0, sig[1])) / 2, rel=1e-5)
    assert losses["distill_box_loss"].item() == pytest.approx(0.5, rel=1e-5)
    assert losses["distill_obj_loss"].item() == pytest.approx((bce(0.0, 1.0) + bce(0.0, 0.0)) / 2, rel=1e-4)
    uniform = detection_distillation_losses((s_box, s_obj, s_cls), (t_box, t_obj, t_cls), "uniform")
    assert uniform["distill_box_loss"].item() == pytest.approx((0.5 + 9.0) / 2, rel=1e-5)
    # equal outputs: no box loss, and the class term is at its minimum (zero gradient)
    same = s_cls.clone().requires_grad_(True)
    equal = detection_distillation_losses((t_box, t_obj, same), (t_box, t_obj, same.detach()), "teacher_obj")
    equal["distill_cls_loss"].backward()
    assert equal["distill_box_loss"].item() == 0 and same.grad.abs().max() < 1e-6
    with pytest.raises(ConfigError, match="distill_weighting must be one of"):
        DistillWeights(weighting="positives").check()


def test_student_positives_weight_the_anchors_simota_assigned():
    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"))
    torch.manual_seed(0)
    teacher = exp.get_model()
    student, _ = prune_detector(teacher, PruneSettings(ratio=0.5), example_size=128)
    distiller = DetectionDistiller(student, teacher, DistillWeights(weighting="student_positives"))
    images = torch.rand(2, 3, 128, 128) * 255
    targets = torch.zeros(2, 120, 5)
    targets[0, 0] = torch.tensor([3.0, 64.0, 64.0, 40.0, 40.0])  # one object in image 0, none in image 1
    student.train()
    distiller.train()
    losses = student(images, targets)
    positives = distiller.assignments.positives(distiller.student_taps.predictions()[1])
    # YOLOX's own loss reports its positives per ground-truth box: one box here
    assert positives.shape == (2, 16 * 16 + 8 * 8 + 4 * 4, 1)  # one anchor per cell of strides 8, 16, 32
    assert positives[0].sum().item() == losses["num_fg"] > 0 and positives[1].sum().item() == 0
    assert set(positives.unique().tolist()) == {0.0, 1.0}
    # the class term counts those anchors only: a student already equal to the teacher there has none to learn
    s_box, s_obj, s_cls = (t.detach().clone() for t in distiller.student_taps.predictions())
    t_box, t_obj, t_cls = s_box.clone(), s_obj.clone(), s_cls.clone()
    t_box[positives.expand_as(t_box) == 0] += 5.0  # differs from the student off the positives only
    weighted = detection_distillation_losses((s_box, s_obj, s_cls), (t_box, t_obj, t_cls), "student_positives",
                                             positives)
    assert weighted["distill_box_loss"].item() == 0
    assert detection_distillation_losses((s_box, s_obj, s_cls), (t_box, t_obj, t_cls), "uniform")[
        "distill_box_loss"].item() > 0
    losses.update(distiller.losses(images))  # the record was consumed: image 0's positives are gone
    assert losses["distill_box_loss"].item() == 0 and losses["distill_cls_loss"].item() == 0


def test_a_pruned_student_learns_from_a_frozen_teacher():
    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"))
    torch.manual_seed(0)
    teacher = exp.get_model()
    student, _ = prune_detector(teacher, PruneSettings(ratio=0.5), example_size=128)
    distiller = DetectionDistiller(student, teacher, DistillWeights(feature=1.0))
    assert [a.in_channels for a in distiller.adapters] == [s.conv.in_channels for s in student.head.stems]
    assert [a.out_channels for a in distiller.adapters] == [s.conv.in_channels for s in teacher.head.stems]
    images = torch.rand(2, 3, 128, 128) * 255
    targets = torch.zeros(2, 120, 5)
    targets[:, 0] = torch.tensor([3.0, 64.0, 64.0, 40.0, 40.0])
    student.train()
    distiller.train()
    losses = student(images, targets)
    losses.update(distiller.losses(images))
    (losses["total_loss"] + losses["distill_loss"]).backward()
    assert {"distill_cls_loss", "distill_obj_loss", "distill_box_loss", "distill_feature_loss"} <= set(losses)
    assert not teacher.training and all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    assert all(a.weight.grad is not None for a in distiller.adapters)
    assert student.head.cls_preds[0].weight.grad.abs().sum() > 0
    # the adapters and the teacher are not the student's: its state and its parameters are its own
    assert not any(key.startswith(("adapters", "teacher")) for key in student.state_dict())
    # an eval-mode forward of the student (its EMA copy shares its hooks) leaves the taps as they were
    kept = distiller.student_taps.outputs[("cls_preds", 0)]
    with torch.no_grad():
        student.eval()(images[:1, :, :64, :64])
    assert distiller.student_taps.outputs[("cls_preds", 0)] is kept


@pytest.mark.slow
def test_two_process_distillation_keeps_one_set_of_adapters(synthetic_voc, tmp_path):
    """Under DDP (gloo) the adapters, outside the wrapped student, get their gradients averaged like it."""
    import subprocess
    import sys

    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"))
    torch.manual_seed(1)
    teacher = str(tmp_path / "teacher.pth")
    torch.save({"model": exp.get_model().state_dict(), "act": "silu"}, teacher)
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "train.py"), "-n", "yolox_voc_nano", "-b", "8", "-d", "2",
         "--device", "cpu", "data_dir", synthetic_voc, "output_dir", str(tmp_path), "input_size", "(128,128)",
         "test_size", "(128,128)", "random_size", "(4,4)", "warmup_epochs", "1", "no_aug_epochs", "1",
         "data_num_workers", "0", "print_interval", "1", "max_epoch", "1", "test_at_end", "False",
         "teacher_ckpt", teacher, "distill_feature", "1.0"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "distill_feature_loss" in result.stderr and "iter 3/3" in result.stderr
    state = torch.load(tmp_path / "yolox_voc_nano" / "latest_ckpt.pth", weights_only=False)
    assert all(torch.isfinite(tensor).all() for tensor in state["distill_adapters"].values())

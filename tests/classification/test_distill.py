"""Each distillation mode's loss on hand-made logits."""
import math

import pytest
import torch
import torch.nn as nn

from classification.techniques.distill import Distiller, DistillKL, TrueLabelKL


class Constant(nn.Module):
    """A 'teacher' that outputs fixed logits for every image, with a BN to check it stays in eval mode."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.tensor(logits)
        self.bn = nn.BatchNorm1d(1)

    def forward(self, images):
        return self.logits.expand(len(images), -1)


def test_kl_by_hand():
    student = torch.zeros(1, 2)                       # uniform
    teacher = torch.tensor([[1.0, 0.0]])              # one-hot soft target
    assert DistillKL(temperature=1.0)(student, teacher).item() == pytest.approx(math.log(2))
    # T^2 scaling
    assert DistillKL(temperature=2.0)(student, teacher).item() == pytest.approx(4 * math.log(2))
    assert DistillKL(1.0)(torch.tensor([[2.0, 0.0]]), torch.softmax(torch.tensor([[2.0, 0.0]]), 1)).item() \
        == pytest.approx(0.0, abs=1e-7)


def test_true_label_kl_ignores_samples_the_teacher_gets_wrong():
    student = torch.zeros(2, 2)
    teacher = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # predicts class 0 for both
    labels = torch.tensor([0, 1])                     # right on the first only
    assert TrueLabelKL(1.0)(student, teacher, labels).item() == pytest.approx(math.log(2) / 2)


def test_ensemble_averages_soft_targets_and_combines_with_task_loss():
    teachers = [Constant([[4.0, 0.0]]), Constant([[0.0, 4.0]])]
    distiller = Distiller(teachers, nn.CrossEntropyLoss(), "kl", temperature=1.0, alpha=0.25)
    images = torch.zeros(3, 3, 8, 8)
    torch.testing.assert_close(distiller.soft_targets(images), torch.full((3, 2), 0.5))
    student = torch.tensor([[1.0, -1.0]] * 3, requires_grad=True)
    labels = torch.tensor([0, 0, 0])
    expected = 0.75 * nn.functional.cross_entropy(student, labels) + 0.25 * DistillKL(1.0)(
        student, torch.full((3, 2), 0.5))
    loss = distiller(student, labels, images)
    assert loss.item() == pytest.approx(expected.item())
    loss.backward()
    assert student.grad is not None


def test_teachers_are_frozen_and_stay_in_eval_mode():
    teacher = Constant([[1.0, 0.0]])
    Distiller([teacher], nn.CrossEntropyLoss()).train()
    assert not teacher.training
    assert not any(p.requires_grad for p in teacher.parameters())


def test_unknown_method_and_no_teacher():
    with pytest.raises(ValueError, match="unknown distillation method"):
        Distiller([Constant([[1.0]])], nn.CrossEntropyLoss(), "fitnets")
    with pytest.raises(ValueError, match="at least one teacher"):
        Distiller([], nn.CrossEntropyLoss())


def test_similarity_preserving_loss_ignores_width_and_scale_but_not_relations():
    from classification.techniques.distill import sp_loss

    torch.manual_seed(0)
    teacher = [torch.randn(6, 8, 4, 4), torch.randn(6, 16, 2, 2)]
    # the same samples' relations at twice the width (channels repeated) and another scale: nothing to learn
    student = [torch.cat([t, t], dim=1) * 3 for t in teacher]
    assert float(sp_loss(student, teacher)) == pytest.approx(0.0, abs=1e-6)
    shuffled = [t[torch.randperm(6)] for t in teacher]  # other relations between the samples
    assert float(sp_loss(shuffled, teacher)) > 1e-3


def test_rkd_distance_loss_is_scale_invariant():
    from classification.techniques.distill import rkd_distance_loss

    torch.manual_seed(0)
    teacher = [torch.randn(5, 8, 3, 3)]
    assert float(rkd_distance_loss([2.5 * teacher[0]], teacher)) == pytest.approx(0.0, abs=1e-6)
    assert float(rkd_distance_loss([torch.randn(5, 8, 3, 3)], teacher)) > 1e-3


def test_fitnet_regressor_trains_with_the_student_and_resumes(tmp_path):
    from classification.data import load_data, make_synthetic_folder
    from classification.models import ShuffleNetV1
    from classification.train import TrainConfig, fit, task_loss

    root = make_synthetic_folder(str(tmp_path / "data"), classes=3, train_per_class=6, val_per_class=1,
                                 test_per_class=1, size=40)
    train, _, _ = load_data(root)
    torch.manual_seed(0)
    student, teacher = ShuffleNetV1(3), ShuffleNetV1(3, width=0.5)
    config = TrainConfig(epochs=1, batch_size=6, num_workers=0, lr=0.05)
    distiller = Distiller([teacher], task_loss(config), "fitnet", student=student)
    # one hint, the middle stage: the student's 120 channels to the teacher's 240
    assert tuple(distiller.regressor[0].weight.shape[:2]) == (240, 120)
    before = distiller.regressor[0].weight.detach().clone()
    teacher_before = [p.detach().clone() for p in teacher.parameters()]
    fit(student, train, 32, config, criterion=distiller, checkpoint_path=str(tmp_path / "e.pth"))
    assert not torch.equal(before, distiller.regressor[0].weight)
    assert all(torch.equal(b, p) for b, p in zip(teacher_before, teacher.parameters()))
    saved = torch.load(tmp_path / "e.pth", weights_only=False)["criterion"]
    # the regressor's weights and BN statistics, not the frozen teacher
    assert set(saved) == {"regressor.0.weight", "regressor.1.weight", "regressor.1.bias", "regressor.1.running_mean",
                          "regressor.1.running_var", "regressor.1.num_batches_tracked"}
    assert int(saved["regressor.1.num_batches_tracked"]) == 3
    distiller.close()

    # a second epoch resumed by a new distiller: the regressor continues from the saved state
    student_again = ShuffleNetV1(3)
    resumed = Distiller([teacher], task_loss(config), "fitnet", student=student_again)
    config.epochs = 2
    fit(student_again, train, 32, config, criterion=resumed, checkpoint_path=str(tmp_path / "e.pth"))
    assert int(resumed.regressor[1].num_batches_tracked) == 6
    resumed.close()
    with pytest.raises(ValueError, match="give one teacher"):
        Distiller([teacher, teacher], task_loss(config), "sp", student=student)


def test_a_teacher_that_does_not_beat_the_bar_stops_the_run_before_distilling():
    from types import SimpleNamespace

    from classification.pipeline import check_teachers

    pipeline = SimpleNamespace(rows=[{"stage": "wide", "f1": 0.60}, {"stage": "long", "f1": 0.70},
                                     {"stage": "best", "f1": 0.80}])
    stage = {"name": "distill", "teachers": ["wide", "best"], "teacher_must_beat": "long"}
    with pytest.raises(ValueError, match=r"^stage 'distill': teacher wide \(0.6000\) does not beat long \(0.7000\) "
                                         r"on val; teacher_must_beat stops the run before it distils$"):
        check_teachers(pipeline, stage)
    check_teachers(pipeline, {**stage, "teachers": ["best"]})
    check_teachers(pipeline, {"name": "distill", "teachers": ["wide"]})  # no bar, no check


def test_the_bar_must_be_an_earlier_stage():
    from classification.recipe import check_recipe

    recipe = {"input_size": 32, "model": {}, "stages": [
        {"name": "a", "kind": "train"},
        {"name": "d", "kind": "distill", "from": "a", "teachers": ["a"], "teacher_must_beat": "later"},
        {"name": "later", "kind": "train"}]}
    with pytest.raises(ValueError, match="stage 'd': 'later' is not an earlier stage"):
        check_recipe(recipe, "r.yaml")

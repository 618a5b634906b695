"""Each distillation mode's loss on hand-made logits."""
import math

import pytest
import torch
import torch.nn as nn

from classification.distill import DistillKL, Distiller, TrueLabelKL


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

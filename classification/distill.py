"""Knowledge distillation: one loss class per method, each ``forward(student_logits, teacher_logits, labels)``.

Teachers are frozen and averaged as probabilities (an ensemble of one is a single teacher); a chain is two
distillations in a row (A teaches B, then B teaches C) and is set up by the compression recipe.
"""
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from yolox_mods.common import ConfigError


class DistillKL(nn.Module):
    """Hinton et al. 2015: KL(teacher_T || student_T) * T^2, averaged over the batch."""

    def __init__(self, temperature: float = 4.0):
        super().__init__()
        self.temperature = temperature

    def per_sample(self, student_logits: torch.Tensor, teacher_probs_t: torch.Tensor) -> torch.Tensor:
        log_student = F.log_softmax(student_logits / self.temperature, dim=1)
        return F.kl_div(log_student, teacher_probs_t, reduction="none").sum(1) * self.temperature ** 2

    def forward(self, student_logits, teacher_probs_t, labels=None):
        return self.per_sample(student_logits, teacher_probs_t).mean()


class TrueLabelKL(DistillKL):
    """KD only on the samples the teacher classifies correctly (the rest contribute 0, the mean is over all)."""

    def forward(self, student_logits, teacher_probs_t, labels=None):
        correct = (teacher_probs_t.argmax(1) == labels).float()
        return (self.per_sample(student_logits, teacher_probs_t) * correct).mean()


KD_LOSSES = {"kl": DistillKL, "true_label": TrueLabelKL}


class Distiller(nn.Module):
    """``(1 - alpha) * task_loss + alpha * kd_loss`` with frozen ``teachers`` (soft targets averaged).

    Call as ``distiller(student_logits, labels, images)``; the teachers see the same (augmented) images.
    """

    def __init__(self, teachers: Sequence[nn.Module], task_loss: nn.Module, method: str = "kl",
                 temperature: float = 4.0, alpha: float = 0.7):
        super().__init__()
        if method not in KD_LOSSES:
            raise ConfigError(f"unknown distillation method {method!r}; choose from {sorted(KD_LOSSES)}")
        if not teachers:
            raise ConfigError("distillation needs at least one teacher")
        self.teachers = nn.ModuleList(teachers)
        for teacher in self.teachers:
            teacher.eval().requires_grad_(False)
        self.task_loss = task_loss
        self.kd_loss = KD_LOSSES[method](temperature)
        self.alpha = alpha

    def train(self, mode: bool = True):
        super().train(mode)
        self.teachers.eval()  # frozen BN statistics whatever the student does
        return self

    def soft_targets(self, images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            t = self.kd_loss.temperature
            return torch.stack([F.softmax(teacher(images) / t, dim=1) for teacher in self.teachers]).mean(0)

    def forward(self, student_logits, labels, images):
        hard_labels = labels if labels.dim() == 1 else labels.argmax(1)
        kd = self.kd_loss(student_logits, self.soft_targets(images), hard_labels)
        return (1 - self.alpha) * self.task_loss(student_logits, labels) + self.alpha * kd

"""Knowledge distillation. Response-based: one loss class per method, each ``forward(student_logits,
teacher_probs, labels)``; teachers are frozen and averaged as probabilities (an ensemble of one is a single
teacher); a chain is two distillations in a row (A teaches B, then B teaches C), set up by the recipe.
Feature- and relation-based (one teacher), on the stages' outputs, added to the response loss:
- ``fitnet`` (Romero et al. 2015, FitNets hints), as RepDistiller runs it: one hint, the middle stage's output;
  a regressor (1x1 conv, BN, ReLU) maps the student's features to the teacher's width, mean squared error; the
  regressor trains with the student;
- ``sp`` (Tung & Mori 2019, similarity-preserving): the batch's pairwise-similarity matrices of student and
  teacher features match, whatever their widths;
- ``rkd`` (Park et al. 2019, relational KD, distance term): the normalised pairwise distances between the
  pooled last-stage embeddings match (smooth L1).
Default weights (``beta``) are RepDistiller's: fitnet 100, sp 3000, rkd 25.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from yolox_mods.common import ConfigError

from ..models import StageTaps


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


def sp_loss(student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor]) -> torch.Tensor:
    """Similarity-preserving KD: sum over stages of ||G_s - G_t||_F^2 / b^2, G the row-normalised A A^T of the
    flattened features A (b x chw)."""
    total = 0.0
    for s_feat, t_feat in zip(student, teacher):
        b = s_feat.shape[0]
        g_s = F.normalize(s_feat.reshape(b, -1) @ s_feat.reshape(b, -1).t(), dim=1)
        g_t = F.normalize(t_feat.reshape(b, -1) @ t_feat.reshape(b, -1).t(), dim=1)
        total = total + ((g_s - g_t) ** 2).sum() / b ** 2
    return total


def rkd_distance_loss(student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor]) -> torch.Tensor:
    """RKD distance term on the globally pooled last-stage features: pairwise distances, each divided by their
    mean, compared with smooth L1."""
    def distances(features):
        embedding = features.mean(dim=(2, 3))
        d = torch.cdist(embedding, embedding)
        return d / d[d > 0].mean().clamp_min(1e-12)
    return F.smooth_l1_loss(distances(student[-1]), distances(teacher[-1]))


FEATURE_LOSSES = {"fitnet": None, "sp": sp_loss, "rkd": rkd_distance_loss}
FEATURE_WEIGHTS = {"fitnet": 100.0, "sp": 3000.0, "rkd": 25.0}
# RepDistiller's hint layer: the middle stage. Hints on all three stages through bare 1x1 convs diverged at this
# weight on recycle_mini (non-finite loss within 1-6 epochs: docs/results.md, 2026-11-26 15:42)
HINT_STAGE = 1


class Distiller(nn.Module):
    """``(1 - alpha) * task_loss + alpha * kd_loss`` with frozen ``teachers`` (soft targets averaged), plus
    ``beta * feature_loss`` for the feature and relation methods (which need ``student`` to tap its stages).

    Call as ``distiller(student_logits, labels, images)`` right after the student's forward pass on ``images``;
    the teachers see the same (augmented) images. Trainable parts (the FitNets regressor) are its parameters.
    """

    def __init__(self, teachers: Sequence[nn.Module], task_loss: nn.Module, method: str = "kl",
                 temperature: float = 4.0, alpha: float = 0.7, student: Optional[nn.Module] = None,
                 beta: Optional[float] = None):
        super().__init__()
        if method not in KD_LOSSES and method not in FEATURE_LOSSES:
            raise ConfigError(f"unknown distillation method {method!r}; choose from "
                              f"{sorted(KD_LOSSES) + sorted(FEATURE_LOSSES)}")
        if not teachers:
            raise ConfigError("distillation needs at least one teacher")
        self.teachers = nn.ModuleList(teachers)
        for teacher in self.teachers:
            teacher.eval().requires_grad_(False)
        self.task_loss = task_loss
        self.kd_loss = KD_LOSSES.get(method, DistillKL)(temperature)
        self.alpha = alpha
        self.method = method
        self.student_taps = self.teacher_taps = None
        if method in FEATURE_LOSSES:
            if len(teachers) != 1 or student is None:
                raise ConfigError(f"{method} distillation matches one teacher's stages to the student's: give one "
                                  f"teacher (got {len(teachers)})")
            self.beta = FEATURE_WEIGHTS[method] if beta is None else beta
            self.student_taps, self.teacher_taps = StageTaps(student), StageTaps(teachers[0])
            if method == "fitnet":
                student_width = student.config["stage_channels"][HINT_STAGE]
                teacher_width = teachers[0].config["stage_channels"][HINT_STAGE]
                self.regressor = nn.Sequential(nn.Conv2d(student_width, teacher_width, 1, bias=False),
                                               nn.BatchNorm2d(teacher_width), nn.ReLU(inplace=True))

    def feature_loss(self) -> torch.Tensor:
        student, teacher = self.student_taps.ordered(), self.teacher_taps.ordered()
        if self.method == "fitnet":
            return F.mse_loss(self.regressor(student[HINT_STAGE]), teacher[HINT_STAGE])
        return FEATURE_LOSSES[self.method](student, teacher)

    def close(self) -> None:
        """Remove the stage hooks (from student and teacher) once training is over."""
        for taps in (self.student_taps, self.teacher_taps):
            if taps is not None:
                taps.remove()

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
        loss = (1 - self.alpha) * self.task_loss(student_logits, labels) + self.alpha * kd
        if self.student_taps is not None:
            loss = loss + self.beta * self.feature_loss()
        return loss

"""Detection distillation: a frozen teacher's raw head outputs and FPN features as extra targets in training.

YOLOX's head returns only losses in training, so both models' raw per-level predictions (pre-sigmoid class and
objectness logits, box regression) and FPN outputs are read by forward hooks. Student and teacher see the same
images at the same size, so their grids match anchor for anchor (every nano variant has strides 8, 16, 32).

Losses, on every anchor of every level:
- class: BCE of the student's class logits against the teacher's class probabilities (per-class sigmoid, as the
  head is trained), averaged over classes;
- objectness: BCE of the student's objectness logit against the teacher's objectness probability;
- box: L1 between the raw box regressions (both decode them with the same grid and stride);
- feature imitation: MSE between each FPN output, mapped by a 1x1 adapter to the teacher's width, and the
  teacher's. The adapters are trained with the student and kept in the checkpoint for resuming only: they are
  not part of the model, its GFLOPs or its export.
Class and box terms are weighted per anchor, because most of the 3 x (32^2 + 16^2 + 8^2) anchors of a 256 image are
background, where the teacher's class and box outputs carry no information and would drown the few anchors on
objects: by the teacher's objectness (``weighting="teacher_obj"``, where the teacher sees an object, labelled or
not), or by the student's SimOTA positives (``"student_positives"``, the anchors YOLOX's own loss trains as objects
in this batch, read from its head's per-image ``get_assignments``). ``"uniform"`` weights every anchor alike.
"""
import copy
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .common.errors import ConfigError

WEIGHTINGS = ("teacher_obj", "student_positives", "uniform")


class OutputTaps:
    """Forward hooks keeping a YOLOX model's raw per-level (box, objectness, class) outputs and its FPN features
    from its last forward; with ``training_only``, only forwards in training mode (a student whose EMA copy, which
    shares these hooks, evaluates in eval mode)."""

    def __init__(self, model: nn.Module, training_only: bool):
        self.training_only = training_only
        self.outputs: Dict[Tuple, torch.Tensor] = {}
        head = model.head
        self.levels = len(head.cls_preds)
        self.handles = [model.backbone.register_forward_hook(self.keep(("features",)))]
        for kind in ("reg_preds", "obj_preds", "cls_preds"):
            for level, conv in enumerate(getattr(head, kind)):
                self.handles.append(conv.register_forward_hook(self.keep((kind, level))))

    def keep(self, key):
        def hook(module, inputs, output):
            if module.training or not self.training_only:
                self.outputs[key] = output
        return hook

    def predictions(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(box (N, A, 4), objectness (N, A, 1), class (N, A, C)) raw, every level's anchors in one axis."""
        def flat(kind):
            return torch.cat([self.outputs[(kind, level)].flatten(2) for level in range(self.levels)], 2) \
                .transpose(1, 2)
        return flat("reg_preds"), flat("obj_preds"), flat("cls_preds")

    def features(self) -> List[torch.Tensor]:
        return list(self.outputs[("features",)])

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


class AssignmentTap:
    """The anchors SimOTA made positive for each image of a YOLOX model's last training forward: its head's
    ``get_assignments`` (which ``get_losses`` calls once per image with ground truth; an image without any has no
    positives) is wrapped on the instance, the class's method untouched."""

    def __init__(self, model: nn.Module):
        self.assign = model.head.get_assignments
        self.masks: Dict[int, torch.Tensor] = {}
        model.head.get_assignments = self.record

    def record(self, batch_idx, *args, **kwargs):
        assignment = self.assign(batch_idx, *args, **kwargs)
        self.masks[int(batch_idx)] = assignment[1]  # (gt classes, foreground mask over all anchors, ...)
        return assignment

    def positives(self, like: torch.Tensor) -> torch.Tensor:
        """(N, A, 1) float, 1 on each image's positive anchors, shaped as ``like`` (an (N, A, 1) output); the
        record is consumed."""
        weight = torch.zeros_like(like, dtype=torch.float32)
        for index, mask in self.masks.items():
            weight[index, :, 0] = mask.to(weight.device, weight.dtype)
        self.masks = {}
        return weight


@dataclass
class DistillWeights:
    cls: float = 1.0
    obj: float = 1.0
    box: float = 1.0
    feature: float = 0.0
    weighting: str = "teacher_obj"

    def check(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ConfigError(f"distill_weighting must be one of {', '.join(WEIGHTINGS)}, got {self.weighting!r}")
        if min(self.cls, self.obj, self.box, self.feature) < 0:
            raise ConfigError("distillation weights must be >= 0")


def fpn_widths(model: nn.Module) -> List[int]:
    """The channels of each FPN output: what the head's stems take in."""
    return [stem.conv.in_channels for stem in model.head.stems]


def detection_distillation_losses(student: Tuple[torch.Tensor, ...], teacher: Tuple[torch.Tensor, ...],
                                  weighting: str, positives: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
    """Class, objectness and box terms between raw (box, objectness, class) outputs of the same anchors (see the
    module docstring); ``positives``: (N, A, 1), the student's positive anchors, for ``"student_positives"``."""
    s_box, s_obj, s_cls = student
    t_box, t_obj, t_cls = (tensor.detach().float() for tensor in teacher)
    if weighting == "student_positives":
        if positives is None:
            raise ConfigError("student_positives weighting needs the student's positive anchors")
        weight = positives
    else:
        weight = t_obj.sigmoid() if weighting == "teacher_obj" else torch.ones_like(t_obj)
    total = weight.sum().clamp_min(1e-6)
    cls = F.binary_cross_entropy_with_logits(s_cls.float(), t_cls.sigmoid(), reduction="none").mean(-1, True)
    box = (s_box.float() - t_box).abs().mean(-1, keepdim=True)
    return {"distill_cls_loss": (weight * cls).sum() / total,
            "distill_obj_loss": F.binary_cross_entropy_with_logits(s_obj.float(), t_obj.sigmoid()),
            "distill_box_loss": (weight * box).sum() / total}


class DetectionDistiller(nn.Module):
    """A frozen teacher (eval mode, no gradients, never saved with the student) and the feature adapters. Call
    ``losses(images)`` right after the student's training forward on ``images``."""

    def __init__(self, student: nn.Module, teacher: nn.Module, weights: DistillWeights):
        super().__init__()
        weights.check()
        self.weights = weights
        self.teacher = teacher.eval()
        for parameter in self.teacher.parameters():
            parameter.requires_grad_(False)
        self.student_taps = OutputTaps(student, training_only=True)
        self.teacher_taps = OutputTaps(self.teacher, training_only=False)
        self.assignments = AssignmentTap(student) if weights.weighting == "student_positives" else None
        self.adapters = nn.ModuleList(
            nn.Conv2d(ours, theirs, 1) for ours, theirs in zip(fpn_widths(student), fpn_widths(teacher))
        ) if weights.feature > 0 else nn.ModuleList()

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.eval()  # its BatchNorm statistics are the teacher's, not the batch's
        return self

    def losses(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        with torch.no_grad():
            self.teacher(images)
        student = self.student_taps.predictions()
        positives = self.assignments.positives(student[1]) if self.assignments is not None else None
        losses = detection_distillation_losses(student, self.teacher_taps.predictions(), self.weights.weighting,
                                               positives)
        total = (self.weights.cls * losses["distill_cls_loss"] + self.weights.obj * losses["distill_obj_loss"]
                 + self.weights.box * losses["distill_box_loss"])
        if len(self.adapters):
            pairs = zip(self.adapters, self.student_taps.features(), self.teacher_taps.features())
            feature = torch.stack([F.mse_loss(adapter(ours).float(), theirs.detach().float())
                                   for adapter, ours, theirs in pairs]).mean()
            losses["distill_feature_loss"] = feature
            total = total + self.weights.feature * feature
        losses["distill_loss"] = total
        return losses

    def average_adapter_gradients(self) -> None:
        """Under DDP the adapters are outside the wrapped student: average their gradients over the ranks as DDP
        does the student's, so that every rank keeps the same adapters."""
        import torch.distributed as dist

        for parameter in self.adapters.parameters():
            if parameter.grad is not None:
                dist.all_reduce(parameter.grad)
                parameter.grad /= dist.get_world_size()


def build_distiller(exp, student: nn.Module, device) -> Optional[DetectionDistiller]:
    """The distiller ``exp``'s attributes ask for (None when ``teacher_ckpt`` is None): the teacher is built by
    ``teacher_exp`` (an exp name or file; None: the student's own exp, as when a pruned model learns from its
    unpruned self) and loaded from ``teacher_ckpt`` (a pruned teacher's architecture included)."""
    if exp.teacher_ckpt is None:
        return None
    from .evaluation import load_weights
    from .exp_files import exp_file_for, load_exp

    if exp.teacher_exp is None:
        teacher_exp = copy.copy(exp)  # its get_model() must not replace the student in exp.model
    else:
        teacher_exp = load_exp(exp.teacher_exp if exp.teacher_exp.endswith(".py") else exp_file_for(exp.teacher_exp))
    teacher = teacher_exp.get_model()
    load_weights(teacher_exp, teacher, exp.teacher_ckpt)
    teacher.to(device)
    if exp.channels_last:
        teacher.to(memory_format=torch.channels_last)
    weights = DistillWeights(exp.distill_cls, exp.distill_obj, exp.distill_box, exp.distill_feature,
                             exp.distill_weighting)
    return DetectionDistiller(student, teacher, weights).to(device)

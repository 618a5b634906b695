"""Training and evaluation loops for the classifier, resumable at every epoch."""
import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Callable, Dict, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from loguru import logger
from tqdm import tqdm

from yolox_mods.common import ConfigError, NonFiniteLossError, atomic_save, load_checkpoint

from .data import Split, make_loader
from .metrics import macro_f1


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    optimizer: str = "sgd"          # "sgd" (momentum 0.9, nesterov) or "adamw"
    lr: float = 0.1
    weight_decay: float = 5e-4
    warmup_epochs: int = 1
    label_smoothing: float = 0.1
    loss: str = "ce"                # "ce" or "focal"
    focal_gamma: float = 2.0
    balanced_sampling: bool = True
    cutmix_prob: float = 0.0
    num_workers: int = 2
    seed: int = 0


class FocalLoss(nn.Module):
    """Lin et al. 2017 on soft or hard targets: sum_c -t_c (1 - p_c)^gamma log p_c, batch mean."""

    def __init__(self, gamma: float = 2.0, label_smoothing: float = 0.0):
        super().__init__()
        self.gamma, self.label_smoothing = gamma, label_smoothing

    def forward(self, logits, targets):
        targets = soft_targets(targets, logits.shape[1], self.label_smoothing)
        log_p = F.log_softmax(logits, dim=1)
        return -(targets * (1 - log_p.exp()) ** self.gamma * log_p).sum(1).mean()


def soft_targets(targets: torch.Tensor, num_classes: int, smoothing: float) -> torch.Tensor:
    if targets.dim() == 1:
        targets = F.one_hot(targets, num_classes).float()
    return targets * (1 - smoothing) + smoothing / num_classes


def task_loss(config: TrainConfig) -> nn.Module:
    if config.loss == "focal":
        return FocalLoss(config.focal_gamma, config.label_smoothing)
    if config.loss == "ce":
        return nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    raise ConfigError(f"loss must be 'ce' or 'focal', got {config.loss!r}")


def cutmix(images: torch.Tensor, labels: torch.Tensor, num_classes: int, generator: torch.Generator):
    """Yun et al. 2019: paste a random box from a shuffled batch; labels mixed by area (soft targets)."""
    n, _, h, w = images.shape
    lam = float(torch.distributions.Beta(1.0, 1.0).sample())
    cut_h, cut_w = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
    cy, cx = (int(torch.randint(h, (1,), generator=generator)), int(torch.randint(w, (1,), generator=generator)))
    y1, y2, x1, x2 = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, h), max(cx - cut_w // 2, 0), min(cx + cut_w // 2, w)
    order = torch.randperm(n, generator=generator)
    images = images.clone()
    images[:, :, y1:y2, x1:x2] = images[order, :, y1:y2, x1:x2]
    area = (y2 - y1) * (x2 - x1) / (h * w)
    one_hot = F.one_hot(labels, num_classes).float()
    return images, one_hot * (1 - area) + one_hot[order] * area


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.dim() > 1]
    no_decay = [p for p in trainable if p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=0.9, nesterov=True)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr)
    raise ConfigError(f"optimizer must be 'sgd' or 'adamw', got {config.optimizer!r}")


def cosine_lr(config: TrainConfig, step: int, steps_per_epoch: int) -> float:
    warmup = config.warmup_epochs * steps_per_epoch
    total = config.epochs * steps_per_epoch
    if step < warmup:
        return config.lr * (step + 1) / warmup
    return 0.5 * config.lr * (1 + math.cos(math.pi * (step - warmup) / max(total - warmup, 1)))


def trainable_state(criterion) -> dict:
    """The state of every layer a criterion trains (the FitNets regressor: weights and BN statistics), not of its
    frozen teachers: what a resumed epoch needs."""
    if not isinstance(criterion, nn.Module):
        return {}
    state = {}
    for prefix, module in criterion.named_modules():
        own = dict(module.named_parameters(recurse=False))
        if any(p.requires_grad for p in own.values()):
            own.update(module.named_buffers(recurse=False))
            state.update({f"{prefix}.{name}" if prefix else name: value.detach() for name, value in own.items()})
    return state


@torch.no_grad()
def predict(model: nn.Module, split: Split, input_size: int, batch_size: int = 128, num_workers: int = 0) -> np.ndarray:
    """The predicted class of every image of ``split``, in order."""
    model.eval()
    predictions = []
    with torch.no_grad():
        for images, _ in make_loader(split, input_size, batch_size, train=False, num_workers=num_workers):
            predictions.append(model(images).argmax(1))
    return torch.cat(predictions).numpy()


def evaluate(model: nn.Module, split: Split, input_size: int, batch_size: int = 128,
             num_workers: int = 0) -> Dict[str, float]:
    """Macro F1 and accuracy of ``model`` on ``split``."""
    predictions = predict(model, split, input_size, batch_size, num_workers)
    labels = np.asarray(split.labels)
    return {"f1": macro_f1(labels, predictions, len(split.classes)), "accuracy": float(np.mean(predictions == labels))}


def fit(model: nn.Module, train: Split, input_size: int, config: TrainConfig,
        criterion: Optional[Callable] = None, checkpoint_path: Optional[str] = None,
        desc: str = "train", fingerprint: Optional[str] = None) -> nn.Module:
    """Train ``model`` in place. ``criterion(logits, labels, images)`` defaults to the task loss (pass a
    ``Distiller`` for KD). With ``checkpoint_path``, state is saved atomically after every epoch and a run that
    finds it resumes at the next epoch, if it was saved with the same ``fingerprint`` (data and config); the saved
    ``elapsed_seconds`` count the training time of every process that worked on it."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    loss_fn = task_loss(config)
    criterion = criterion or (lambda logits, labels, images: loss_fn(logits, labels))
    # a criterion with weights of its own (the FitNets regressor) trains them with the model
    optimizer = make_optimizer(nn.ModuleList([model, criterion]) if isinstance(criterion, nn.Module) else model,
                               config)
    loader = make_loader(train, input_size, config.batch_size, True, config.balanced_sampling,
                         config.num_workers, config.seed)
    start_epoch, earlier_seconds, fit_started = 0, 0.0, time.time()
    if checkpoint_path and os.path.exists(checkpoint_path):
        state = load_checkpoint(checkpoint_path)
        if state.get("fingerprint") != fingerprint:
            raise ConfigError(f"{checkpoint_path}: saved by a run on other data or with another config; remove it "
                              "(or use classification.compress --force)")
        model.load_state_dict(state["model"])
        if state.get("criterion"):
            criterion.load_state_dict(state["criterion"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        start_epoch = state["epoch"]
        earlier_seconds = state.get("elapsed_seconds", 0.0)
        logger.info("{}: resuming after epoch {} of {} ({})", desc, start_epoch, config.epochs, checkpoint_path)
    num_classes = len(train.classes)
    for epoch in range(start_epoch, config.epochs):
        model.train()
        if isinstance(criterion, nn.Module):
            criterion.train()
        started, total, seen = time.time(), 0.0, 0
        # a fixed per-epoch seed keeps a resumed run's data order the same as an uninterrupted one
        loader.generator.manual_seed(config.seed * 1000 + epoch)
        bar = tqdm(loader, desc=f"{desc} {epoch + 1}/{config.epochs}", leave=False)
        for step, (images, labels) in enumerate(bar):
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(config, epoch * len(loader) + step, len(loader))
            if config.cutmix_prob and torch.rand(1, generator=generator) < config.cutmix_prob:
                images, labels = cutmix(images, labels, num_classes, generator)
            loss = criterion(model(images), labels, images)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"{desc}: non-finite loss at epoch {epoch + 1}, step {step + 1}")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(images)
            seen += len(images)
            bar.set_postfix(loss=f"{total / seen:.3f}", img_s=f"{seen / (time.time() - started):.0f}")
        if checkpoint_path:
            atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1,
                         "criterion": trainable_state(criterion),
                         "config": asdict(config), "fingerprint": fingerprint,
                         "elapsed_seconds": earlier_seconds + time.time() - fit_started}, checkpoint_path)
    return model

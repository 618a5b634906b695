"""Unstructured pruning: which weights to zero (magnitude after training, or SNIP at initialisation), masks kept
through training with ``torch.nn.utils.prune`` (PyTorch's own reparametrisation: the layer computes with
``weight_orig * weight_mask``, so a zeroed weight stays zero whatever the optimizer does), and compact storage of
what is left.

Zeros do not make dense kernels faster: a sparse model runs at the dense model's latency in PyTorch and ONNX
Runtime; what it saves is bytes on disk (``pack_state_dict``)."""
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import prune

from yolox_mods.common import ConfigError

from ..data import Split, make_loader


def prunable(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """Every conv and linear layer, by name: the weights unstructured pruning may zero (BN and biases are kept)."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, (nn.Conv2d, nn.Linear))]


# global thresholds can empty a whole layer (layer collapse: the network's output goes constant); every layer keeps
# at least this fraction of its weights, its highest-scoring ones
MIN_LAYER_DENSITY = 0.01


def _threshold_masks(scores: Dict[str, torch.Tensor], sparsity: float, scope: str) -> Dict[str, torch.Tensor]:
    """Masks keeping the highest scores: the ``sparsity`` fraction of all scored weights (``global``; every layer
    keeps at least ``MIN_LAYER_DENSITY`` of its own) or of each layer (``layer``) is zeroed."""
    if not 0 <= sparsity < 1:
        raise ConfigError(f"sparsity must be in [0, 1), got {sparsity}")
    if scope == "layer":
        return {name: _keep_largest(score, score.numel() - int(sparsity * score.numel()))
                for name, score in scores.items()}
    if scope != "global":
        raise ConfigError(f"scope must be 'global' or 'layer', got {scope!r}")
    # each layer's ``MIN_LAYER_DENSITY`` best weights are protected; the threshold is taken over the rest, so the
    # total still reaches ``sparsity``
    protected = {name: _keep_largest(score, max(1, int(MIN_LAYER_DENSITY * score.numel())))
                 for name, score in scores.items()}
    ranked = {name: torch.where(protected[name] > 0, torch.full_like(score, float("inf")), score)
              for name, score in scores.items()}
    flat = torch.cat([score.flatten() for score in ranked.values()])
    drop = min(int(sparsity * flat.numel()), int((flat != float("inf")).sum()))
    if drop == 0:
        return {name: torch.ones_like(score) for name, score in scores.items()}
    cutoff = torch.kthvalue(flat, drop).values
    return {name: (score > cutoff).float() for name, score in ranked.items()}


def _keep_largest(score: torch.Tensor, count: int) -> torch.Tensor:
    """A mask keeping the ``count`` highest scores."""
    mask = torch.zeros(score.numel())
    mask[torch.argsort(score.flatten(), descending=True)[:count]] = 1
    return mask.view_as(score)


def effective_weight(module: nn.Module) -> torch.Tensor:
    """The weight a layer computes with: ``weight_orig * weight_mask`` when masked (``module.weight`` is only
    refreshed at the next forward pass), else ``weight``."""
    if hasattr(module, "weight_mask"):
        return (module.weight_orig * module.weight_mask).detach()
    return module.weight.detach()


def magnitude_masks(model: nn.Module, sparsity: float, scope: str = "global") -> Dict[str, torch.Tensor]:
    """|w| as the score (Han et al. 2015; the lottery-ticket procedure's pruning step). Already-zeroed weights
    score 0, so an earlier mask is kept and extended."""
    return _threshold_masks({name: effective_weight(m).abs() for name, m in prunable(model)}, sparsity, scope)


def snip_masks(model: nn.Module, split: Split, input_size: int, sparsity: float, batches: int = 1,
               batch_size: int = 64) -> Dict[str, torch.Tensor]:
    """SNIP (Lee et al. 2019): connection sensitivity |g * w| of the loss on ``batches`` training batches, at the
    model's current (initial) weights; scored globally, as in the paper."""
    model.train()
    model.zero_grad()
    loader = make_loader(split, input_size, batch_size, train=True, num_workers=0)
    for index, (images, labels) in enumerate(loader):
        if index == batches:
            break
        F.cross_entropy(model(images), labels).backward()
    scores = {name: (m.weight.grad * m.weight).detach().abs() for name, m in prunable(model)}
    model.zero_grad()
    return _threshold_masks(scores, sparsity, "global")


def apply_masks(model: nn.Module, masks: Dict[str, torch.Tensor]) -> nn.Module:
    """Attach ``masks`` (``prune.custom_from_mask``; a layer pruned before gets the product of both masks)."""
    modules = dict(model.named_modules())
    for name, mask in masks.items():
        prune.custom_from_mask(modules[name], "weight", mask)
    return model


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold every mask into its weight (zeros in place), leaving a plain model that saves and exports as usual."""
    for _, module in prunable(model):
        if prune.is_pruned(module) and hasattr(module, "weight_mask"):
            prune.remove(module, "weight")
    return model


def sparsity_of(model: nn.Module) -> float:
    """Fraction of the prunable weights that are zero."""
    weights = [effective_weight(m) for _, m in prunable(model)]
    return float(sum((w == 0).sum() for w in weights) / sum(w.numel() for w in weights))


def nonzero_params(model: nn.Module) -> int:
    return int(sum((p.detach() != 0).sum() for p in model.parameters()))

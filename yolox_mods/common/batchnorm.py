"""BatchNorm statistics re-estimated after a model's channels change (pruning, surgery)."""
import itertools
from typing import Callable, Iterable

import torch
import torch.nn as nn


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor],
                          forward: Callable[[nn.Module, torch.Tensor], object] = lambda model, x: model(x)) -> int:
    """Replace every BatchNorm's running mean and variance by their average over ``batches`` (the model's inputs;
    ``forward`` calls it on one), the rest of the model in eval mode so that nothing else changes (dropout, a
    detection head's training branch). Pruning removes channels, so the statistics the pruned layers were trained
    with no longer describe what reaches them. Returns the number of batches seen; the model is left in eval mode."""
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        raise ValueError("recalibrate_batchnorm needs at least one batch")
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [norm.momentum for norm in norms]
    model.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the batches, not an exponential one
        norm.train()
    seen = 0
    try:
        for inputs in itertools.chain([first], batches):
            forward(model, inputs)
            seen += 1
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
            norm.eval()
    return seen

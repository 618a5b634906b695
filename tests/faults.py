"""Exp files that inject faults, for the tests that check how training handles them."""


def poisoned_exp(condition: str, what: str) -> str:
    """Source of an exp (stock nano) whose training loss is NaN on the calls where ``condition`` holds; the
    condition sees ``calls`` (how many losses so far, this one included) and ``dist`` (torch.distributed)."""
    return f'''
import torch.distributed as dist

from yolox_mods.exp import LiteExp


class Exp(LiteExp):
    """Stock nano whose training loss turns NaN {what} (fault injection for tests)."""

    def get_model(self):
        model = super().get_model()
        get_losses, calls = model.head.get_losses, []

        def poisoned(*args, **kwargs):
            losses = get_losses(*args, **kwargs)
            calls.append(1)
            return (losses[0] * float("nan"),) + tuple(losses[1:]) if {condition} else losses

        model.head.get_losses = poisoned
        return model
'''


def scaled_loss_exp(factor: float) -> str:
    """Source of an exp (stock nano) whose training loss is multiplied by ``factor``: gradients ``factor`` times
    too large, as an exploding step makes them."""
    return f'''
from yolox_mods.exp import LiteExp


class Exp(LiteExp):
    """Stock nano with its training loss scaled by {factor} (fault injection for tests)."""

    def get_model(self):
        model = super().get_model()
        get_losses = model.head.get_losses

        def scaled(*args, **kwargs):
            losses = get_losses(*args, **kwargs)
            return (losses[0] * {factor},) + tuple(losses[1:])

        model.head.get_losses = scaled
        return model
'''

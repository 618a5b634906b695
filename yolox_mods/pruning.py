"""Structured channel pruning of any exp's detector, with Torch-Pruning's dependency graph (DepGraph).

DepGraph finds the channels that must go together through CSP concats, residual adds, the PAFPN's upsample and
concat paths and the decoupled head; MixConv is pruned by it too, each kernel group on its own (the block reads
its split from its convs, so uneven groups are kept). The head's prediction convs keep their outputs. A depthwise
conv with a channel multiplier m (the Dark2 path's stride-2 conv, 2C -> 4C in 2C groups) is a grouped conv to
Torch-Pruning 1.6, which fails on it: it is pruned through Torch-Pruning's customized-pruner hook instead, its
output channel j tied to input channel j // m (``ChannelMultiplierPruning``), so every channel is prunable but the
prediction convs' outputs, and what is not is reported (``PrunableReport``).

A pruned model's checkpoint carries its ``architecture`` (every conv's and BatchNorm's channel counts):
``apply_architecture`` reshapes the exp's freshly built model to it before the weights load, which is how every
tool builds a pruned model from the same ``-f``/``-n``.
"""
import copy
import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import torch
import torch.nn as nn

from .common.errors import CheckpointError, ConfigError

PREDICTION_CONVS = ("cls_preds", "reg_preds", "obj_preds")
IMPORTANCES = ("l1", "l2", "bn", "taylor")


class PruningError(ValueError):
    """The budget cannot be met: what was reached and how much of the model was prunable."""


# ----------------------------------------------------------------------------- architecture
def architecture_of(model: nn.Module) -> Dict[str, Dict[str, int]]:
    """Every conv's (in, out, groups) and every BatchNorm's features, by module name: what a state dict alone does
    not say (a grouped conv's groups) and what rebuilding the model needs."""
    architecture = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            architecture[name] = {"in": module.in_channels, "out": module.out_channels, "groups": module.groups}
        elif isinstance(module, nn.BatchNorm2d):
            architecture[name] = {"features": module.num_features}
    return architecture


def _resized(tensor: torch.Tensor, shape) -> torch.Tensor:
    return torch.empty(shape, dtype=tensor.dtype, device=tensor.device)


def apply_architecture(model: nn.Module, architecture: Dict[str, Dict[str, int]], source: str) -> nn.Module:
    """Reshape ``model`` (freshly built by the exp the architecture was pruned from) in place to ``architecture``,
    parameters left uninitialised for the weights that follow; parameters stay the same objects, so an optimizer
    built before still holds them. ``CheckpointError`` naming ``source`` when the architecture is of another
    model (another exp family)."""
    ours = architecture_of(model)
    if set(ours) != set(architecture) or any(set(ours[name]) != set(shape) for name, shape in architecture.items()):
        unknown = sorted(set(architecture) - set(ours))[:3] or sorted(set(ours) - set(architecture))[:3]
        raise CheckpointError(f"{source}: its pruned architecture does not match the exp's model (e.g. "
                              f"{', '.join(unknown) or 'layer kinds differ'}): a checkpoint of another exp family?")
    modules = dict(model.named_modules())
    for name, shape in architecture.items():
        module = modules[name]
        if isinstance(module, nn.Conv2d):
            if shape["in"] % shape["groups"] or shape["out"] % shape["groups"]:
                raise CheckpointError(f"{source}: {name} has {shape['in']} -> {shape['out']} channels in "
                                      f"{shape['groups']} groups")
            module.in_channels, module.out_channels, module.groups = shape["in"], shape["out"], shape["groups"]
            module.weight.data = _resized(module.weight, (shape["out"], shape["in"] // shape["groups"],
                                                          *module.kernel_size))
            if module.bias is not None:
                module.bias.data = _resized(module.bias, (shape["out"],))
        else:
            features = shape["features"]
            module.num_features = features
            for parameter in (module.weight, module.bias):
                parameter.data = _resized(parameter, (features,))
            module.running_mean = _resized(module.running_mean, (features,)).zero_()
            module.running_var = _resized(module.running_var, (features,)).fill_(1.0)
    return model


def batchnorm_scale_l1(model: nn.Module) -> torch.Tensor:
    """Sum of |scale| over every BatchNorm: network slimming's sparsity term (Liu et al. 2017), trained with the
    loss (exp ``bn_sparsity``) before pruning by BatchNorm scale."""
    return sum(norm.weight.abs().sum() for norm in model.modules() if isinstance(norm, nn.BatchNorm2d))


# ----------------------------------------------------------------------------- what can be pruned
@dataclass
class PrunableReport:
    """Output channels of every conv, how many pruning may remove, and each unit left out with why."""
    channels: int
    prunable: int
    excluded: Dict[str, str] = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        return self.prunable / self.channels

    def describe(self) -> str:
        lines = [f"prunable: {self.prunable} of {self.channels} conv output channels ({100 * self.fraction:.1f}%)"]
        lines += [f"  kept: {name} ({reason})" for name, reason in sorted(self.excluded.items())]
        return "\n".join(lines)


def _tp():
    import torch_pruning

    return torch_pruning


def prediction_convs(model: nn.Module) -> List[str]:
    return [f"head.{kind}.{level}" for kind in PREDICTION_CONVS for level in range(len(getattr(model.head, kind)))]


def channel_multiplier_convs(model: nn.Module) -> List[str]:
    """Depthwise convs with a channel multiplier: C -> m * C in C groups."""
    return [name for name, module in model.named_modules()
            if isinstance(module, nn.Conv2d) and 1 < module.groups == module.in_channels < module.out_channels]


class ChannelMultiplierPruning:
    """Torch-Pruning's customized-pruner hook for depthwise convs with a channel multiplier m, whose output channel
    j reads input channel j // m alone. While active (a ``with`` block over a model), those convs are of a marker
    class that ``customized_pruners`` maps to a pruner working in output-channel indices; ``couple(graph)`` then
    maps indices between them and their inputs (j -> j // m, i -> m*i .. m*i + m-1) and makes an input-side conv
    its group's root, so that channels are ranked and removed m at a time, never splitting a filter group."""

    def __init__(self, model: nn.Module):
        tp = _tp()
        self.convs = [dict(model.named_modules())[name] for name in channel_multiplier_convs(model)]
        self.marker = type("ChannelMultiplierConv2d", (nn.Conv2d,), {})

        class Pruner(tp.pruner.BasePruningFunc):
            def prune_out_channels(self, layer: nn.Module, idxs) -> nn.Module:
                multiplier = layer.out_channels // layer.in_channels
                dropped = set(idxs)
                if any(index // multiplier * multiplier + offset not in dropped
                       for index in dropped for offset in range(multiplier)):
                    raise PruningError(f"a channel-multiplier conv would lose part of a filter group: {dropped}")
                kept = [index for index in range(layer.out_channels) if index not in dropped]
                layer.weight = nn.Parameter(layer.weight.data[kept].clone())
                if layer.bias is not None:
                    layer.bias = nn.Parameter(layer.bias.data[kept].clone())
                layer.out_channels = len(kept)
                layer.in_channels = layer.groups = len(kept) // multiplier
                return layer

            prune_in_channels = prune_out_channels  # in and out are one group, indexed by output channel

            def get_out_channels(self, layer: nn.Module) -> int:
                return layer.out_channels

            get_in_channels = get_out_channels

        self.customized_pruners = {self.marker: Pruner()}

    def __enter__(self) -> "ChannelMultiplierPruning":
        for conv in self.convs:
            conv.__class__ = self.marker
        return self

    def __exit__(self, *exc) -> None:
        for conv in self.convs:
            conv.__class__ = nn.Conv2d

    def couple(self, graph) -> None:
        from torch_pruning.dependency.index_mapping import _FlattenIndexMapping
        from torch_pruning.ops import OPTYPE

        roots = []
        for conv in self.convs:
            node = graph.module2node[conv]
            if any(other.type in (OPTYPE.CONCAT, OPTYPE.SPLIT) for other in node.inputs + node.outputs):
                # Torch-Pruning rewrites the index mapping next to a concat or split
                raise PruningError(f"a channel-multiplier conv next to a concat or split: {node.name}")
            multiplier = conv.out_channels // conv.in_channels
            for dependency in node.dependencies:
                if dependency.target in node.inputs:
                    dependency.index_mapping[0] = _FlattenIndexMapping(stride=multiplier, reverse=True)
            for upstream in node.inputs:
                for dependency in upstream.dependencies:
                    if dependency.target is node:
                        dependency.index_mapping[0] = _FlattenIndexMapping(stride=multiplier, reverse=False)
            pending = list(node.inputs)
            while pending:  # the nearest conv upstream ranks the group in input channels
                upstream = pending.pop()
                if isinstance(upstream.module, nn.Conv2d):
                    roots.append(upstream.module)
                    break
                pending.extend(upstream.inputs)
        # a group's root is its first conv in the graph's module order
        graph.module2node = {**{module: graph.module2node[module] for module in roots},
                             **{module: node for module, node in graph.module2node.items() if module not in roots}}


def plan_exclusions(model: nn.Module, example: torch.Tensor) -> Tuple[List[str], List[str], PrunableReport]:
    """The names of the convs whose output channels must stay (the prediction convs), the root conv of every
    prunable group (Torch-Pruning sets a group's ratio by its root), and the report of what remains prunable."""
    tp = _tp()
    names = {module: name for name, module in model.named_modules()}
    predictions = prediction_convs(model)
    excluded = {name: "prediction output" for name in predictions}
    modules = dict(model.named_modules())
    prunable, roots = set(), []
    with ChannelMultiplierPruning(model) as multipliers:
        graph = tp.DependencyGraph().build_dependency(model, example_inputs=example,
                                                      customized_pruners=multipliers.customized_pruners)
        multipliers.couple(graph)
        for group in graph.get_all_groups(ignored_layers=[modules[name] for name in predictions],
                                          root_module_types=(nn.Conv2d,)):
            prunable.update(names[dep.target.module] for dep, _ in group
                            if graph.is_out_channel_pruning_fn(dep.handler)
                            and isinstance(dep.target.module, nn.Conv2d))
            roots.append(names[group[0].dep.target.module])
    prunable -= set(excluded)
    channels = sum(module.out_channels for module in model.modules() if isinstance(module, nn.Conv2d))
    return sorted(excluded), roots, PrunableReport(channels, sum(modules[name].out_channels for name in prunable),
                                                   excluded)


# ----------------------------------------------------------------------------- pruning
@dataclass
class PruneSettings:
    """``target_gflops`` (at ``size``, as YOLOX reports GFLOPs) or ``ratio`` (the fraction of each group's channels
    removed; of all prunable channels with ``global_pruning``). ``round_to``: keep channel counts multiples of it.
    ``steps`` > 1: iterative, the same final widths reached in that many steps, importance re-estimated after each
    (and whatever ``between_steps`` does, e.g. BatchNorm recalibration)."""
    importance: str = "l2"
    target_gflops: Optional[float] = None
    ratio: Optional[float] = None
    global_pruning: bool = False
    round_to: Optional[int] = None
    size: int = 416
    tolerance: float = 0.02
    steps: int = 1

    def check(self) -> None:
        if self.importance not in IMPORTANCES:
            raise ConfigError(f"importance must be one of {', '.join(IMPORTANCES)}, got {self.importance!r}")
        if (self.target_gflops is None) == (self.ratio is None):
            raise ConfigError("give a GFLOPs budget (--target-gflops) or a ratio (--ratio), one of them")
        if self.ratio is not None and not 0 < self.ratio < 1:
            raise ConfigError(f"ratio must be in (0, 1), got {self.ratio}")
        if self.target_gflops is not None and self.target_gflops <= 0:
            raise ConfigError(f"target GFLOPs must be positive, got {self.target_gflops}")
        if self.steps < 1:
            raise ConfigError(f"steps must be >= 1, got {self.steps}")


@dataclass
class PruneResult:
    ratio: float
    params_before: float
    gflops_before: float
    params: float
    gflops: float
    report: PrunableReport
    settings: PruneSettings

    def to_dict(self) -> dict:
        values = asdict(self)
        values["report"]["fraction"] = round(self.report.fraction, 4)
        return values


def importance_criterion(name: str):
    tp = _tp()
    return {"l1": lambda: tp.importance.MagnitudeImportance(p=1),
            "l2": lambda: tp.importance.MagnitudeImportance(p=2),
            "bn": lambda: tp.importance.BNScaleImportance(),
            "taylor": lambda: tp.importance.TaylorImportance()}[name]()


def prune_at_ratio(model: nn.Module, example: torch.Tensor, ratio: float, excluded: Iterable[str],
                   settings: PruneSettings, group_ratios: Optional[Dict[str, float]] = None, steps: int = 1,
                   between_steps: Optional[Callable[[nn.Module], None]] = None) -> nn.Module:
    """``model`` pruned in place at ``ratio``, the groups rooted at ``group_ratios``' convs at theirs, in ``steps``
    (``between_steps(model)`` after each but the last; Taylor importance reads the gradients in ``.grad``)."""
    tp = _tp()
    modules = dict(model.named_modules())
    with ChannelMultiplierPruning(model) as multipliers:
        pruner = tp.pruner.MetaPruner(model, example, importance=importance_criterion(settings.importance),
                                      pruning_ratio=ratio, ignored_layers=[modules[name] for name in excluded],
                                      pruning_ratio_dict={modules[name]: value for name, value in
                                                          (group_ratios or {}).items()},
                                      global_pruning=settings.global_pruning, round_to=settings.round_to,
                                      iterative_steps=steps, customized_pruners=multipliers.customized_pruners)
        multipliers.couple(pruner.DG)
        for step in range(steps):
            pruner.step()
            if between_steps is not None and step < steps - 1:
                between_steps(model)
                model.eval()
    return model


def prune_detector(model: nn.Module, settings: PruneSettings, example_size: int = 256,
                   gradients: Optional[Callable[[nn.Module], None]] = None,
                   between_steps: Optional[Callable[[nn.Module], None]] = None) -> Tuple[nn.Module, PruneResult]:
    """A pruned copy of ``model`` (left as it is) and what was done. A GFLOPs budget is a ceiling: the ratio is
    searched (bisection) until the pruned model has at most the budget and at least ``1 - tolerance`` of it
    (channel counts are whole, so a budget is met to a step); ``PruningError`` when the prunable channels cannot
    reach it. ``gradients(model)`` fills ``.grad`` for Taylor importance (a loss on
    training batches, backward). The search prunes in one shot; with ``settings.steps`` > 1 the chosen widths are
    then reached in steps, ``between_steps`` and ``gradients`` applied between them."""
    from .benchmark.latency import model_size

    settings.check()
    if settings.importance == "taylor" and gradients is None:
        raise ConfigError("Taylor importance needs gradients: give training batches")
    model = copy.deepcopy(model).eval()
    example = torch.randn(1, 3, example_size, example_size, device=next(model.parameters()).device)
    excluded, roots, report = plan_exclusions(model, example)
    params_before, gflops_before = model_size(model, settings.size)
    if gradients is not None:
        model.zero_grad()
        gradients(model)
        model.eval()

    def pruned(ratio: float, group_ratios=None, steps=1) -> Tuple[nn.Module, float, float]:
        candidate = copy.deepcopy(model)
        if gradients is not None:  # deepcopy leaves parameters' gradients behind
            for copied, original in zip(candidate.parameters(), model.parameters()):
                copied.grad = torch.zeros_like(original) if original.grad is None else original.grad.clone()

        def between(pruning: nn.Module) -> None:
            if between_steps is not None:
                between_steps(pruning)
            if gradients is not None:
                pruning.zero_grad()
                gradients(pruning)

        candidate = prune_at_ratio(candidate, example, ratio, excluded, settings, group_ratios, steps, between)
        return (candidate, *model_size(candidate, settings.size))

    group_ratios = None
    if settings.ratio is not None:
        ratio = settings.ratio
        best, params, gflops = pruned(ratio)
    else:
        target, low, high = settings.target_gflops, 0.0, 0.95
        if target >= gflops_before:
            raise PruningError(f"the model has {gflops_before:.3f} GFLOPs, already within {target}")
        tried = []  # (distance below the budget, inf above it; ratio, model, params, GFLOPs, per-group ratios)

        def below_budget(gflops: float) -> float:
            return (target - gflops) / target if gflops <= target else math.inf
        # a ratio step below 1/1024 moves no channel of a nano-sized model
        while high - low > 1e-3:
            ratio = (low + high) / 2
            candidate, params, gflops = pruned(ratio)
            tried.append((below_budget(gflops), ratio, candidate, params, gflops, None))
            if tried[-1][0] <= settings.tolerance:
                break
            low, high = (ratio, high) if gflops > target else (low, ratio)
        if min(tried, key=lambda trial: trial[0])[0] > settings.tolerance and not settings.global_pruning:
            if all(trial[4] > target for trial in tried):
                # with rounding, a larger ratio can prune less (a group is left whole rather than emptied)
                nearest = min(tried, key=lambda trial: trial[4])
                raise PruningError(f"cannot prune to {target} GFLOPs: the most pruned model (ratio {nearest[1]:.3f}) "
                                   f"has {nearest[4]:.3f} ({report.describe().splitlines()[0]})")
            # whole channels make a per-group ratio step the model's GFLOPs (nano's widths are powers of 2, so
            # many groups step at once): the first k groups take the ratio below the budget, the rest the one above
            ratio = max((trial[1] for trial in tried if trial[4] > target), default=0.0)
            below = min(trial[1] for trial in tried if trial[4] <= target)
            low, high = 0, len(roots)
            while high - low > 1:
                count = (low + high) // 2
                split = {name: below for name in roots[:count]}
                candidate, params, gflops = pruned(ratio, split)
                tried.append((below_budget(gflops), ratio, candidate, params, gflops, split))
                low, high = (count, high) if gflops > target else (low, count)
        distance, ratio, best, params, gflops, group_ratios = min(tried, key=lambda trial: trial[0])
        if distance > settings.tolerance:
            nearest = min(tried, key=lambda trial: abs(trial[4] - target))[4]
            raise PruningError(f"cannot prune to {target} GFLOPs (at most, and within {100 * settings.tolerance:g}% "
                               f"below): the nearest reached {nearest:.3f} ({report.describe().splitlines()[0]})")
    if settings.steps > 1:
        best, params, gflops = pruned(ratio, group_ratios, settings.steps)
    best.zero_grad(set_to_none=True)
    return best, PruneResult(ratio, round(params_before, 4), round(gflops_before, 4), round(params, 4),
                             round(gflops, 4), report, settings)


# ----------------------------------------------------------------------------- a checkpoint pruned
def training_batches(exp, batch_size: int, count: int, device: torch.device):
    """``count`` (images, targets) batches of the exp's training set as its last epochs see them (no mosaic)."""
    loader = iter(exp.get_data_loader(batch_size=batch_size, is_distributed=False, no_aug=True))
    for _ in range(count):
        images, targets, _, _ = next(loader)
        yield images.to(device, torch.float32), targets.to(device, torch.float32)


def prune_checkpoint(exp, ckpt_path: str, settings: PruneSettings, output: str, batch_size: int = 16,
                     calibration_batches: int = 20, gradient_batches: int = 8,
                     device: str = "cpu") -> PruneResult:
    """Prune ``ckpt_path``'s evaluated (EMA) weights of ``exp`` to ``settings``, re-estimate the BatchNorm
    statistics on ``calibration_batches`` training batches, and write ``output``: weights, the architecture the
    tools rebuild, and how it was pruned (``pruning``). Fine-tune it with ``tools/train.py -c output``."""
    from .common.batchnorm import recalibrate_batchnorm
    from .common.io import atomic_save, load_checkpoint
    from .evaluation import load_weights

    checkpoint = load_checkpoint(ckpt_path)
    model = exp.get_model()
    load_weights(exp, model, ckpt_path)
    model.to(device)

    def gradients(target: nn.Module) -> None:
        target.train()
        for images, targets in training_batches(exp, batch_size, gradient_batches, device):
            target(images, targets)["total_loss"].backward()

    def recalibrate(target: nn.Module) -> None:
        batches = training_batches(exp, batch_size, calibration_batches, device)
        recalibrate_batchnorm(target, (images for images, _ in batches))

    pruned, result = prune_detector(model, settings,
                                    gradients=gradients if settings.importance == "taylor" else None,
                                    between_steps=recalibrate if calibration_batches else None)
    if calibration_batches:
        recalibrate(pruned)
    atomic_save({"model": pruned.state_dict(), "architecture": architecture_of(pruned),
                 "exp_name": exp.exp_name, "num_classes": exp.num_classes, "act": exp.act,
                 "start_epoch": checkpoint.get("start_epoch"), "prior_epochs": checkpoint.get("prior_epochs", 0),
                 "training": checkpoint.get("training"),
                 "pruning": {**result.to_dict(), "source": ckpt_path, "calibration_batches": calibration_batches,
                             "pruned_before": checkpoint.get("pruning")}}, output)
    return result

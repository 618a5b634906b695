"""Where a training step's time goes: data, forward, SimOTA assignment, the rest of the loss, backward, optimizer,
EMA, measured on the trainer's own pieces (the exp's loader, model in its memory format, optimizer, YOLOX's EMA)."""
import time
from collections import defaultdict
from typing import Dict

import torch
from tabulate import tabulate
from tqdm import tqdm

PHASES = ("data", "forward", "assignment", "loss (rest)", "backward", "optimizer", "ema")


class _Timed:
    """Wraps a bound method; adds its wall time to ``totals[name]`` (nested calls are timed by their caller)."""

    def __init__(self, method, totals, name):
        self.method, self.totals, self.name = method, totals, name

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.method(*args, **kwargs)
        finally:
            self.totals[self.name] += time.perf_counter() - start


def profile_training_step(exp, batch_size: int = 16, iterations: int = 30, warmup: int = 5,
                          cache: bool = True) -> Dict[str, float]:
    """Mean seconds per iteration of each phase in ``PHASES`` (plus ``"total"``) over ``iterations`` after
    ``warmup`` iterations, single process, on ``exp``'s training data."""
    from yolox.utils import ModelEMA

    model = exp.get_model().train()
    if exp.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = exp.get_optimizer(batch_size)
    ema = ModelEMA(model, 0.9998)
    loader = iter(exp.get_data_loader(batch_size, False, no_aug=exp.no_aug_epochs >= exp.max_epoch,
                                      cache_img=cache))
    totals: Dict[str, float] = defaultdict(float)
    head = model.head
    head.get_losses = _Timed(head.get_losses, totals, "loss")
    head.get_assignments = _Timed(head.get_assignments, totals, "assignment")
    for step in tqdm(range(warmup + iterations), desc=f"profile {exp.exp_name}", leave=False):
        if step == warmup:
            totals.clear()
        marks = [time.perf_counter()]
        images, targets, _, _ = next(loader)
        images, targets = exp.preprocess(images.float(), targets.float(), exp.input_size)
        if exp.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        marks.append(time.perf_counter())
        loss = model(images, targets)["total_loss"]
        marks.append(time.perf_counter())
        optimizer.zero_grad()
        loss.backward()
        marks.append(time.perf_counter())
        optimizer.step()
        marks.append(time.perf_counter())
        ema.update(model)
        marks.append(time.perf_counter())
        for name, (start, end) in zip(("data", "forward+loss", "backward", "optimizer", "ema"),
                                      zip(marks, marks[1:])):
            totals[name] += end - start
    phases = {
        "data": totals["data"],
        "forward": totals["forward+loss"] - totals["loss"],
        "assignment": totals["assignment"],
        "loss (rest)": totals["loss"] - totals["assignment"],
        "backward": totals["backward"],
        "optimizer": totals["optimizer"],
        "ema": totals["ema"],
    }
    result = {name: seconds / iterations for name, seconds in phases.items()}
    result["total"] = sum(result.values())
    return result


def step_profile_table(profiles: Dict[str, Dict[str, float]], batch_size: int) -> str:
    """One column per exp: ms per iteration and share of the step for each phase, then img/s."""
    rows = []
    for phase in (*PHASES, "total"):
        rows.append([phase] + [f"{1000 * p[phase]:.1f} ({100 * p[phase] / p['total']:.0f}%)"
                               for p in profiles.values()])
    rows.append(["img/s"] + [f"{batch_size / p['total']:.1f}" for p in profiles.values()])
    return tabulate(rows, headers=["phase (ms/iteration)", *profiles], tablefmt="github")

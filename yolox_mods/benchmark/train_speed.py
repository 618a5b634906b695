"""Training img/s of a bare loop around YOLOX's pieces: the baseline the project's trainer is measured against."""
import statistics
import time
from typing import Callable, Sequence

from tqdm import tqdm


def plain_loop_img_per_s(exp, batch_size: int, iterations: int) -> float:
    """Training img/s of a bare loop: the exp's own training loader (``exp.get_data_loader``, without the decoded
    image cache), model and optimizer and YOLOX's ``ModelEMA``, with nothing else (no trainer hooks, logging,
    checkpoints or prefetcher). Every iteration counts, the first (loader start-up) included, as in
    ``LiteTrainer``'s ``train_stats.json``, so the ratio of the two is what the trainer costs or saves."""
    from yolox.utils import ModelEMA

    loader = iter(exp.get_data_loader(batch_size, is_distributed=False, no_aug=False, cache_img=False))
    model = exp.get_model().train()
    optimizer = exp.get_optimizer(batch_size)
    ema = ModelEMA(model, 0.9998)
    seconds = 0.0
    for _ in tqdm(range(iterations), desc="plain loop", leave=False):
        start = time.perf_counter()
        images, targets, _, _ = next(loader)
        loss = model(images.float(), targets.float())["total_loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema.update(model)
        seconds += time.perf_counter() - start
    return batch_size * iterations / seconds


def compare_train_speed(make_exp: Callable[[Sequence[str]], object], batch_size: int, rounds: int,
                        fast_path: Sequence[str] = ()) -> dict:
    """Alternating rounds of (our trainer, the plain loop[, our trainer with the ``fast_path`` overrides]) on one
    exp: ``make_exp(extra overrides)`` builds it with the same data and settings each time (an ``output_dir`` among
    the overrides for our trainer's runs). Our trainer runs one epoch and the plain loop as many iterations; each
    round's img/s and ratios, and their medians."""
    from ..core import TrainOptions, train

    def ours(index, extra=()):
        exp = make_exp(["output_dir", f"round{index}" + ("_fast" if extra else ""), *extra])
        outcome = train(exp, TrainOptions(batch_size=batch_size, device="cpu", cache=True))
        return exp, outcome.img_per_s, outcome.images // batch_size

    measured = []
    for index in range(rounds):
        exp, our_speed, iterations = ours(index)
        plain = plain_loop_img_per_s(make_exp([]), batch_size, iterations)
        row = {"plain_img_per_s": round(plain, 2), "ours_img_per_s": round(our_speed, 2),
               "ratio": round(our_speed / plain, 3)}
        if fast_path:
            fast = ours(index, fast_path)[1]
            row.update(fast_img_per_s=round(fast, 2), fast_ratio=round(fast / our_speed, 3))
        measured.append(row)
    result = {"exp": exp.exp_name, "size": exp.input_size[0], "batch_size": batch_size, "iterations": iterations,
              "rounds": measured, "median_ratio": round(statistics.median(r["ratio"] for r in measured), 3)}
    if fast_path:
        result.update(fast_path=list(fast_path),
                      median_fast_ratio=round(statistics.median(r["fast_ratio"] for r in measured), 3))
    return result

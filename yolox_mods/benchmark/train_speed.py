"""Training img/s of a bare loop around YOLOX's pieces: the baseline the project's trainer is measured against."""
import time

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

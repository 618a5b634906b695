"""``train``: one training run of an exp in this process, returning what it produced."""
from dataclasses import dataclass
from typing import Optional

from ..common import ConfigError, seed_everything
from .trainer import TrainOutcome


@dataclass
class TrainOptions:
    """How to run a training of an exp (what the exp does not say): YOLOX's trainer reads these as its ``args``.
    ``experiment_name``: the run's folder under ``exp.output_dir`` (the exp's name when None); ``ckpt``: weights to
    start from, or with ``resume`` the checkpoint to continue (the run's ``latest_ckpt.pth`` when None);
    ``start_epoch``: resume at this epoch instead of the checkpoint's; ``cache``: decoded images in RAM."""
    batch_size: int = 64
    device: str = "cpu"
    experiment_name: Optional[str] = None
    fp16: bool = False
    cache: bool = False
    resume: bool = False
    ckpt: Optional[str] = None
    start_epoch: Optional[int] = None
    # YOLOX's trainer reads it; yolox-lite logs to TensorBoard only
    logger: str = "tensorboard"

    def __post_init__(self):
        if self.logger != "tensorboard":
            raise ConfigError(f"logger {self.logger!r}: yolox-lite logs to tensorboard only")


def train(exp, options: TrainOptions) -> TrainOutcome:
    """Seed, build ``exp.get_trainer(options)``, train. Under ``core.launch`` every process calls this; the
    outcome's test result is on the main process only."""
    if not options.experiment_name:
        options.experiment_name = exp.exp_name
    if exp.seed is not None:
        seed_everything(exp.seed)
    trainer = exp.get_trainer(options)
    trainer.train()
    return trainer.outcome()

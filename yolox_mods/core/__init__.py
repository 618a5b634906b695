"""Training on CPU or CUDA with YOLOX's loop."""
from .launch import launch, resolve_device
from .trainer import LiteTrainer, TrainOutcome
from .training import TrainOptions, train

__all__ = ["LiteTrainer", "TrainOptions", "TrainOutcome", "launch", "resolve_device", "train"]

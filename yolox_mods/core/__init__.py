"""Training on CPU or CUDA with YOLOX's loop."""
from .launch import launch, resolve_device
from .trainer import LiteTrainer

__all__ = ["LiteTrainer", "launch", "resolve_device"]

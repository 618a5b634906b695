"""Training on CPU or CUDA with YOLOX's loop."""
from .checkpoint import (CheckpointError, atomic_open, atomic_save, atomic_write_text, load_checkpoint, load_exact,
                         load_matching)
from .launch import launch, resolve_device
from .trainer import LiteTrainer, NonFiniteLossError

__all__ = ["CheckpointError", "LiteTrainer", "NonFiniteLossError", "atomic_open", "atomic_save", "atomic_write_text",
           "launch", "load_checkpoint",
           "load_exact", "load_matching", "resolve_device"]

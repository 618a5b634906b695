"""What both halves share besides the blocks: errors, atomic I/O and checkpoints, seeding and seed statistics,
plotting, loader-worker guards and the CLI error wrapper. Imports nothing else of the project, nor YOLOX."""
from .cli import exits_cleanly_on_bad_input, fail
from .errors import CheckpointError, ConfigError, DataError, NonFiniteLossError, UserError, WriteError
from .images import read_image
from .io import (
                 atomic_open,
                 atomic_save,
                 atomic_write_bytes,
                 atomic_write_text,
                 load_checkpoint,
                 load_exact,
                 load_matching,
)
from .seeds import seed_everything, seed_stats, seed_worker, versus
from .worker_guard import GuardedDataLoader, GuardedLoaderMixin, SampleTracker, worker_death_message

__all__ = ["CheckpointError", "ConfigError", "DataError", "GuardedDataLoader", "GuardedLoaderMixin",
           "NonFiniteLossError", "SampleTracker", "UserError", "WriteError", "atomic_open", "atomic_save",
           "atomic_write_bytes", "atomic_write_text", "exits_cleanly_on_bad_input", "fail", "load_checkpoint",
           "load_exact", "load_matching", "read_image", "seed_everything", "seed_stats", "seed_worker", "versus",
           "worker_death_message"]

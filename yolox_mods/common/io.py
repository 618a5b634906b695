"""Artefacts written atomically, and checkpoints read with clear errors and loaded shape-matched."""
import contextlib
import os
import pickle
import tempfile
import zipfile
from typing import Any, Dict, List, Mapping

import torch
import torch.nn as nn

from .errors import CheckpointError, WriteError


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "wb"):
    """Open a temporary file beside ``path`` and rename it to ``path`` only once fully written and synced: a
    crash or a full disk never leaves a truncated file under ``path``, and the previous file survives."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, tmp_path = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as tmp:
            yield tmp
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp's 0600 would make every result private to its writer
        os.replace(tmp_path, path)
    except BaseException as error:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        cause = _os_error(error)
        if cause is None or isinstance(error, WriteError):
            raise
        failure = WriteError(f"{path}: not written ({cause.strerror or cause}); any previous version is unchanged")
        failure.errno = cause.errno
        raise failure from error


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _os_error(error: BaseException):
    # torch.save reports a failed write as a RuntimeError from its zip writer, with the OSError as its context
    while error is not None and not isinstance(error, OSError):
        error = error.__cause__ or error.__context__
    return error


def atomic_save(obj: Any, path: str) -> None:
    """``torch.save`` through ``atomic_open``."""
    with atomic_open(path, "wb") as file:
        torch.save(obj, file)


def atomic_write_text(path: str, text: str) -> None:
    """Write a text artefact (results JSON/markdown) through ``atomic_open``."""
    with atomic_open(path, "w") as file:
        file.write(text)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write a binary artefact (an .npz, an image) through ``atomic_open``."""
    with atomic_open(path, "wb") as file:
        file.write(data)


def load_checkpoint(path: str, map_location="cpu") -> Dict[str, Any]:
    """Read a checkpoint dict; a missing, truncated or foreign file raises ``CheckpointError`` naming it."""
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError) as error:
        raise CheckpointError(f"{path}: truncated or not a PyTorch checkpoint ({error})") from None
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise CheckpointError(f"{path}: not a yolox-lite/YOLOX checkpoint (no 'model' entry)")
    return checkpoint


def epochs_in_all(checkpoint: Mapping[str, Any]) -> int:
    """Every epoch that trained a checkpoint's weights: its run's (``start_epoch``) and those of the weights that
    run started from (``prior_epochs``; absent in files from before it was recorded)."""
    return (checkpoint.get("start_epoch") or 0) + checkpoint.get("prior_epochs", 0)


def state_dict_mismatches(model: nn.Module, state: Mapping[str, torch.Tensor]) -> List[str]:
    """One line per key that is missing, unexpected or of another shape."""
    own = model.state_dict()
    lines = [f"missing from checkpoint: {k}" for k in own if k not in state]
    lines += [f"not in model: {k}" for k in state if k not in own]
    lines += [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(v.shape)}"
              for k, v in own.items() if k in state and state[k].shape != v.shape]
    return lines


def load_exact(model: nn.Module, state: Mapping[str, torch.Tensor], path: str) -> None:
    """Load weights that must fit exactly (resume, evaluation); a checkpoint of another model or class count
    raises ``CheckpointError`` naming the file and the first differences."""
    mismatches = state_dict_mismatches(model, state)
    if mismatches:
        shown = "; ".join(mismatches[:5])
        raise CheckpointError(f"{path}: checkpoint does not fit this model ({len(mismatches)} differences, "
                              f"e.g. {shown}) - was it trained with another exp or num_classes?")
    model.load_state_dict(state)


def load_matching(model: nn.Module, state: Mapping[str, torch.Tensor]) -> List[str]:
    """Fine-tuning load: copy every tensor whose name and shape match; return the differences (for the log)."""
    own = model.state_dict()
    model.load_state_dict({k: v for k, v in state.items() if k in own and own[k].shape == v.shape}, strict=False)
    return state_dict_mismatches(model, state)


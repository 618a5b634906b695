"""Compact checkpoint storage: mostly-zero tensors (unstructured pruning) as a bitmask plus their non-zero values,
so that a sparse model is smaller on disk; what ``models.save_model`` writes and ``models.load_model`` reads."""
from typing import Dict

import numpy as np
import torch

PACKED = "__packed_sparse__"


def pack_state_dict(state: Dict[str, torch.Tensor], min_zero_fraction: float = 0.3) -> dict:
    """Every float tensor that is at least ``min_zero_fraction`` zeros is stored as a bitmask (1 bit per weight)
    plus its non-zero values, all of them in one bitmask array and one values array under ``PACKED`` (one storage
    each: a checkpoint's per-tensor overhead would otherwise eat the saving on a small model). 4 bytes per weight
    become 1/8 + 4 x density; other tensors are kept as they are."""
    plain, keys, shapes, bits, values = {}, [], [], [], []
    for key, tensor in state.items():
        if tensor.dtype == torch.float32 and tensor.numel() >= 64 and (tensor == 0).float().mean() >= min_zero_fraction:
            mask = (tensor != 0).flatten()
            keys.append(key)
            shapes.append(list(tensor.shape))
            bits.append(np.packbits(mask.numpy()))
            values.append(tensor.flatten()[mask])
        else:
            plain[key] = tensor
    if keys:
        plain[PACKED] = {"keys": keys, "shapes": shapes, "bits": torch.from_numpy(np.concatenate(bits)),
                         "values": torch.cat(values).clone()}
    return plain


def unpack_state_dict(state: dict) -> Dict[str, torch.Tensor]:
    """The inverse of ``pack_state_dict`` (a state dict without packed tensors passes through unchanged)."""
    if PACKED not in state:
        return dict(state)
    unpacked = {key: value for key, value in state.items() if key != PACKED}
    packed = state[PACKED]
    all_bits, all_values = packed["bits"].numpy(), packed["values"]
    bit_offset = value_offset = 0
    for key, shape in zip(packed["keys"], packed["shapes"]):
        count = int(np.prod(shape))
        size = (count + 7) // 8
        mask = torch.from_numpy(np.unpackbits(all_bits[bit_offset:bit_offset + size], count=count).astype(bool))
        nonzero = int(mask.sum())
        dense = torch.zeros(count, dtype=all_values.dtype)
        dense[mask] = all_values[value_offset:value_offset + nonzero]
        unpacked[key] = dense.view(shape)
        bit_offset, value_offset = bit_offset + size, value_offset + nonzero
    return unpacked

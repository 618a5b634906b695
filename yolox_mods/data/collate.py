"""Batch collation for YOLOX samples that tolerates mixed mosaic / plain samples in one batch."""
import numpy as np
import torch


def detection_collate(batch):
    """[(image, target, (h, w), id), ...] -> (images, targets, [heights, widths], ids), all tensors.

    YOLOX's mosaic samples carry Python ints while plain ones can carry NumPy ints, which torch's
    default_collate refuses to mix; converting every field explicitly makes batches uniform.
    """
    images, targets, infos, ids = zip(*batch)
    images = torch.from_numpy(np.stack([np.asarray(image, np.float32) for image in images]))
    targets = torch.from_numpy(np.stack([np.asarray(target, np.float32) for target in targets]))
    heights = torch.tensor([int(info[0]) for info in infos])
    widths = torch.tensor([int(info[1]) for info in infos])
    return images, targets, [heights, widths], torch.tensor([int(i) for i in ids])

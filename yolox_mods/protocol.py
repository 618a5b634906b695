"""Training protocols: named sets of exp attributes applied identically to every exp (``--protocol NAME``).

Each value is justified in docs/protocol.md by a measurement on this project's 2-core CPU machine.
"""
from typing import Any, Dict

from .common.errors import ConfigError

PROTOCOLS: Dict[str, Dict[str, Any]] = {
    # Short from-scratch CPU training on the quick VOC data (datasets/build_quick_voc.py): 2,150 trainval images;
    # the learning curve and best_ckpt.pth on val (300), the headline once at the end on test (2,000).
    "quick": {
        "val_sets": (("2007", "val"),),
        "test_sets": (("2007", "test"),),
        "input_size": (256, 256),
        "test_size": (256, 256),
        "random_size": None,            # fixed size: multiscale up to 2x the pixels costs more than it gives here
        "max_epoch": 45,                # fits the protocol's CPU budget (docs/protocol.md)
        "warmup_epochs": 1,
        "basic_lr_per_img": 0.02 / 16,  # 8x YOLOX's nano LR: the default does not learn in a CPU budget
        "min_lr_ratio": 0.05,
        "no_aug_epochs": 5,             # last epochs add YOLOX's L1 box loss
        "mosaic_prob": 0.0,             # mosaic slows convergence when there are few iterations
        "enable_mixup": False,
        "eval_interval": 5,             # the learning curve
        # batches built in the training process: the loader setting decides which random streams draw the
        # augmentations, so every run compared in one table shares it (docs/protocol.md)
        "data_num_workers": 0,
        "ema": True,
        "seed": 0,
    },
    # tools/quickstart.py: 40 epochs on 128 generated 160px images in a few CPU-minutes. No mosaic, a high LR with a
    # short warm-up, fixed size. The seed fixes data order and augmentation; multi-threaded CPU kernels still let
    # runs drift apart (docs/results.md).
    "demo": {
        "val_sets": (("2007", "val"),),
        "test_sets": (("2007", "test"),),
        "input_size": (160, 160),
        "test_size": (160, 160),
        "random_size": None,
        "max_epoch": 40,
        "warmup_epochs": 2,
        "no_aug_epochs": 5,
        "basic_lr_per_img": 0.00125,
        "mosaic_prob": 0.0,
        "eval_interval": 10,
        "print_interval": 8,
        "data_num_workers": 2,
        "seed": 0,
    },
}
# tools/benchmark.py --quick: the quick protocol shrunk to a smoke run on generated 128px data, one epoch
PROTOCOLS["smoke"] = {**PROTOCOLS["quick"], "input_size": (128, 128), "test_size": (128, 128), "max_epoch": 1,
                      "no_aug_epochs": 1, "data_num_workers": 0}
# tools/benchmark.py --train-speed: one epoch with YOLOX's nano augmentation (mosaic 0.5), fixed size, no
# evaluation, 2 loader workers: the same work for our trainer and for the plain YOLOX loop it is compared with
PROTOCOLS["train_speed"] = {"input_size": (256, 256), "test_size": (256, 256), "random_size": None,
                            "mosaic_prob": 0.5, "max_epoch": 1, "no_aug_epochs": 0, "eval_interval": 1000,
                            "test_at_end": False, "data_num_workers": 2}


def apply_protocol(exp, name: str):
    """Set ``PROTOCOLS[name]`` on ``exp`` (every key must be an existing attribute) and validate it."""
    if name not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {name!r}; choose from {sorted(PROTOCOLS)}")
    for key, value in PROTOCOLS[name].items():
        if not hasattr(exp, key):
            raise ConfigError(f"protocol {name!r} sets {key!r}, which {type(exp).__name__} does not have")
        setattr(exp, key, value)
    exp.protocol = name
    exp.check_exp_value()
    return exp

"""``LiteExp``: YOLOX's ``Exp`` for the nano variants on VOC, runnable on CPU and CUDA."""
import ast
import functools
import os
import random
from typing import Any, List

import torch
import torch.distributed as dist
from yolox.data.datasets.voc_classes import VOC_CLASSES
from yolox.exp import Exp

from .blocks import ACTIVATIONS
from .blocks.factory import check_conv_spec
from .common.errors import ConfigError
from .common.seeds import seed_worker
from .models.places import PLACES


class LiteExp(Exp):
    """Every setting is an attribute; exp files in ``exps/`` change attributes, nothing else."""

    def __init__(self):
        super().__init__()
        # ---------------- model config ---------------- #
        self.num_classes = 20
        self.depth = 0.33
        self.width = 0.25
        # ---------------- block config ---------------- #
        # place -> (conv, ksize); places are listed in yolox_mods.models.PLACES, convs in blocks.CONV_BLOCKS.
        # A tuple ksize means mixed kernels. Empty: stock YOLOX-nano (depthwise-separable 3x3 everywhere).
        self.blocks = {}
        # (conv, ksize) of the stride-2 conv feeding dark2 into the PAFPN; None: YOLOX's PAFPN.
        self.dark2_block = None

        # ---------------- dataloader config ---------------- #
        self.data_dir = os.path.join("datasets", "VOCdevkit")
        self.train_sets = (("2007", "trainval"),)
        # test: the final score (tools/eval.py's default split, and the run's test_eval.json at the end of training);
        # val: the learning curve and best_ckpt.pth. YOLOX's VOC exps use 2007 test for both; the quick protocol
        # chooses on its own val split so that no choice is made on the images that score it (docs/protocol.md)
        self.test_sets = (("2007", "test"),)
        self.val_sets = (("2007", "test"),)
        self.class_names = tuple(VOC_CLASSES)
        # strict: any bad file stops start-up with a list; lenient: bad files/objects are left out and counted
        self.data_strict = True
        self.data_num_workers = min(4, os.cpu_count() or 1)
        self.input_size = (416, 416)
        # multiscale training picks 32 * randint(*random_size) every 10 iterations; None: fixed input_size
        self.random_size = (10, 20)
        self.test_size = (416, 416)

        # --------------- transform config ----------------- #
        self.mosaic_prob = 0.5
        self.mosaic_scale = (0.5, 1.5)
        self.enable_mixup = False

        # --------------  training config --------------------- #
        self.max_epoch = 300
        self.warmup_epochs = 5
        self.no_aug_epochs = 15
        self.eval_interval = 10
        self.print_interval = 10
        self.save_history_ckpt = False
        # also write the resumable "latest" checkpoint every N iterations (0: only at the end of an epoch)
        self.ckpt_interval_iters = 0
        # clip gradients to this global norm (0: off)
        self.grad_clip_norm = 0.0
        # on a NaN/Inf loss: "stop" (keep the last good checkpoint and fail) or "skip" the step
        self.nonfinite_loss = "stop"
        # train in NHWC memory layout: PyTorch's CPU depthwise kernels are faster in NHWC, and the large-kernel
        # variants gain most (measured in docs/results.md)
        self.channels_last = True
        # torch.compile the backbone and the head's conv towers (eager on failure); off until it pays for its
        # compile time on the CPU at hand (docs/results.md, "training throughput")
        self.compile_model = False
        # after the last epoch, score the evaluated (EMA) weights once on test_sets: the run's headline
        self.test_at_end = True
        # network slimming's sparsity term: this times the sum of |BatchNorm scale| is added to the loss, so that
        # tools/prune.py --importance bn finds channels whose scale went to zero (0: off)
        self.bn_sparsity = 0.0
        # a pruned checkpoint (tools/prune.py) whose channel counts the model takes, trained from fresh weights: the
        # from-scratch control of a pruning study (its weights are not loaded; -c fine-tunes them instead)
        self.architecture_from = None
        # ---------------- distillation (yolox_mods/distill.py; off while teacher_ckpt is None) ---------------- #
        # the teacher: an exp name or file (None: this exp, e.g. a pruned model learning from its unpruned self) and
        # its weights; each student seed learns from the teacher of its own seed
        self.teacher_exp = None
        self.teacher_ckpt = None
        # weights of the class, objectness, box and FPN-feature terms; class and box weighted per anchor by
        # "teacher_obj" (the teacher's objectness) or "uniform"
        self.distill_cls = 1.0
        self.distill_obj = 1.0
        self.distill_box = 1.0
        self.distill_feature = 0.0
        self.distill_weighting = "teacher_obj"
        # the training protocol applied with --protocol (yolox_mods/protocol.py), recorded with every run
        self.protocol = None
        self.exp_name = type(self).__module__.split(".")[-1]

    # ---------------- config handling ---------------- #
    def merge(self, cfg_list: List[str]) -> None:
        """Command-line overrides: values are Python literals (``blocks "{'head': ('dw', 5)}"``,
        ``data_strict False``); a bare word is kept as a string. Unknown keys are an error. ``blocks`` merges into
        the exp's placement (``{'head': None}`` removes a place)."""
        if len(cfg_list) % 2:
            raise ConfigError(f"overrides come in 'key value' pairs, got {cfg_list}")
        for key, text in zip(cfg_list[0::2], cfg_list[1::2]):
            if not hasattr(self, key):
                raise ConfigError(f"unknown exp attribute {key!r}")
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                value = text
            if key == "blocks" and isinstance(value, dict):
                # merged into the exp's placement, so an override never silently drops the exp's other places;
                # a place set to None goes back to stock
                value = {place: spec for place, spec in {**dict(self.blocks), **value}.items() if spec is not None}
            setattr(self, key, value)
        self.check_exp_value()

    def check_exp_value(self) -> None:
        """Fail early, with the attribute's name, on values that would only break deep in training."""
        height, width = self.input_size
        if height % 32 or width % 32:
            raise ConfigError(f"input_size {self.input_size} must be multiples of 32")
        specs = {f"blocks[{place!r}]": spec for place, spec in dict(self.blocks).items()}
        if self.dark2_block is not None:
            specs["dark2_block"] = self.dark2_block
        for place in dict(self.blocks):
            if place not in PLACES:
                raise ConfigError(f"blocks: unknown place {place!r}; choose from {sorted(PLACES)}")
        for name, spec in specs.items():
            if not (isinstance(spec, (tuple, list)) and len(spec) == 2):
                raise ConfigError(f"{name} must be (conv, ksize), got {spec!r}")
            try:
                check_conv_spec(*spec)
            except ValueError as error:
                raise ConfigError(f"{name}: {error}") from None
        if self.act not in ACTIVATIONS:
            raise ConfigError(f"act must be one of {sorted(ACTIVATIONS)}, got {self.act!r}")
        if self.bn_sparsity < 0:
            raise ConfigError(f"bn_sparsity must be >= 0, got {self.bn_sparsity}")
        if self.teacher_ckpt is not None:
            from .distill import DistillWeights

            DistillWeights(self.distill_cls, self.distill_obj, self.distill_box, self.distill_feature,
                           self.distill_weighting).check()
        if self.nonfinite_loss not in ("stop", "skip"):
            raise ConfigError(f"nonfinite_loss must be 'stop' or 'skip', got {self.nonfinite_loss!r}")
        if len(self.class_names) != self.num_classes:
            raise ConfigError(f"num_classes={self.num_classes} but {len(self.class_names)} class_names")

    # ---------------- model ---------------- #
    def get_model(self) -> torch.nn.Module:
        """A freshly initialised model on every call (a teacher and a student can coexist). It is also kept in
        ``self.model`` because YOLOX's ``get_optimizer`` reads it from there."""
        from .models import build_yolox

        self.model = build_yolox(self.num_classes, self.depth, self.width, self.act,
                                 blocks=self.blocks, dark2_block=self.dark2_block)
        # YOLOX's get_optimizer caches its optimizer on the exp: one built for an earlier model would train nothing
        self.__dict__.pop("optimizer", None)
        self.model.train()
        return self.model

    # ---------------- data ---------------- #
    def get_dataset(self, image_sets, img_size, preproc, cache: bool = False):
        from .data import VOCDataset

        return VOCDataset(self.data_dir, image_sets, img_size, preproc, cache=cache, strict=self.data_strict,
                          class_names=self.class_names)

    def get_data_loader(self, batch_size, is_distributed, no_aug=False, cache_img=False):
        from yolox.data import (
            InfiniteSampler,
            MosaicDetection,
            TrainTransform,
            YoloBatchSampler,
            worker_init_reset_seed,
        )
        from yolox.utils import get_rank, wait_for_the_master

        from .data import GuardedYoloxLoader, detection_collate

        with wait_for_the_master():
            dataset = self.get_dataset(self.train_sets, self.input_size,
                                       TrainTransform(max_labels=50, flip_prob=self.flip_prob,
                                                      hsv_prob=self.hsv_prob), cache=cache_img)
        self.dataset = MosaicDetection(
            dataset, mosaic=not no_aug, img_size=self.input_size,
            preproc=TrainTransform(max_labels=120, flip_prob=self.flip_prob, hsv_prob=self.hsv_prob),
            degrees=self.degrees, translate=self.translate, mosaic_scale=self.mosaic_scale,
            mixup_scale=self.mixup_scale, shear=self.shear, enable_mixup=self.enable_mixup,
            mosaic_prob=self.mosaic_prob, mixup_prob=self.mixup_prob,
        )
        if is_distributed:
            batch_size = batch_size // dist.get_world_size()
        sampler = InfiniteSampler(len(self.dataset), seed=self.seed or 0)
        batch_sampler = YoloBatchSampler(sampler=sampler, batch_size=batch_size, drop_last=False,
                                         mosaic=not no_aug)
        return GuardedYoloxLoader(self.dataset, sample_names=[record.image_path for record in dataset.records],
                                  batch_sampler=batch_sampler, num_workers=self.data_num_workers,
                                  pin_memory=torch.cuda.is_available(), collate_fn=detection_collate,
                                  worker_init_fn=(worker_init_reset_seed if self.seed is None else
                                                  functools.partial(seed_worker, self.seed + 1000 * get_rank())),
                                  persistent_workers=self.data_num_workers > 0)

    def eval_sets(self, split: str):
        if split not in ("val", "test"):
            raise ConfigError(f"split must be 'val' or 'test', got {split!r}")
        return self.val_sets if split == "val" else self.test_sets

    def get_eval_loader(self, batch_size, is_distributed, testdev=False, legacy=False, *, split="test"):
        from yolox.data import ValTransform

        from .common.worker_guard import GuardedDataLoader
        from .data import detection_collate

        dataset = self.get_dataset(self.eval_sets(split), self.test_size, ValTransform(legacy=legacy))
        if is_distributed:
            batch_size = batch_size // dist.get_world_size()
            sampler = torch.utils.data.distributed.DistributedSampler(dataset, shuffle=False)
        else:
            sampler = torch.utils.data.SequentialSampler(dataset)
        return GuardedDataLoader(dataset, sample_names=[record.image_path for record in dataset.records],
                                 batch_size=batch_size, sampler=sampler, num_workers=self.data_num_workers,
                                 collate_fn=detection_collate, pin_memory=torch.cuda.is_available())

    def get_evaluator(self, batch_size, is_distributed, testdev=False, legacy=False, *, split="test"):
        from .evaluators import VOCEvaluator

        return VOCEvaluator(dataloader=self.get_eval_loader(batch_size, is_distributed, testdev, legacy, split=split),
                            img_size=self.test_size, confthre=self.test_conf, nmsthre=self.nmsthre,
                            num_classes=self.num_classes)

    def random_resize(self, data_loader, epoch, rank, is_distributed):
        """YOLOX's multiscale choice, broadcast on the device the process group uses (CPU for gloo)."""
        device = "cuda" if is_distributed and dist.get_backend() == "nccl" else "cpu"
        size = torch.zeros(2, dtype=torch.long, device=device)
        if rank == 0:
            factor = random.randint(*self.random_size)
            ratio = self.input_size[1] / self.input_size[0]
            size[0], size[1] = 32 * factor, 32 * int(factor * ratio)
        if is_distributed:
            dist.barrier()
            dist.broadcast(size, 0)
        return int(size[0]), int(size[1])

    def get_trainer(self, options: Any):
        """``options``: a ``core.TrainOptions``."""
        from .core import LiteTrainer

        return LiteTrainer(self, options)

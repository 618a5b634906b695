"""YOLOX's Trainer on any device, with atomic mid-epoch-resumable checkpoints and fault handling."""
import datetime
import json
import os
import time
from dataclasses import dataclass
from typing import Optional

import torch
import torch.distributed as dist
from loguru import logger
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.tensorboard import SummaryWriter
from yolox.core import Trainer
from yolox.data import DataPrefetcher
from yolox.utils import ModelEMA, adjust_status, get_model_info, is_parallel, synchronize
from yolox.utils.allreduce_norm import get_async_norm_states

from ..common.errors import CheckpointError, ConfigError, NonFiniteLossError
from ..common.io import atomic_save, atomic_write_text, epochs_in_all, load_checkpoint, load_exact, load_matching
from ..common.provenance import RunSetting
from ..distill import build_distiller
from ..evaluation import check_trained_act
from ..evaluators.voc_map import VOCResult
from ..models import reinitialize
from ..models.compile import compile_for_training, uncompiled
from ..pruning import apply_architecture, batchnorm_scale_l1
from ..weights import weights_digest
from .curve import Curve, read_curve, run_curve_path


@dataclass
class TrainOutcome:
    """A finished run: where it is, its training speed, its best val mAP50:95 and its test result. ``images``
    counts every process's (the run's throughput, as the log's img/s, which divides the global batch)."""
    run_dir: str
    images: int
    iter_seconds: float
    world_size: int
    best_val_ap50_95: float
    test: Optional[VOCResult] = None

    @property
    def img_per_s(self) -> float:
        return self.images / max(self.iter_seconds, 1e-9)

    def stats(self) -> dict:
        """``train_stats.json``: iterations only, without evaluation or start-up."""
        return {"images": self.images, "iter_seconds": round(self.iter_seconds, 2),
                "img_per_s": round(self.img_per_s, 2), "world_size": self.world_size,
                "best_ap50_95": self.best_val_ap50_95}


class LoaderIterator:
    """The CPU stand-in for YOLOX's CUDA-stream ``DataPrefetcher``: same ``next()`` contract."""

    def __init__(self, loader):
        self.batches = iter(loader)

    def next(self):
        images, targets, _, _ = next(self.batches)
        return images, targets


def all_reduce_norm(module: torch.nn.Module) -> None:
    """Average BN statistics over processes with whatever backend is in use (YOLOX's builds CUDA tensors)."""
    world_size = dist.get_world_size()
    states = get_async_norm_states(module)
    for tensor in states.values():
        if tensor.is_floating_point():
            dist.all_reduce(tensor)
            tensor /= world_size


class LiteTrainer(Trainer):
    """Keeps YOLOX's loop, fp16, EMA, DDP and hooks; replaces what assumed CUDA, and checkpoints so that
    ``--resume`` continues at the saved epoch *and* iteration with optimizer, EMA and best AP restored."""

    def __init__(self, exp, options):
        """``options``: a ``core.TrainOptions`` (YOLOX's trainer keeps it as ``self.args``)."""
        super().__init__(exp, options)
        self.device = (torch.device(options.device, self.local_rank) if options.device == "cuda"
                       else torch.device("cpu"))
        if options.fp16 and self.device.type != "cuda":
            raise ConfigError("--fp16 needs a CUDA device")
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=options.fp16)
        self.setting = RunSetting.current(exp.protocol, exp.data_num_workers, torch.get_num_threads())
        self.start_iter = 0
        self.resumed_ema = None
        # below any real AP, so the first evaluation always writes best_ckpt.pth (YOLOX starts at 0)
        self.best_ap = -1.0
        self.images_seen = 0
        self.iter_seconds = 0.0
        self.started = time.time()
        self.test_result = None

    # ------------------------------------------------------------------ setup
    def before_train(self):
        logger.info("options: {}".format(self.args))
        logger.info("setting: {}".format(self.setting))
        logger.info("exp value:\n{}".format(self.exp))
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        model = self.exp.get_model()
        path = self.starting_checkpoint()
        # read once: its architecture shapes the model before the optimizer, its weights load after
        self.starting_state = None if path is None else load_checkpoint(path, map_location=self.device)
        self.architecture, source = self.starting_architecture()
        if self.architecture is not None:
            apply_architecture(model, self.architecture, source)
            if path is None:  # architecture_from: the channel counts only, trained from fresh weights
                reinitialize(model)
            logger.info("pruned architecture from {}{}", source, ", fresh weights" if path is None else "")
        logger.info("Model Summary: {}".format(get_model_info(model, self.exp.test_size)))
        model.to(self.device)
        if self.exp.channels_last:
            model.to(memory_format=torch.channels_last)
        self.optimizer = self.exp.get_optimizer(self.args.batch_size)
        self.distiller = build_distiller(self.exp, model, self.device)
        if self.distiller is not None:
            logger.info("distilling from {} ({})", self.exp.teacher_ckpt, self.distiller.weights)
            if len(self.distiller.adapters):
                self.optimizer.add_param_group({"params": list(self.distiller.adapters.parameters())})
        model = self.resume_train(model)

        self.no_aug = self.start_epoch >= self.max_epoch - self.exp.no_aug_epochs
        self.train_loader = self.exp.get_data_loader(batch_size=self.args.batch_size,
                                                     is_distributed=self.is_distributed, no_aug=self.no_aug,
                                                     cache_img=self.args.cache)
        self.prefetcher = (DataPrefetcher(self.train_loader) if self.device.type == "cuda"
                           else LoaderIterator(self.train_loader))
        self.max_iter = len(self.train_loader)
        self.lr_scheduler = self.exp.get_lr_scheduler(self.exp.basic_lr_per_img * self.args.batch_size,
                                                      self.max_iter)
        if self.exp.compile_model:
            self.compile(model)
        if self.is_distributed:
            device_ids = [self.local_rank] if self.device.type == "cuda" else None
            model = DDP(model, device_ids=device_ids, broadcast_buffers=False)
        if self.use_model_ema:
            self.ema_model = ModelEMA(model, 0.9998)
            uncompiled(self.ema_model.ema)
            self.ema_model.updates = self.max_iter * self.start_epoch + self.start_iter
            if self.resumed_ema is not None:
                self.ema_model.ema.load_state_dict(self.resumed_ema)
        self.model = model
        # the learning curve and best_ckpt.pth are chosen on val; test is scored once, in after_train
        self.evaluator = self.exp.get_evaluator(batch_size=self.args.batch_size,
                                                is_distributed=self.is_distributed, split="val")
        if self.rank == 0:
            self.tblogger = SummaryWriter(os.path.join(self.file_name, "tensorboard"))
        logger.info("Training start on {} ({} iterations per epoch, {} memory format)...", self.device,
                    self.max_iter, "channels_last" if self.exp.channels_last else "contiguous")

    def compile(self, model):
        """``torch.compile`` the conv parts, tried on one step of the training batch shape (eager on failure)."""
        height, width = self.exp.input_size
        images = torch.randn(self.args.batch_size, 3, height, width, device=self.device)
        if self.exp.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        labels = torch.zeros(self.args.batch_size, 120, 5, device=self.device)
        labels[:, 0] = torch.tensor([0.0, height / 2, width / 2, height / 4, width / 4])
        started = time.time()
        if compile_for_training(model, lambda: model(images, labels)["total_loss"], logger.warning):
            logger.info("model compiled with torch.compile in {:.0f} s", time.time() - started)

    def starting_checkpoint(self):
        """The checkpoint this run loads: the one it resumes, or the weights it fine-tunes (-c); None for neither."""
        if self.args.resume:
            return self.args.ckpt or os.path.join(self.file_name, "latest_ckpt.pth")
        return self.args.ckpt

    def starting_architecture(self):
        """The pruned architecture the model is reshaped to before the optimizer is built, and the checkpoint it
        comes from: the starting checkpoint's (None for the exp's own), else ``exp.architecture_from``'s. Every
        checkpoint of this run carries it on, so a from-scratch run resumes from its own."""
        path = self.starting_checkpoint()
        source = self.exp.architecture_from
        if source is not None and path is not None and not self.args.resume:
            raise ConfigError(f"architecture_from ({source}) trains from fresh weights and -c ({path}) fine-tunes: "
                              "give one")
        if path is not None:
            return self.starting_state.get("architecture"), path
        if source is None:
            return None, None
        architecture = load_checkpoint(source).get("architecture")
        if architecture is None:
            raise CheckpointError(f"{source}: no pruned architecture (architecture_from takes a tools/prune.py "
                                  "checkpoint)")
        return architecture, source

    def resume_train(self, model):
        self.start_epoch, self.start_iter, self.prior_epochs = 0, 0, 0
        path, checkpoint, self.starting_state = self.starting_checkpoint(), self.starting_state, None
        if self.args.resume:
            check_trained_act(path, checkpoint.get("act"), self.exp.exp_name, self.exp.act)
            load_exact(model, checkpoint.get("train_model", checkpoint["model"]), path)
            if self.distiller is not None and checkpoint.get("distill_adapters") is not None:
                self.distiller.adapters.load_state_dict(checkpoint["distill_adapters"])
            self.optimizer.load_state_dict(checkpoint["optimizer"])
            self.best_ap = checkpoint.get("best_ap", -1.0)
            self.resumed_ema = checkpoint.get("ema")
            self.start_epoch = (self.args.start_epoch - 1 if self.args.start_epoch is not None
                                else checkpoint["start_epoch"])
            self.start_iter = checkpoint.get("start_iter", 0)
            self.prior_epochs = checkpoint.get("prior_epochs", 0)
            # the curve's minutes and the speed in train_stats.json continue over the interruption
            self.started = time.time() - checkpoint.get("elapsed_seconds", 0.0)
            self.images_seen = checkpoint.get("images_seen", 0)
            self.iter_seconds = checkpoint.get("iter_seconds", 0.0)
            trained = checkpoint.get("training")
            if trained is not None and RunSetting.from_dict(trained, path).comparable() != self.setting.comparable():
                logger.warning("resuming a run started with protocol/loader workers {} as {}: its curve and test "
                               "score record the latter", RunSetting.from_dict(trained, path).comparable(),
                               self.setting.comparable())
            logger.info("resumed from {} at epoch {} iteration {}", path, self.start_epoch + 1, self.start_iter)
        elif path is not None:
            differences = load_matching(model, checkpoint["model"])
            # a fine-tune's weights were trained before it: the equal-epoch comparison counts those epochs too
            self.prior_epochs = epochs_in_all(checkpoint)
            if checkpoint.get("act", self.exp.act) != self.exp.act:
                logger.info("fine-tuning weights trained with act {} as act {}", checkpoint["act"], self.exp.act)
            for line in differences:
                logger.warning("fine-tune load of {}: {} (left at its initial value)", self.args.ckpt, line)
        return model

    # ------------------------------------------------------------------ loop
    def train_in_iter(self):
        first = self.start_iter if self.epoch == self.start_epoch else 0
        for self.iter in range(first, self.max_iter):
            self.before_iter()
            self.train_one_iter()
            self.after_iter()

    def train_one_iter(self):
        iter_start_time = time.time()
        inps, targets = self.prefetcher.next()
        inps = inps.to(self.device, self.data_type, non_blocking=True)
        targets = targets.to(self.device, self.data_type, non_blocking=True)
        targets.requires_grad = False
        inps, targets = self.exp.preprocess(inps, targets, self.input_size)
        if self.exp.channels_last:
            inps = inps.contiguous(memory_format=torch.channels_last)
        data_end_time = time.time()

        with torch.autocast(self.device.type, enabled=self.amp_training):
            outputs = self.model(inps, targets)
            if self.distiller is not None:
                outputs.update(self.distiller.losses(inps))
                outputs["total_loss"] = outputs["total_loss"] + outputs["distill_loss"]
            if self.exp.bn_sparsity > 0:
                outputs["bn_l1_loss"] = batchnorm_scale_l1(self.model)
                outputs["total_loss"] = outputs["total_loss"] + self.exp.bn_sparsity * outputs["bn_l1_loss"]
        loss = outputs["total_loss"]
        self.optimizer.zero_grad()
        if self.all_finite(loss):
            self.scaler.scale(loss).backward()
            if self.is_distributed and self.distiller is not None:
                self.distiller.average_adapter_gradients()
            gradients_finite = True
            if self.exp.grad_clip_norm > 0 or not self.amp_training:
                self.scaler.unscale_(self.optimizer)
                # the norm of every gradient (clipped when asked): a finite loss can still overflow them, and an
                # inf/NaN weight would break the next forward pass far from the cause. Under fp16 the GradScaler
                # skips such steps itself and lowers its scale
                norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(),
                                                      self.exp.grad_clip_norm or float("inf"))
                gradients_finite = self.amp_training or self.all_finite(norm)
            if gradients_finite:
                self.scaler.step(self.optimizer)
                self.scaler.update()
                if self.use_model_ema:
                    self.ema_model.update(self.model)
            else:
                self.handle_nonfinite(norm, "gradient norm")
        else:
            self.handle_nonfinite(loss, "loss")

        lr = self.lr_scheduler.update_lr(self.progress_in_iter + 1)
        for param_group in self.optimizer.param_groups:
            param_group["lr"] = lr
        iter_time = time.time() - iter_start_time
        self.images_seen += inps.shape[0]
        self.iter_seconds += iter_time
        self.meter.update(iter_time=iter_time, data_time=data_end_time - iter_start_time,
                          lr=lr, **{k: v for k, v in outputs.items() if k.endswith("loss")})

    def all_finite(self, loss) -> bool:
        """Whether every process's loss is finite: under DDP all ranks must take the same branch, or the ones that
        step wait forever in the gradient all-reduce for one that skipped or stopped."""
        finite = torch.isfinite(loss.detach()).to(torch.float32).reshape(1)
        if self.is_distributed:
            dist.all_reduce(finite, op=dist.ReduceOp.MIN)
        return bool(finite.item())

    def handle_nonfinite(self, value, name: str):
        """A non-finite ``name`` ("loss", "gradient norm"): skip the step or stop, as ``exp.nonfinite_loss`` says."""
        where = f"epoch {self.epoch + 1}, iteration {self.iter + 1}"
        what = (f"non-finite {name} on another process" if torch.isfinite(value)
                else f"non-finite {name} ({value.item()})")
        if self.exp.nonfinite_loss == "skip":
            logger.warning("{} at {}: step skipped", what, where)
            return
        latest = os.path.join(self.file_name, "latest_ckpt.pth")
        kept = latest if os.path.exists(latest) else "none written yet"
        remedy = "grad_clip_norm" if name == "loss" else "a lower learning rate"
        raise NonFiniteLossError(f"{what} at {where}; training stopped, last good "
                                 f"checkpoint: {kept} (set nonfinite_loss skip or {remedy} to go on)")

    def after_iter(self):
        if (self.iter + 1) % self.exp.print_interval == 0:
            left_iters = self.max_iter * self.max_epoch - (self.progress_in_iter + 1)
            iter_time = self.meter["iter_time"].global_avg
            eta = datetime.timedelta(seconds=int(iter_time * left_iters))
            losses = self.meter.get_filtered_meter("loss")
            images_per_s = self.args.batch_size / max(self.meter["iter_time"].avg, 1e-9)
            logger.info("epoch {}/{}, iter {}/{}, {:.1f} img/s, {}, lr: {:.3e}, size: {}, ETA: {}",
                        self.epoch + 1, self.max_epoch, self.iter + 1, self.max_iter, images_per_s,
                        ", ".join(f"{k}: {v.latest:.2f}" for k, v in losses.items()),
                        self.meter["lr"].latest, self.input_size[0], eta)
            if self.rank == 0:
                step = self.progress_in_iter + 1
                for key, meter in losses.items():
                    self.tblogger.add_scalar(f"train/{key}", meter.latest, step)
                self.tblogger.add_scalar("train/lr", self.meter["lr"].latest, step)
                self.tblogger.add_scalar("train/img_per_s", images_per_s, step)
            self.meter.clear_meters()
        interval = self.exp.ckpt_interval_iters
        if interval and (self.iter + 1) % interval == 0 and self.iter + 1 < self.max_iter:
            self.save_ckpt("latest", next_iter=self.iter + 1)
        if self.exp.random_size and (self.progress_in_iter + 1) % 10 == 0:
            self.input_size = self.exp.random_resize(self.train_loader, self.epoch, self.rank, self.is_distributed)

    def after_epoch(self):
        self.save_ckpt(ckpt_name="latest")
        if (self.epoch + 1) % self.exp.eval_interval == 0:
            if self.is_distributed:
                all_reduce_norm(self.model)
            self.evaluate_and_save_model()

    def evaluate_and_save_model(self):
        """YOLOX's evaluation step (EMA weights, best AP, ``last_epoch``/``best`` checkpoints, TensorBoard), scored
        with ``VOCEvaluator.score`` so that per-class AP reaches TensorBoard and the learning curve."""
        model = self.ema_model.ema if self.use_model_ema else self.model
        model = model.module if is_parallel(model) else model
        with adjust_status(model, training=False):
            evaluation = self.evaluator.score(model, self.is_distributed)
        ap50_95 = evaluation.result.map50_95 if evaluation.result is not None else 0.0
        update_best_ckpt = ap50_95 > self.best_ap
        self.best_ap = max(self.best_ap, ap50_95)
        if self.rank == 0:
            result = evaluation.result
            self.tblogger.add_scalar("val/COCOAP50", result.map50, self.epoch + 1)
            self.tblogger.add_scalar("val/COCOAP50_95", result.map50_95, self.epoch + 1)
            for name, ap in result.per_class_ap50.items():
                self.tblogger.add_scalar(f"val_AP50/{name}", 100 * ap, self.epoch + 1)
            logger.info("\n" + evaluation.summary)
            # the learning curve against wall-clock training time; a resumed run continues the clock
            path = run_curve_path(self.file_name)
            curve = read_curve(path) if os.path.exists(path) else Curve()
            curve.points.append({"epoch": self.epoch + 1, "minutes": round((time.time() - self.started) / 60, 2),
                                 "mAP50": round(100 * result.map50, 2), "mAP50_95": round(100 * result.map50_95, 2)})
            curve.training = self.setting
            curve.write(path)
        synchronize()
        self.save_ckpt("last_epoch", update_best_ckpt)
        if self.save_history_ckpt:
            self.save_ckpt(f"epoch_{self.epoch + 1}")

    def after_train(self):
        super().after_train()
        if self.exp.test_at_end:
            self.evaluate_on_test()
        if self.rank == 0:
            # this process's training speed, for benchmarks: iterations only, without evaluation or start-up
            atomic_write_text(os.path.join(self.file_name, "train_stats.json"),
                              json.dumps(self.outcome().stats(), indent=2))

    def evaluate_on_test(self):
        """The run's headline: the last epoch's evaluated (EMA) weights scored once on ``test_sets``, written to
        ``test_eval.json`` (and its ``.matches.npz`` for paired bootstrap comparisons)."""
        from ..evaluators import record_evaluation

        model = self.ema_model.ema if self.use_model_ema else self.model
        model = model.module if is_parallel(model) else model
        evaluator = self.exp.get_evaluator(batch_size=self.args.batch_size, is_distributed=self.is_distributed,
                                           split="test")
        with adjust_status(model, training=False):
            evaluation = evaluator.score(model, self.is_distributed)
        self.test_result = evaluation.result
        if self.rank == 0:
            path = os.path.join(self.file_name, "test_eval.json")
            record_evaluation(path, evaluation.result, exp=self.exp.exp_name, act=self.exp.act,
                              model_file=os.path.join(self.file_name, "latest_ckpt.pth"), split="test",
                              image_sets=list(self.exp.test_sets), test_size=list(self.exp.test_size),
                              epoch=self.max_epoch, prior_epochs=self.prior_epochs, seed=self.exp.seed,
                              weights=weights_digest(model),
                              training=self.setting)
            logger.info("test split, last epoch (EMA weights):\n{}\nwritten to {}", evaluation.summary, path)

    def outcome(self) -> TrainOutcome:
        """What this process's run produced (the test result only on the main process, and with ``test_at_end``)."""
        world_size = dist.get_world_size() if self.is_distributed else 1
        # every process steps as often on an equal share of the batch
        return TrainOutcome(run_dir=self.file_name, images=self.images_seen * world_size,
                            iter_seconds=self.iter_seconds, world_size=world_size,
                            best_val_ap50_95=self.best_ap, test=self.test_result)

    # ------------------------------------------------------------------ checkpoints
    def save_ckpt(self, ckpt_name, update_best_ckpt=False, next_iter=None):
        """``model`` holds the weights to evaluate (EMA when used, as in YOLOX); ``train_model`` and ``ema`` what
        resuming needs. ``next_iter`` marks a mid-epoch checkpoint."""
        if self.rank != 0:
            return
        train_model = self.model.module if is_parallel(self.model) else self.model
        eval_model = self.ema_model.ema if self.use_model_ema else train_model
        mid_epoch = next_iter is not None
        state = {
            "start_epoch": self.epoch if mid_epoch else self.epoch + 1,
            "start_iter": next_iter if mid_epoch else 0,
            "prior_epochs": self.prior_epochs,
            "model": eval_model.state_dict(),
            "train_model": train_model.state_dict(),
            "ema": self.ema_model.ema.state_dict() if self.use_model_ema else None,
            "optimizer": self.optimizer.state_dict(),
            "best_ap": self.best_ap,
            "elapsed_seconds": time.time() - self.started,
            "images_seen": self.images_seen,
            "iter_seconds": self.iter_seconds,
            "exp_name": self.exp.exp_name,
            "num_classes": self.exp.num_classes,
            "act": self.exp.act,
            "training": self.setting.to_dict(),
        }
        if self.architecture is not None:
            state["architecture"] = self.architecture
        if self.distiller is not None:  # the teacher stays out; the adapters are kept for resuming only
            state["distilled_from"] = {"exp": self.exp.teacher_exp, "ckpt": self.exp.teacher_ckpt}
            state["distill_adapters"] = self.distiller.adapters.state_dict()
        atomic_save(state, os.path.join(self.file_name, ckpt_name + "_ckpt.pth"))
        if update_best_ckpt:
            atomic_save(state, os.path.join(self.file_name, "best_ckpt.pth"))

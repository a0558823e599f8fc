"""Assemble and run the Lightning Trainer for a config (used by `maskdepth train`)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import EMAWeightAveraging, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger

from maskdepth.data.module import MaskDepthData
from maskdepth.io.faults import kill_after
from maskdepth.models import MaskDepthNet, build_model
from maskdepth.models.weights import save_model
from maskdepth.runtime.loader import load_torch_model
from maskdepth.training.callbacks import (
    AtomicCheckpointIO,
    FiniteLoss,
    ImageLogger,
    KillPoint,
    StepProfiler,
    Throughput,
)
from maskdepth.training.config import TrainConfig, save_config
from maskdepth.training.module import MaskDepthModule
from maskdepth.training.precision import emulated_bf16_warning, resolve_precision, trains_on_gpu


def make_trainer(config: TrainConfig, run: Path, profile: bool = False) -> L.Trainer:
    t = config.trainer
    checkpoints = run / "checkpoints"
    callbacks = [
        FiniteLoss(checkpoints),  # first: a diverged step stops before any checkpoint of it
        ModelCheckpoint(dirpath=checkpoints, filename="step{step:07d}", auto_insert_metric_name=False,
                        every_n_train_steps=t.checkpoint_every, save_last=True, save_top_k=0),
        ModelCheckpoint(dirpath=checkpoints, filename="best", monitor=t.monitor, mode=t.monitor_mode,
                        save_top_k=1, auto_insert_metric_name=False),
        LearningRateMonitor(logging_interval="step"),
        ImageLogger(t.image_every),
        Throughput(run / "throughput.json", skip=min(20, t.max_steps // 4)),
    ]
    if t.ema_decay > 0:  # validation, checkpoints and the saved model hold the average
        callbacks.append(EMAWeightAveraging(decay=t.ema_decay))
    if profile:
        callbacks.append(StepProfiler(run / "profile.json"))
    if kill_after() is not None:
        callbacks.append(KillPoint())
    precision = resolve_precision(t.precision, t.accelerator)
    warning = emulated_bf16_warning(precision, t.accelerator)
    if warning:
        print(f"maskdepth train: warning: {warning}")
    return L.Trainer(
        default_root_dir=run, max_steps=t.max_steps, val_check_interval=t.val_every,
        max_time=datetime.timedelta(minutes=t.max_minutes) if t.max_minutes > 0 else None,
        check_val_every_n_epoch=None, log_every_n_steps=t.log_every, precision=precision,
        accumulate_grad_batches=t.accumulate, devices=t.devices, num_nodes=t.num_nodes,
        strategy=t.strategy, accelerator=t.accelerator, gradient_clip_val=t.gradient_clip or None,
        logger=TensorBoardLogger(run, name="tensorboard", version=""), callbacks=callbacks,
        plugins=[AtomicCheckpointIO()], use_distributed_sampler=False, num_sanity_val_steps=0,
        enable_model_summary=False, deterministic=False,
        benchmark=trains_on_gpu(t.accelerator))  # cudnn.benchmark: fixed sizes, fastest kernels


@dataclass
class WarmStart:
    """Trained weights a run starts from (`train --init`): the model, its lineage and the
    SHA-256 of the file they were read from."""

    model: MaskDepthNet
    lineage: list[dict]
    digest: str

    @classmethod
    def read(cls, value: str | Path) -> WarmStart:
        """Read a shipped model's name, .safetensors or .ckpt file (a broken one is a UserError
        naming it)."""
        loaded = load_torch_model(value)
        return cls(loaded.network, loaded.lineage, loaded.ref.digest)


def fit(config: TrainConfig, run: str | Path, resume: Path | None = None,
        profile: bool = False, init: WarmStart | None = None) -> MaskDepthModule:
    """Train (or continue) a run; writes RUN/config.yaml, checkpoints, TensorBoard logs and, at
    the end, RUN/model.safetensors (the weights of the last step, or their moving average when
    trainer.ema_decay is set, with their lineage).

    init: start from these trained weights with a fresh optimizer and schedule; config.model
    must be theirs (see warm_start_config)."""
    run = Path(run)
    L.seed_everything(config.seed, workers=True, verbose=False)
    model = init.model.train() if init is not None else build_model(config.model)
    if config.trainer.channels_last:
        model = model.to(memory_format=torch.channels_last)
    module = MaskDepthModule(model, config, run_name=run.name,
                             parent_lineage=init.lineage if init is not None else None,
                             init_digest=init.digest if init is not None else None)
    trainer = make_trainer(config, run, profile)
    if trainer.is_global_zero:
        save_config(config, run / "config.yaml")
    trainer.fit(module, datamodule=MaskDepthData(config.data, config.seed, config.trainer.accumulate),
                ckpt_path=resume)
    if trainer.is_global_zero:
        save_model(module.model, run / "model.safetensors", lineage=module.lineage())
    return module

"""The LightningModule: one shared step for train / val / test around a plain model.

Inference and export never import this file; they use the nn.Module from models/.
"""

from __future__ import annotations

import math
import time

import lightning as L
import torch
from torch import nn

from maskdepth.batch import Batch, split_depth
from maskdepth.metrics import DepthMetrics, MaskMetrics, RelativeDepthMetrics
from maskdepth.training.config import OptimConfig, TrainConfig
from maskdepth.training.lineage import run_entry
from maskdepth.training.losses import MaskDepthLoss
from maskdepth.training.prior_noise import degrade_prior


class MaskDepthModule(L.LightningModule):
    """Trains a MaskDepthNet. Logs `train/*` every step it is asked to and `val/*` / `test/*`
    metrics (mask_iou, depth_rmse, ...) at the end of each evaluation.

    parent_lineage / init_digest: the lineage and SHA-256 of the weights the run started from
    (`train --init`); `lineage()` appends this run. Both travel in every checkpoint, so a
    resumed run keeps them."""

    def __init__(self, model: nn.Module, config: TrainConfig, run_name: str = "",
                 parent_lineage: list[dict] | None = None, init_digest: str | None = None):
        super().__init__()
        self.model, self.config = model, config
        self.run_name, self.init_digest = run_name, init_digest
        self.parent_lineage = list(parent_lineage or [])
        self.train_seconds, self._since = 0.0, None
        self.criterion = MaskDepthLoss(config.loss)
        self.metrics = nn.ModuleDict({
            stage: nn.ModuleDict({"mask": MaskMetrics(), "depth": DepthMetrics(),
                                  "relative": RelativeDepthMetrics()})
            for stage in ("val", "test")})

    def forward(self, image, background, prior=None):
        return self.model(image, background, prior)

    def model_step(self, batch: Batch):
        """Forward and loss: (loss, parts, outputs). Shared by train, val and test."""
        image, background = batch["image"], batch["background"]
        if self.config.trainer.channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
            background = background.contiguous(memory_format=torch.channels_last)
        prior = None
        if self.model.config.prior:  # exact when validating (the RGB-D case), degraded in training
            prior = batch.get("background_depth")
            prior = degrade_prior(prior) if self.training and prior is not None else prior
        outputs = self.model(image, background, prior)
        loss, parts = self.criterion(outputs, batch)
        return loss, parts, outputs

    def training_step(self, batch, batch_idx):
        """The step's loss, and its outputs for callbacks (e.g. ImageLogger) as `outputs`."""
        loss, parts, outputs = self.model_step(batch)
        size = batch["image"].shape[-1]
        self.log_dict({f"train/{k}": v for k, v in parts.items()}, batch_size=batch["image"].shape[0])
        self.log("train/size", float(size), batch_size=1)
        return {"loss": loss, "outputs": {k: v.detach() for k, v in outputs.items()}}

    def _evaluate(self, stage: str, batch):
        loss, _, outputs = self.model_step(batch)
        metrics = self.metrics[stage]
        metrics["mask"].update(torch.sigmoid(outputs["mask_logits"].float()), batch["mask"])
        metric_depth, relative_depth = split_depth(batch)
        metrics["depth"].update(outputs["depth"].float(), metric_depth, batch["mask"])
        if relative_depth is not None:
            metrics["relative"].update(outputs["depth"].float(), relative_depth)
        self.log(f"{stage}/loss", loss, batch_size=batch["image"].shape[0], sync_dist=True)
        return outputs

    def validation_step(self, batch, batch_idx, dataloader_idx: int = 0):
        """Every validation set (engine scenes, then data.val_manifests) feeds the same metrics."""
        return self._evaluate("val", batch)

    def test_step(self, batch, batch_idx, dataloader_idx: int = 0):
        return self._evaluate("test", batch)

    def _log_metrics(self, stage: str):
        for metric in self.metrics[stage].values():
            values = metric.compute()
            # Already synchronised by torchmetrics: the same on every rank.
            self.log_dict({f"{stage}/{k}": v for k, v in values.items() if not math.isnan(v)},
                          sync_dist=True)
            metric.reset()

    def on_validation_epoch_end(self):
        self._log_metrics("val")

    def on_test_epoch_end(self):
        self._log_metrics("test")

    def configure_optimizers(self):
        optimizer = make_optimizer(parameter_groups(self.model, self.config.optim), self.config.optim)
        trainer = self.config.trainer
        schedule = lr_lambda(self.config.optim, trainer.max_steps, 60 * trainer.max_minutes,
                             elapsed=self._seconds)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_train_start(self) -> None:
        self._since = time.monotonic()

    def _seconds(self) -> float:
        """Training time so far, over every resumption of this run."""
        return self.train_seconds + (time.monotonic() - self._since if self._since else 0.0)

    def lineage(self) -> list[dict]:
        """The weights' lineage as of now: the parent's runs, then this one."""
        trainer = self._trainer
        world = trainer.world_size if trainer is not None else 1
        precision = str(trainer.precision) if trainer is not None else "32-true"
        entry = run_entry(self.config, self.run_name, self.global_step, world, precision,
                          self._seconds(), self.init_digest)
        return self.parent_lineage + [entry]

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["maskdepth"] = {
            "config": self.config.to_dict(), "torch_rng": torch.get_rng_state(),
            "lineage": self.lineage(), "parent_lineage": self.parent_lineage,
            "init": self.init_digest, "run": self.run_name, "train_seconds": self._seconds()}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("maskdepth", {})
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])
        self.parent_lineage = list(state.get("parent_lineage") or [])
        self.init_digest = state.get("init", self.init_digest)
        self.run_name = state.get("run", self.run_name)
        self.train_seconds = float(state.get("train_seconds", 0.0))


def parameter_group_count(optim: OptimConfig) -> int:
    """How many parameter groups parameter_groups makes: what a resumed optimizer must match."""
    return 1 if optim.encoder_lr_scale == 1.0 else 2


def parameter_groups(model: nn.Module, optim: OptimConfig) -> list[dict]:
    """The model's parameters for the optimizer: one group at optim.lr, or, when
    optim.encoder_lr_scale is not 1, the encoder's at optim.lr x that scale and the rest at
    optim.lr (the schedule scales both alike)."""
    if parameter_group_count(optim) == 1:
        return [{"params": list(model.parameters())}]
    encoder, rest = [], []
    for name, parameter in model.named_parameters():
        (encoder if name.startswith("encoder.") else rest).append(parameter)
    return [{"params": encoder, "lr": optim.lr * optim.encoder_lr_scale}, {"params": rest}]


def make_optimizer(parameters, optim: OptimConfig) -> torch.optim.Optimizer:
    """SGD with momentum (the original recipe) or AdamW."""
    if optim.name == "sgd":
        return torch.optim.SGD(parameters, lr=optim.lr, momentum=optim.momentum,
                               weight_decay=optim.weight_decay)
    if optim.name == "adamw":
        return torch.optim.AdamW(parameters, lr=optim.lr, weight_decay=optim.weight_decay)
    from maskdepth.errors import UserError
    raise UserError(f"unknown optimizer {optim.name!r}; use sgd or adamw")


def lr_lambda(optim: OptimConfig, max_steps: int, max_seconds: float = 0.0, elapsed=None):
    """Multiplier of the base learning rate at each step: linear warm-up, then constant, cosine
    decay to 0, or one-cycle (warm-up to the peak over 30 %, cosine down to 1/1000).

    max_seconds > 0: a run of fixed wall time; the schedule's position is then the larger of
    step / max_steps and elapsed() / max_seconds (as a step count), where elapsed() gives the
    run's training seconds so far (over resumptions: MaskDepthModule's clock)."""
    warmup = max(0, optim.warmup_steps)
    total = max(1, max_steps)

    def factor(step: int) -> float:
        if max_seconds > 0 and elapsed is not None:
            step = max(step, total * min(1.0, elapsed() / max_seconds))
        if optim.schedule == "onecycle":
            peak = max(1, int(0.3 * total))
            if step < peak:
                return 0.04 + 0.96 * step / peak
            progress = min(1.0, (step - peak) / max(1, total - peak))
            return 1e-3 + (1 - 1e-3) * 0.5 * (1 + math.cos(math.pi * progress))
        if step < warmup:
            return (step + 1) / warmup
        if optim.schedule == "cosine":
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            return 0.5 * (1 + math.cos(math.pi * progress))
        return 1.0

    if optim.schedule not in ("constant", "cosine", "onecycle"):
        from maskdepth.errors import UserError
        raise UserError(f"unknown schedule {optim.schedule!r}; use constant, cosine or onecycle")
    return factor

"""Training callbacks: TensorBoard image grids, the step-time profile, atomic checkpoints."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from maskdepth.io.atomic import atomic_path
from maskdepth.io.viz import prediction_sheet


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes each checkpoint to a temporary file and renames it into place, so an interrupted
    save (even kill -9) never leaves a broken checkpoint under the real name."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        with atomic_path(path) as temp:
            super().save_checkpoint(checkpoint, temp, storage_options)


class ImageLogger(L.Callback):
    """Every `every` steps, log a grid of inputs, truths and predictions to TensorBoard."""

    def __init__(self, every: int):
        self.every = every

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if self.every <= 0 or step % self.every or not trainer.is_global_zero or module.last_images is None:
            return
        experiment = getattr(trainer.logger, "experiment", None)
        if experiment is None or not hasattr(experiment, "add_image"):
            return
        start = time.perf_counter()
        last = module.last_images
        probability = torch.sigmoid(last["outputs"]["mask_logits"].float())
        sheet = prediction_sheet(last["batch"], probability, last["outputs"]["depth"])
        experiment.add_image("train/predictions", sheet, step, dataformats="HWC")
        module.timer.add("logging", start)


PHASES = ("data_wait", "forward", "loss", "backward", "optimizer", "logging")


class StepProfiler(L.Callback):
    """Where the training step's time goes: data wait, forward, loss, backward, optimizer,
    logging, as % of the step, plus peak memory. Printed at the end and saved as JSON.

    The first `skip` steps (warm-up, first-batch overheads) are left out.
    """

    def __init__(self, path: str | Path, skip: int = 3):
        self.path, self.skip = Path(path), skip
        self.marks: dict[str, float] = {}
        self.steps = 0

    def _active(self, trainer) -> bool:
        return trainer.global_step >= self.skip

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        now = time.perf_counter()
        module.timer.enabled = self._active(trainer)
        if "batch_end" in self.marks and module.timer.enabled:
            module.timer.seconds["data_wait"] = module.timer.seconds.get("data_wait", 0.0) + now - self.marks["batch_end"]
        self.marks["batch_start"] = now

    def on_before_backward(self, trainer, module, loss) -> None:
        self.marks["backward"] = time.perf_counter()

    def on_after_backward(self, trainer, module) -> None:
        module.timer.add("backward", self.marks["backward"])

    def on_before_optimizer_step(self, trainer, module, optimizer) -> None:
        self.marks["optimizer"] = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if module.timer.enabled:
            if "optimizer" in self.marks:
                module.timer.add("optimizer", self.marks.pop("optimizer"))
            self.steps += 1
        self.marks["batch_end"] = time.perf_counter()

    def report(self, module) -> dict:
        seconds = {phase: module.timer.seconds.get(phase, 0.0) for phase in PHASES}
        total = sum(seconds.values())
        if torch.cuda.is_available():
            peak = torch.cuda.max_memory_allocated() / 2**20
            where = "gpu"
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            where = "cpu (process peak RSS)"
        return {
            "steps": self.steps,
            "step_ms": 1000 * total / max(1, self.steps),
            "percent": {p: 100 * s / total if total else 0.0 for p, s in seconds.items()},
            "seconds": seconds,
            "peak_memory_mib": round(peak, 1),
            "memory_of": where,
        }

    def on_train_end(self, trainer, module) -> None:
        if not trainer.is_global_zero:
            return
        report = self.report(module)
        from maskdepth.io.atomic import atomic_write_bytes
        atomic_write_bytes(self.path, json.dumps(report, indent=2).encode())
        print(format_profile(report))
        print(f"profile saved to {self.path}")


def format_profile(report: dict) -> str:
    lines = [f"step-time profile over {report['steps']} steps ({report['step_ms']:.1f} ms/step):"]
    for phase in PHASES:
        lines.append(f"  {phase:<10} {report['percent'][phase]:6.1f} %  "
                     f"{1000 * report['seconds'][phase] / max(1, report['steps']):8.1f} ms/step")
    lines.append(f"  peak memory {report['peak_memory_mib']:.0f} MiB ({report['memory_of']})")
    return "\n".join(lines)

"""Training callbacks: TensorBoard image grids, the step-time profile, atomic checkpoints, the
stop on a non-finite loss, the tests' kill point."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from maskdepth.io.atomic import atomic_path, remove_stale_temps
from maskdepth.io.faults import kill_point
from maskdepth.models.weights import safe_torch_load
from maskdepth.tensors.sheet import prediction_sheet


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes each checkpoint to a temporary file and renames it into place, so an interrupted
    save (even kill -9) never leaves a broken checkpoint under the real name; reads them back
    without unpickling code."""

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict:
        """Resume only from checkpoints that hold no code (see safe_torch_load)."""
        return safe_torch_load(path)

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        remove_stale_temps(path)  # from a save interrupted by kill -9
        try:
            with atomic_path(path) as temp:
                super().save_checkpoint(checkpoint, temp, storage_options)
        except (OSError, RuntimeError) as error:  # a full disk: torch's writer says RuntimeError
            from maskdepth.errors import UserError

            reason = getattr(error, "strerror", None) or str(error).strip().splitlines()[-1]
            raise UserError(f"{path}: cannot save the checkpoint ({reason}); free space in "
                            f"{Path(path).parent.parent} and continue with --resume (the last "
                            f"checkpoint saved is intact)") from None


class FiniteLoss(L.Callback):
    """Stop a run whose loss is NaN or infinite, before that step's update reaches the weights:
    one line with the step and the checkpoint to go back to (the last one saved, all finite)."""

    def __init__(self, checkpoints: Path):
        self.checkpoints = checkpoints

    def on_before_backward(self, trainer, module, loss) -> None:
        if not torch.isfinite(loss.detach()).all():
            from maskdepth.errors import UserError

            last = self.checkpoints / "last.ckpt"
            back = (f"the last good checkpoint is {last}" if last.exists()
                    else "no checkpoint was saved before it")
            raise UserError(f"training stopped at step {trainer.global_step}: the loss is "
                            f"{float(loss.detach().float().mean())} (the run diverged; lower "
                            f"optim.lr); {back}")


class KillPoint(L.Callback):
    """Tests of resuming only (io/faults.py): SIGKILL the run at the start of a step once
    MASKDEPTH_KILL_AFTER optimizer steps are finished, after the checkpoints of those steps."""

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        kill_point(trainer.global_step)


class ImageLogger(L.Callback):
    """Every `every` steps, log a grid of inputs, truths and predictions to TensorBoard."""

    def __init__(self, every: int):
        self.every = every

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if self.every <= 0 or step % self.every or not trainer.is_global_zero:
            return
        experiment = getattr(trainer.logger, "experiment", None)
        if experiment is None or not hasattr(experiment, "add_image") or "outputs" not in outputs:
            return
        predicted = outputs["outputs"]
        probability = torch.sigmoid(predicted["mask_logits"].float())
        sheet = prediction_sheet(batch, probability, predicted["depth"].float())
        experiment.add_image("train/predictions", sheet, step, dataformats="HWC")


PHASES = ("data_wait", "forward", "loss", "backward", "optimizer")


class StepProfiler(L.Callback):
    """Where the training step's time goes, as % of the step, plus peak memory; printed at the
    end and saved as JSON. Phases: data_wait (from the end of one step to the start of the
    next; checkpoint saving falls here too), forward (the model's forward, timed by hooks on it), loss (the loss and the step's
    metric logging), backward, optimizer (clipping, the step, and end-of-step callbacks such as
    image logging). The first `skip` steps (warm-up) are left out.
    """

    def __init__(self, path: str | Path, skip: int = 3):
        self.path, self.skip = Path(path), skip
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self.marks: dict[str, float] = {}
        self.steps = 0
        self.active = False

    def setup(self, trainer, module, stage) -> None:
        module.model.register_forward_pre_hook(lambda *_: self._mark("forward"))
        module.model.register_forward_hook(lambda *_: self._add("forward", "loss"))

    def _mark(self, name: str) -> None:
        self.marks[name] = time.perf_counter()

    def _add(self, phase: str, then: str | None = None) -> None:
        """Add the time since phase's mark to it (while active), and mark `then`."""
        now = time.perf_counter()
        if self.active and phase in self.marks:
            self.seconds[phase] += now - self.marks.pop(phase)
        if then is not None:
            self.marks[then] = now

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.active = trainer.global_step >= self.skip
        self._add("data_wait")

    def on_before_backward(self, trainer, module, loss) -> None:
        self._add("loss", "backward")

    def on_after_backward(self, trainer, module) -> None:
        self._add("backward")

    def on_before_optimizer_step(self, trainer, module, optimizer) -> None:
        self._mark("optimizer")

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self._add("optimizer", "data_wait")
        self.steps += self.active
        self.active = False

    def on_validation_end(self, trainer, module) -> None:
        self.marks.pop("data_wait", None)  # validation time is not waiting for data

    def report(self) -> dict:
        seconds = dict(self.seconds)
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
        report = self.report()
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


class Throughput(L.Callback):
    """Training images per second (all ranks), measured after the first `skip` steps (start-up,
    cudnn autotuning), with validation time left out; written to `path` as JSON at the end."""

    def __init__(self, path: str | Path, skip: int = 20):
        self.path, self.skip = Path(path), skip
        self.samples, self.seconds, self.steps = 0, 0.0, 0
        self._since: float | None = None

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if self._since is None and trainer.global_step >= self.skip:
            self._since = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if self._since is not None:
            self.samples += batch["image"].shape[0] * trainer.world_size
            self.steps += 1

    def _pause(self) -> None:
        if self._since is not None:
            self.seconds += time.perf_counter() - self._since
            self._since = None

    def on_validation_start(self, trainer, module) -> None:
        self._pause()

    def on_validation_end(self, trainer, module) -> None:
        if trainer.global_step >= self.skip:
            self._since = time.perf_counter()

    def on_train_end(self, trainer, module) -> None:
        self._pause()
        if not trainer.is_global_zero:
            return
        from maskdepth.io.atomic import atomic_write_bytes
        from maskdepth.models.lineage import hardware_name

        report = {"images_per_second": round(self.samples / self.seconds, 1) if self.seconds else None,
                  "samples": self.samples, "steps": self.steps, "seconds": round(self.seconds, 2),
                  "skipped_steps": self.skip, "total_steps": trainer.global_step,
                  "precision": str(trainer.precision), "hardware": hardware_name()}
        atomic_write_bytes(self.path, json.dumps(report, indent=2).encode())
        rate = report["images_per_second"]
        print(f"maskdepth train: {rate} images/s over {self.steps} steps (after {self.skip} "
              f"warm-up steps; validation excluded); saved to {self.path}")

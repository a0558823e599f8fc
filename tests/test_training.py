"""Training end to end on CPU at tiny sizes: fit, checkpoints, exact resume, kill -9, DDP,
TensorBoard, profile, evaluation."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from maskdepth.cli import main
from maskdepth.data.sources import TrainStream
from maskdepth.errors import UserError
from maskdepth.io import images as imageio
from maskdepth.io.faults import KILL_AFTER
from maskdepth.io.layout import prediction_paths, read_manifest
from maskdepth.metrics import depth_errors, mask_iou
from maskdepth.training.config import load_config
from maskdepth.training.fit import fit
from maskdepth.training.precision import cpu_has_native_bf16

TINY = ["model.variant=fast", "data.sizes=[32,48]", "data.size_steps=[0,3]", "data.batch_size=2",
        "data.num_workers=0", "data.val_count=4", "data.val_size=32", "trainer.val_every=3",
        "trainer.checkpoint_every=2", "trainer.image_every=2", "trainer.log_every=1",
        "optim.schedule=constant"]  # runs stopped by max_steps: a schedule over max_steps would differ


def tiny(steps: int, *extra: str):
    return load_config(None, [*TINY, f"trainer.max_steps={steps}", *extra])


def step_of(path) -> int:
    return torch.load(path, map_location="cpu", weights_only=True)["global_step"]


def test_fit_writes_checkpoints_config_weights_and_tensorboard(tmp_path):
    fit(tiny(6), tmp_path, profile=True)
    assert step_of(tmp_path / "checkpoints" / "last.ckpt") == 6
    assert (tmp_path / "checkpoints" / "best.ckpt").exists()
    assert load_config(tmp_path / "config.yaml") == tiny(6)
    assert load_file(tmp_path / "model.safetensors")
    events = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 1000
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(tmp_path / "tensorboard"))
    accumulator.Reload()
    tags = accumulator.Tags()
    assert {"train/total", "val/mask_iou", "val/depth_rmse"} <= set(tags["scalars"])
    assert "train/predictions" in tags["images"]
    profile = json.loads((tmp_path / "profile.json").read_text())
    assert set(profile["percent"]) == {"data_wait", "forward", "loss", "backward", "optimizer"}
    assert all(profile["seconds"][phase] > 0 for phase in ("forward", "loss", "backward", "optimizer"))
    assert sum(profile["percent"].values()) == pytest.approx(100, abs=0.1)


def test_resume_continues_exactly_as_an_uninterrupted_run(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    fit(tiny(8), straight)
    fit(tiny(4), split)
    fit(tiny(8), split, resume=split / "checkpoints" / "last.ckpt")
    a, b = load_file(straight / "model.safetensors"), load_file(split / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key


@pytest.mark.bad_input
def test_train_command_refuses_to_overwrite_and_resumes_with_the_saved_config(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--run", str(run), "--set", *TINY, "trainer.max_steps=2"]) == 0
    assert main(["train", "--run", str(run), "--set", "trainer.max_steps=2"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "--run", str(run), "--resume", "--set", "trainer.max_steps=4"]) == 0
    assert step_of(run / "checkpoints" / "last.ckpt") == 4


@pytest.mark.slow
@pytest.mark.bad_input
def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "maskdepth", "train", "--run", str(run), "--set", *TINY,
               "trainer.max_steps=500", "trainer.checkpoint_every=3", "trainer.val_every=1000"]
    # It kills itself (SIGKILL) at the start of step 8, after the checkpoints of steps 3 and 6.
    process = subprocess.run(command, check=False, env={**os.environ, KILL_AFTER: "7"},
                             capture_output=True, text=True, timeout=600)
    assert process.returncode == -signal.SIGKILL, process.stderr[-3000:]
    last = run / "checkpoints" / "last.ckpt"
    reached = step_of(last)  # still a complete checkpoint
    assert reached == 6
    assert main(["train", "--run", str(run), "--resume", "--set", f"trainer.max_steps={reached + 3}"]) == 0
    assert step_of(last) == reached + 3
    assert not list(run.rglob("*.tmp*"))


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(tmp_path):
    run = tmp_path / "ddp"
    command = [sys.executable, "-m", "maskdepth", "train", "--run", str(run), "--devices", "2",
               "--strategy", "ddp", "--accelerator", "cpu", "--set", *TINY, "trainer.max_steps=4"]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert step_of(run / "checkpoints" / "last.ckpt") == 4


@pytest.mark.bad_input
def test_config_errors_name_the_key():
    with pytest.raises(UserError, match="optim.lrr"):
        load_config(None, ["optim.lrr=0.1"])
    with pytest.raises(UserError, match="key.sub=value"):
        load_config(None, ["optim.lr"])
    assert load_config(None, ["optim.lr=0.5", "data.sizes=[64]", "data.size_steps=[0]"]).data.sizes == [64]


def test_evaluate_numbers_equal_the_metric_functions_on_saved_predictions(tmp_path, capsys):
    from maskdepth.models import build_model
    from maskdepth.models.weights import save_model

    assert main(["synth", "--out", str(tmp_path / "data"), "--n", "4", "--size", "48"]) == 0
    torch.manual_seed(0)
    weights = save_model(build_model(variant="fast"), tmp_path / "m.safetensors")
    out, report = tmp_path / "preds", tmp_path / "metrics.json"
    assert main(["evaluate", "--checkpoint", str(weights), "--data", str(tmp_path / "data"),
                 "--baselines", "--save-predictions", str(out), "--json", str(report)]) == 0
    results = json.loads(report.read_text())
    assert {"data: model", "data: absdiff", "data: mog2"} <= set(results)
    ious, rmses = [], []
    for sample in read_manifest(tmp_path / "data"):
        mask_file, depth_file = prediction_paths(out / "data", sample.id)
        pred = torch.from_numpy(imageio.read_mask(mask_file))[None, None]
        true = torch.from_numpy(imageio.read_mask(sample.mask))[None, None]
        ious.append(mask_iou(pred, true).item())
        pred_depth = torch.from_numpy(imageio.read_depth(depth_file))[None, None]
        true_depth = torch.from_numpy(imageio.read_depth(sample.depth))[None, None]
        rmses.append(depth_errors(pred_depth, true_depth)["rmse"].item())
    assert results["data: model"]["mask_iou"] == pytest.approx(np.mean(ious), abs=1e-6)
    assert results["data: model"]["depth_rmse"] == pytest.approx(np.mean(rmses), abs=1e-5)
    # The depth baselines: a constant 2.7 m orders nothing; median scaling turns it into the
    # plane at each image's true median, so its si_d1 is that plane's d1.
    constant, plane = results["data: constant 2.7 m"], results["data: median plane"]
    assert "mask_iou" not in constant and constant["depth_rank"] == 0
    assert constant["depth_si_d1"] == pytest.approx(plane["depth_d1"], abs=1e-6)
    assert plane["depth_si_d1"] == pytest.approx(plane["depth_d1"], abs=1e-6)
    assert "mask_iou" in capsys.readouterr().out


SHARED_PHOTOS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "photos")


@pytest.mark.skipif(not os.path.isdir(SHARED_PHOTOS), reason="the training photos (../shared/photos) are not beside the project")
def test_default_recipe_runs_a_few_steps_on_the_training_photos(tmp_path, monkeypatch):
    monkeypatch.chdir(os.path.join(os.path.dirname(__file__), ".."))  # the config's paths
    config = load_config("configs/default.yaml", [
        "trainer.max_steps=3", "data.sizes=[48]", "data.size_steps=[0]", "data.batch_size=4",
        "data.val_count=4", "data.val_size=48", "trainer.val_every=3", "trainer.log_every=1"])
    assert {s.kind for s in config.data.sources} == {"photos", "engine"}
    fit(config, tmp_path / "run")
    weights = load_file(tmp_path / "run" / "model.safetensors")
    assert all(torch.isfinite(w).all() for w in weights.values())


def test_built_in_defaults_are_the_default_recipe_with_engine_data(monkeypatch):
    monkeypatch.chdir(os.path.join(os.path.dirname(__file__), ".."))
    recipe, defaults = load_config("configs/default.yaml").to_dict(), load_config(None).to_dict()
    assert [s["kind"] for s in defaults["data"].pop("sources")] == ["engine"]
    recipe["data"].pop("sources")
    assert recipe == defaults
    partial = load_config(None, ["model.max_depth=10", "loss.depth_l1=2"])
    assert (partial.model.variant, partial.model.difference, partial.model.max_depth) == ("fast", True, 10)
    assert partial.loss.mask_dice == 0.5 and partial.loss.depth_l1 == 2


@pytest.mark.skipif(not cpu_has_native_bf16(), reason="this CPU emulates bf16 (minutes per step); "
                    "the step is checked where it computes bf16 natively")
def test_a_bf16_autocast_training_step_matches_fp32():
    """One forward-backward step under bf16 autocast (what trainer.precision=bf16-mixed does)
    gives the fp32 loss and gradients within bf16's tolerance. (fp16 autocast is for GPUs.)"""
    from maskdepth.models import build_model
    from maskdepth.training.module import MaskDepthModule

    config = tiny(1)
    batch = next(iter(TrainStream(config.data, seed=0, stop=1)))
    results = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        module = MaskDepthModule(build_model(config.model), config)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = module.model_step(batch)[0]
        loss.backward()
        grad = module.model.mask_head.weight.grad.flatten()
        results[precision] = (loss.float().item(), grad)
    (loss32, grad32), (loss16, grad16) = results["fp32"], results["bf16"]
    assert math.isfinite(loss16) and loss16 == pytest.approx(loss32, rel=0.03)
    assert torch.nn.functional.cosine_similarity(grad16, grad32, dim=0) > 0.98


class _Payload:
    """Pickles to a call that creates a file: what a crafted checkpoint could run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.bad_input
@pytest.mark.parametrize("force_unsafe", [False, True])
def test_resume_never_runs_code_from_a_checkpoint(tmp_path, capsys, monkeypatch, force_unsafe):
    if force_unsafe:
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    run, marker = tmp_path / "run", tmp_path / "ran"
    (run / "checkpoints").mkdir(parents=True)
    torch.save({"state_dict": {}, "payload": _Payload(marker)}, run / "checkpoints" / "last.ckpt")
    assert main(["train", "--run", str(run), "--resume", "--set", *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a readable maskdepth training checkpoint" in err and "\n" not in err
    assert not marker.exists()
    (run / "checkpoints" / "last.ckpt").write_bytes(b"truncated")
    assert main(["train", "--run", str(run), "--resume", "--set", *TINY]) == 2
    assert "last.ckpt" in capsys.readouterr().err


def test_precision_auto_picks_bf16_only_where_it_is_native(monkeypatch):
    from maskdepth.training import precision

    monkeypatch.setattr(precision.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    assert precision.resolve_precision("auto") == "bf16-mixed"
    assert precision.emulated_bf16_warning("bf16-mixed") is None
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    assert precision.resolve_precision("auto") == "32-true"  # emulated bf16 is the slow choice
    assert "emulates bf16" in precision.emulated_bf16_warning("bf16-mixed")
    assert precision.resolve_precision("16-mixed") == "16-mixed"  # an explicit choice stands
    monkeypatch.setattr(precision.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(precision.torch.cuda, "is_bf16_supported", lambda: False)
    assert precision.resolve_precision("auto") == "16-mixed"
    assert precision.resolve_precision("auto", accelerator="cpu") == "32-true"


def test_repeated_set_options_all_apply():
    """`--set a=1 --set b=2` once kept only the last group, silently dropping a=1."""
    from maskdepth.cli import build_parser

    args = build_parser().parse_args(["train", "--set", "trainer.max_minutes=5", "optim.lr=0.1",
                                      "--set", "trainer.max_steps=7"])
    assert args.set == ["trainer.max_minutes=5", "optim.lr=0.1", "trainer.max_steps=7"]


@pytest.mark.bad_input
def test_a_refused_resume_writes_nothing_and_the_run_still_resumes(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--run", str(run), "--set", *TINY, "trainer.max_steps=2"]) == 0
    saved = (run / "config.yaml").read_bytes()
    assert main(["train", "--run", str(run), "--resume", "--set", "model.variant=original"]) == 2
    err = capsys.readouterr().err
    assert "variant='fast'" in err and "variant='original'" in err and err.count("\n") == 1
    assert (run / "config.yaml").read_bytes() == saved
    assert main(["train", "--run", str(run), "--resume", "--set", "trainer.max_steps=3"]) == 0
    assert step_of(run / "checkpoints" / "last.ckpt") == 3

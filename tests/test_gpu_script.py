"""scripts/gpu_train.sh --dry-run: the GPU run's whole path (config, photos or engine sources,
PyTorch renderer, training, fp16 weights in parts, throughput) for 3 steps on the CPU."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from maskdepth.io.atomic import file_digest
from maskdepth.models.weights import load_weights
from maskdepth.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_gpu_script_dry_run_trains_and_writes_what_comes_back(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GPU_INIT": "", "GPU_RUN": str(tmp_path / "run")}
    out = tmp_path / "out"
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_train.sh"), str(out), "--dry-run"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    parts = sorted(out.glob("model.safetensors.part-*"))
    assert parts and all(p.stat().st_size <= 15 * 2**20 for p in parts)
    joined = tmp_path / "model.safetensors"
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    model, lineage = load_weights(joined)
    assert model.config.variant == "original"  # the large model
    assert lineage[-1]["steps"] == 3 and lineage[-1]["samples"] == 12
    throughput = json.loads((out / "throughput.json").read_text())
    assert throughput["images_per_second"] > 0 and throughput["total_steps"] == 3
    config = load_config(out / "config.yaml")
    assert config.data.render_device == "torch-cpu" and config.trainer.max_steps == 3
    assert "exit 0" in (out / "gpu_train.log").read_text()
    assert file_digest(joined)  # a whole file, readable


def test_the_gpu_recipe_is_the_large_model_on_a_wall_clock():
    config = load_config(ROOT / "configs" / "gpu.yaml")
    assert config.model.variant == "original" and config.model.difference
    assert 0 < config.trainer.max_minutes <= 9
    assert config.data.render_device == "auto" and config.data.num_workers == 0
    assert config.trainer.channels_last and config.trainer.precision == "auto"


def test_a_wall_clock_budget_drives_the_schedule_to_its_end():
    """trainer.max_minutes: the schedule's position is max(step / max_steps, time / budget)."""
    from maskdepth.training.config import OptimConfig
    from maskdepth.training.module import lr_lambda

    now = [0.0]
    factor = lr_lambda(OptimConfig(schedule="cosine"), max_steps=1000, max_seconds=60,
                       elapsed=lambda: now[0])
    assert factor(0) == pytest.approx(1.0)
    now[0] = 30  # half the time, few steps: half-way down the cosine
    assert factor(10) == pytest.approx(0.5, abs=1e-6)
    assert factor(900) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.9)))  # steps lead
    now[0] = 90
    assert factor(20) == pytest.approx(0.0, abs=1e-9)  # time spent: fully decayed
    untimed = lr_lambda(OptimConfig(schedule="cosine"), max_steps=1000)
    assert untimed(500) == pytest.approx(0.5)

"""scripts/average_weights.py: the uniform average of runs of one model, its lineage, refusals."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from maskdepth.models import build_model
from maskdepth.models.config import ModelConfig
from maskdepth.models.lineage import format_lineage
from maskdepth.models.weights import load_weights, read_lineage, save_model

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "average_weights.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("average_weights", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _model(seed: int, **config):
    torch.manual_seed(seed)
    return build_model(ModelConfig(**config)).eval()


def test_the_average_is_the_mean_of_every_weight_and_counts_each_run_once(script, tmp_path):
    shared = {"run": "start", "steps": 100, "samples": 1600}
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    save_model(_model(0), a, lineage=[shared])
    save_model(_model(1), b, lineage=[shared, {"run": "more", "steps": 50, "samples": 800}])
    out = tmp_path / "soup" / "avg.safetensors"
    assert script.main([str(a), str(b), "--out", str(out)]) == 0
    averaged, lineage = load_weights(out)
    first, second = load_weights(a)[0].state_dict(), load_weights(b)[0].state_dict()
    for key, value in averaged.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, (first[key] + second[key]) / 2, atol=1e-6), key
    assert any(not torch.equal(first[k], second[k]) for k in first if first[k].is_floating_point())
    assert [e["run"] for e in lineage] == ["start", "more", "average"]
    assert lineage[-1]["steps"] == 0 and len(lineage[-1]["averaged"]) == 2
    assert read_lineage(out) == lineage
    shown = format_lineage(lineage).splitlines()
    assert "the average of 2 files" in shown[3] and "no training" in shown[3]
    assert shown[-1].startswith("  total: 150 steps, 2,400 samples")


def test_models_of_other_configs_and_a_single_file_are_refused(script, tmp_path, capsys):
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    save_model(_model(0), a)
    save_model(_model(0, refine=0), b)
    assert script.main([str(a), str(b), "--out", str(tmp_path / "c.safetensors")]) == 2
    assert "model config differs" in capsys.readouterr().err
    assert script.main([str(a), "--out", str(tmp_path / "c.safetensors")]) == 2
    assert "at least two" in capsys.readouterr().err
    assert not (tmp_path / "c.safetensors").exists()

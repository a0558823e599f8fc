"""scripts/average_weights.py: the uniform average of runs of one model, its lineage, refusals."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

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
    first_model, second_model = _model(0), _model(1)
    counters = [k for k, v in first_model.state_dict().items() if not v.is_floating_point()]
    for model, count in ((first_model, 3), (second_model, 7)):
        for key in counters:
            model.get_buffer(key).fill_(count)
    save_model(first_model, a, lineage=[shared])
    save_model(second_model, b, lineage=[shared, {"run": "more", "steps": 50, "samples": 800}])
    out = tmp_path / "soup" / "avg.safetensors"
    assert script.main([str(a), str(b), "--out", str(out)]) == 0
    averaged, lineage = load_weights(out)
    first, second = load_weights(a)[0].state_dict(), load_weights(b)[0].state_dict()
    for key, value in averaged.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, (first[key] + second[key]) / 2, atol=1e-6), key
    assert any(not torch.equal(first[k], second[k]) for k in first if first[k].is_floating_point())
    assert counters and all(int(averaged.state_dict()[k].max()) == 7 for k in counters)  # the last input's
    assert [e["run"] for e in lineage] == ["start", "more", "average"]
    assert lineage[-1]["steps"] == 0 and len(lineage[-1]["averaged"]) == 2
    assert read_lineage(out) == lineage
    shown = format_lineage(lineage).splitlines()
    assert shown[0] == "lineage: 2 run(s) and 1 average(s), oldest first"
    assert "the average of 2 files" in shown[3] and "no training" in shown[3]
    assert shown[-1].startswith("  total: 150 steps, 2,400 samples")


def test_other_configs_unrelated_runs_repeats_and_overwriting_an_input_are_refused(script, tmp_path, capsys):
    root = [{"run": "start", "steps": 10}]
    a, b, c, d = (tmp_path / f"{n}.safetensors" for n in "abcd")
    save_model(_model(0), a, lineage=root)
    save_model(_model(0, refine=0), b, lineage=root)
    save_model(_model(1), c, lineage=[{"run": "elsewhere", "steps": 10}])
    save_model(_model(2), d, lineage=root)
    out = tmp_path / "out.safetensors"
    refusals = [([a, b], "model config differs"), ([a], "at least two"), ([a, a], "give each model once"),
                ([a, c], "give --force"), ([a, c, "--out", str(a)], "is one of the inputs"),
                ([a, tmp_path / "missing.safetensors"], "missing.safetensors: no such model file"),
                ([a, d, "--out", str(tmp_path)], "is a folder"),
                ([a, d, "--out", str(tmp_path / "x.onnx")], "is written as .safetensors"),
                ([a, d, "--out", str(tmp_path / "blocked" / "o.safetensors")], "cannot write it")]
    (tmp_path / "blocked").write_text("a file where the folder would be")  # as unwritable as
    # a read-only folder, which root (CI) would write into anyway
    for args, message in refusals:
        before = a.read_bytes()
        assert script.main([*map(str, args), *(["--out", str(out)] if "--out" not in args else [])]) == 2
        assert message in capsys.readouterr().err and a.read_bytes() == before
        assert not out.exists()
    assert script.main([str(a), str(c), "--out", str(out), "--force", "--half"]) == 0
    assert script.main([str(a), str(d), "--out", str(out), "--half"]) == 0
    assert all(v.dtype == torch.float16 for v in load_file(str(out)).values() if v.is_floating_point())

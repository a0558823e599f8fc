"""The one model loader: .safetensors, .ckpt and .onnx everywhere a model path is accepted."""

from __future__ import annotations

import json

import pytest
import torch

from maskdepth import MaskDepth
from maskdepth.cli import main
from maskdepth.errors import UserError
from maskdepth.models import build_model
from maskdepth.models.weights import CONFIG_KEY
from maskdepth.runtime.export import export_onnx
from maskdepth.runtime.loader import load_runner, load_torch_model
from maskdepth.runtime.onnx_runner import OnnxRunner
from maskdepth.training.config import load_config
from maskdepth.training.fit import fit


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A two-step training run: its last.ckpt and the weights written at its end."""
    run = tmp_path_factory.mktemp("run")
    config = load_config(None, ["model.variant=fast", "data.sizes=[32]", "data.size_steps=[0]",
                                "data.batch_size=2", "data.num_workers=0", "data.val_count=2",
                                "data.val_size=32", "trainer.max_steps=2", "trainer.val_every=2",
                                "trainer.checkpoint_every=1"])
    fit(config, run)
    return run / "checkpoints" / "last.ckpt", run / "model.safetensors"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "scenes"
    assert main(["synth", "--out", str(folder), "--n", "3", "--size", "48"]) == 0
    return folder


def test_a_checkpoint_loads_with_the_weights_of_its_run(trained):
    checkpoint, weights = trained
    from_checkpoint, from_weights = load_torch_model(checkpoint).network, load_torch_model(weights).network
    for (name, a), b in zip(from_checkpoint.state_dict().items(), from_weights.state_dict().values()):
        assert torch.equal(a, b), name


def test_every_command_takes_a_checkpoint(trained, dataset, tmp_path):
    checkpoint, _ = trained
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--data", str(dataset)]) == 0
    assert main(["predict", "--checkpoint", str(checkpoint), "--data", str(dataset),
                 "--out", str(tmp_path / "pred")]) == 0
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "m.onnx"),
                 "--size", "64"]) == 0
    assert MaskDepth.load(checkpoint).predict(torch.rand(40, 40, 3).numpy(), torch.rand(40, 40, 3).numpy(),
                                              align=False).mask.shape == (40, 40)


def test_evaluate_gives_the_same_metrics_from_onnx_as_from_its_weights(trained, dataset, tmp_path):
    _, weights = trained
    onnx_file = export_onnx(load_torch_model(weights).network, tmp_path / "m.onnx", 64, 64)
    assert isinstance(load_runner(onnx_file), OnnxRunner)
    results = {}
    for name, path in (("torch", weights), ("onnx", onnx_file)):
        report = tmp_path / f"{name}.json"
        assert main(["evaluate", "--checkpoint", str(path), "--data", str(dataset), "--json",
                     str(report), "--engine", "torch" if name == "torch" else "onnx"]) == 0
        results[name] = json.loads(report.read_text())["scenes: model"]
    for key, value in results["torch"].items():
        assert results["onnx"][key] == pytest.approx(value, abs=1e-3), key
    with pytest.raises(UserError, match="ONNX file"):
        load_torch_model(onnx_file)
    with pytest.raises(UserError, match="runs with --engine onnx"):
        load_runner(onnx_file, engine="torch")


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


@pytest.mark.bad_input
def test_unknown_variants_and_mismatched_weights_are_one_line_errors(tmp_path, dataset, capsys):
    from safetensors.torch import save_file

    model = build_model(variant="fast")
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    config = model.config.to_dict()
    cases = {
        "unknown": {**config, "variant": "giant"},
        "other": {**config, "variant": "original"},
        "shapes": {**config, "difference": not config["difference"]},
    }
    for name, stored in cases.items():
        path = tmp_path / f"{name}.safetensors"
        save_file(state, str(path), metadata={CONFIG_KEY: json.dumps(stored)})
        assert main(["evaluate", "--checkpoint", str(path), "--data", str(dataset)]) == 2
        assert str(path) in _one_line(capsys)
    broken = tmp_path / "broken.safetensors"
    save_file(state, str(broken), metadata={CONFIG_KEY: "{not json"})
    assert main(["predict", "--checkpoint", str(broken), "--data", str(dataset), "--out", str(tmp_path / "p")]) == 2
    assert "JSON" in _one_line(capsys)
    truncated = tmp_path / "last.ckpt"
    truncated.write_bytes(b"PK\x03\x04 not a whole checkpoint")
    assert main(["evaluate", "--checkpoint", str(truncated), "--data", str(dataset)]) == 2
    assert "not a readable maskdepth training checkpoint" in _one_line(capsys)
    assert main(["evaluate", "--checkpoint", str(tmp_path / "missing.ckpt")]) == 2
    assert "no such model file" in _one_line(capsys)

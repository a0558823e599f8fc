"""ONNX export: parity with PyTorch at new sizes, metadata, OnnxRunner and `maskdepth export`."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from maskdepth import cli
from maskdepth.errors import UserError
from maskdepth.models import build_model
from maskdepth.models.weights import CONFIG_KEY, save_model
from maskdepth.runtime.export import export_onnx, validate_onnx
from maskdepth.runtime.onnx_runner import OnnxRunner
from maskdepth.runtime.torch_runner import predict_tensors

TOLERANCE = 1e-4


def _model(**config):
    torch.manual_seed(0)
    return build_model(**config).eval()


@pytest.fixture(scope="module")
def fast(tmp_path_factory):
    """The fast variant and its ONNX file, traced at 64x64."""
    model = _model(variant="fast")
    return model, export_onnx(model, tmp_path_factory.mktemp("onnx") / "fast.onnx", 64, 64)


@pytest.mark.parametrize("batch_size, height, width", [(2, 50, 70), (1, 96, 64)])
def test_fast_matches_pytorch_at_other_sizes(fast, batch_size, height, width):
    differences = validate_onnx(*fast, height, width, batch_size=batch_size)
    assert set(differences) == {"mask_logits", "depth"}
    assert max(differences.values()) < TOLERANCE, differences


def test_original_matches_pytorch(tmp_path):
    model = _model(variant="original")
    path = export_onnx(model, tmp_path / "original.onnx", 64, 64)
    differences = validate_onnx(model, path, 50, 70, batch_size=2)
    assert set(differences) == {"mask_logits", "depth"}
    assert max(differences.values()) < TOLERANCE, differences
    assert [p.name for p in tmp_path.iterdir()] == ["original.onnx"]  # no temp file left behind


def test_file_describes_itself(fast):
    model, path = fast
    proto = onnx.load(path)
    metadata = {prop.key: prop.value for prop in proto.metadata_props}
    assert json.loads(metadata[CONFIG_KEY]) == model.config.to_dict()
    assert [i.name for i in proto.graph.input] == ["image", "background"]
    assert [o.name for o in proto.graph.output] == ["mask_logits", "depth"]
    for value, channels in zip((*proto.graph.input, *proto.graph.output), (3, 3, 1, 1)):
        dims = value.type.tensor_type.shape.dim
        assert [d.dim_param or d.dim_value for d in dims] == ["batch", channels, "height", "width"]
    onnx.checker.check_model(proto, full_check=True)
    assert OnnxRunner(path).config == model.config


def test_the_onnx_runner_predicts_as_pytorch_does(fast):
    model, path = fast
    runner = OnnxRunner(path)
    generator = torch.Generator().manual_seed(1)
    image, background = (torch.rand(2, 3, 40, 72, generator=generator) for _ in range(2))
    outputs = runner.outputs(image.numpy(), background.numpy())
    assert {k: v.shape for k, v in outputs.items()} == {
        "mask_logits": (2, 1, 40, 72), "depth": (2, 1, 40, 72)}
    probability, depth = runner.predict(image.numpy(), background.numpy())
    true_probability, true_depth = predict_tensors(model, image, background)
    torch.testing.assert_close(torch.from_numpy(probability), true_probability, atol=TOLERANCE,
                               rtol=0)
    # depth is rounded to millimetres: a tiny difference may cross a rounding boundary
    torch.testing.assert_close(torch.from_numpy(depth), true_depth, atol=1e-3 + 1e-6, rtol=0)
    assert np.all(np.round(depth * 1000) == np.round(depth * 1000, 3))  # whole millimetres
    with pytest.raises(ValueError, match="must both be"):
        runner.outputs(image.numpy(), background[:1].numpy())


@pytest.mark.bad_input
def test_missing_or_garbage_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="missing.onnx: no such ONNX model file"):
        OnnxRunner(tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not an onnx model")
    with pytest.raises(UserError, match="garbage.onnx: not a readable ONNX model"):
        OnnxRunner(garbage)


@pytest.fixture()
def export_command(monkeypatch):
    if "export" not in cli.COMMANDS:
        monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, "export"))


def test_cli_exports_and_validates(tmp_path, export_command, capsys):
    weights = save_model(_model(variant="fast"), tmp_path / "model.safetensors")
    out = tmp_path / "model.onnx"
    argv = ["export", "--checkpoint", str(weights), "--out", str(out), "--size", "64", "64"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "at 2x3x100x116" in printed and "mask_logits: max abs difference" in printed
    assert OnnxRunner(out).config.variant == "fast"
    assert cli.main(["export", "--checkpoint", str(tmp_path / "none.safetensors"), "--out", str(out)]) == 2
    assert "no such model file" in capsys.readouterr().err


def test_an_export_carries_the_lineage_of_its_weights(tmp_path, capsys):
    from maskdepth.cli import main
    from maskdepth.models.weights import read_lineage
    from maskdepth.models.zoo import resolve_model
    from maskdepth.runtime.onnx_runner import OnnxRunner

    out = tmp_path / "small.onnx"
    assert main(["export", "--checkpoint", "small", "--out", str(out), "--size", "64"]) == 0
    lineage = read_lineage(resolve_model("small").weights)
    assert lineage and OnnxRunner(out).lineage == lineage
    capsys.readouterr()
    assert main(["summary", "--checkpoint", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"lineage: {len(lineage)} run(s)" in printed and "variant" in printed
    assert "scene prior" in printed and "FastDepth" in printed

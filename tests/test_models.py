"""Models: every variant's contract, save/load, pretrained start, learning."""

from __future__ import annotations

import pytest
import torch
import torchvision

from conftest import small_config
from maskdepth.cli import main
from maskdepth.errors import UserError
from maskdepth.models import VARIANTS, ModelConfig, build_model
from maskdepth.models.encoders import patch_first_conv
from maskdepth.models.weights import load_model, save_model
from maskdepth.synth import SceneEngine
from maskdepth.training.losses import LossWeights, MaskDepthLoss


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request):
    return request.param


@pytest.mark.parametrize("height, width", [(64, 64), (33, 47), (96, 70)])
def test_outputs_keep_the_input_size_and_documented_ranges(variant, height, width):
    model = build_model(variant=variant, max_depth=8.0).eval()
    image, background = torch.rand(2, 2, 3, height, width)
    with torch.no_grad():
        out = model(image, background)
    assert set(out) == {"mask_logits", "depth"}
    for value in out.values():
        assert value.shape == (2, 1, height, width) and value.dtype == torch.float32
        assert torch.isfinite(value).all()
    assert out["depth"].min() > 0 and out["depth"].max() < 8.0


def test_a_file_with_the_retired_shadow_head_is_refused_and_one_without_reads():
    from maskdepth.models.config import ModelConfig, stored_config

    assert stored_config({"variant": "fast", "shadow_head": False}, "old.safetensors") == ModelConfig()
    with pytest.raises(UserError, match="old.safetensors: its model has shadow_head=True"):
        stored_config({"variant": "fast", "shadow_head": True}, "old.safetensors")


def test_mismatched_inputs_are_refused():
    model = build_model(variant="fast")
    with pytest.raises(ValueError, match="both be"):
        model(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 48))


def test_gradients_reach_both_heads_and_the_encoder(variant):
    model = build_model(variant=variant).train()
    out = model(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
    (out["mask_logits"].mean() + out["depth"].mean()).backward()
    for name in ("mask_head", "depth_head"):
        assert getattr(model, name).weight.grad.abs().sum() > 0, name
    first = next(model.encoder.parameters())
    assert first.grad is not None and first.grad.abs().sum() > 0


def test_save_and_load_round_trip_rebuilds_the_model_without_flags(tmp_path, variant):
    model = build_model(variant=variant, max_depth=9.0).eval()
    inputs = torch.rand(1, 3, 40, 40), torch.rand(1, 3, 40, 40)
    path = save_model(model, tmp_path / "m.safetensors")
    loaded = load_model(path)
    assert loaded.config == model.config
    with torch.no_grad():
        a, b = model(*inputs), loaded(*inputs)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    half = load_model(save_model(model, tmp_path / "half.safetensors", half=True))
    with torch.no_grad():
        assert (half(*inputs)["depth"] - a["depth"]).abs().max() < 0.05
    assert (tmp_path / "half.safetensors").stat().st_size < path.stat().st_size * 0.6


def test_loading_a_file_that_is_not_weights_says_so(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(UserError, match="model.safetensors"):
        load_model(bad)


def test_unknown_variant_lists_the_known_ones():
    with pytest.raises(KeyError, match="original"):
        build_model(variant="nope")


def test_patched_first_conv_keeps_pretrained_behaviour():
    conv = torch.nn.Conv2d(3, 8, 3, padding=1)
    patched = patch_first_conv(conv, 6)
    x = torch.rand(2, 3, 16, 16)
    assert torch.allclose(patched(torch.cat([x, x], dim=1)), conv(x), atol=1e-5)


def test_pretrained_offline_fails_with_where_to_put_the_file(monkeypatch):
    def offline(self, *args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torchvision.models.WeightsEnum, "get_state_dict", offline)
    with pytest.raises(UserError, match=r"resnet18-.*\.pth") as error:
        build_model(ModelConfig(variant="original", pretrained=True))
    assert "checkpoints" in str(error.value)


def test_the_fast_model_overfits_one_small_batch():
    torch.manual_seed(0)
    batch = SceneEngine(small_config(), seed=0).render(4, seed=0)
    model = build_model(variant="fast").train()
    criterion = MaskDepthLoss(LossWeights())
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss, _ = criterion(model(batch["image"], batch["background"]), batch)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.35 * losses[0]


def test_summary_command_prints_stages_and_totals(capsys):
    assert main(["summary", "--variant", "fast", "--size", "64", "96"]) == 0
    text = capsys.readouterr().out
    assert "encoder.stages.0" in text and "decoder.trunk.stage4" in text
    assert "total parameters" in text and "1,027,707" in text  # the shipped small's architecture


def test_bench_model_command(tmp_path):
    import json

    out = tmp_path / "b.json"
    args = ["bench", "model", "--variant", "fast", "--size", "32", "--seconds", "0.1",
            "--batch-size", "2", "--json", str(out)]
    assert main(args) == 0
    result = json.loads(out.read_text())
    assert result["parameters"] == 1027707
    assert result["inference_img_per_s"] > 0 and result["train_img_per_s"] > 0


def test_difference_input_and_edge_refiner_keep_the_contract(tmp_path):
    model = build_model(variant="fast", difference=True, refine=4).eval()
    assert model.encoder.stages[0][0][0].in_channels == 9
    image, background = torch.rand(2, 2, 3, 40, 56)
    with torch.no_grad():
        out = model(image, background)
    assert out["mask_logits"].shape == (2, 1, 40, 56) and torch.isfinite(out["mask_logits"]).all()
    # The refiner starts as the identity: the same logits as without it.
    plain = build_model(variant="fast", difference=True, refine=0).eval()
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("refiner")})
    with torch.no_grad():
        assert torch.allclose(plain(image, background)["mask_logits"], out["mask_logits"], atol=1e-6)
    save_model(model, tmp_path / "m.safetensors")
    loaded = load_model(tmp_path / "m.safetensors")
    assert loaded.config.difference and loaded.config.refine == 4
    with torch.no_grad():
        assert torch.allclose(loaded(image, background)["mask_logits"], out["mask_logits"], atol=1e-5)


def test_a_saved_model_gets_the_usual_file_permissions(tmp_path):
    import os

    from maskdepth.io.atomic import UMASK
    from maskdepth.models.weights import save_model

    path = save_model(build_model(), tmp_path / "model.safetensors")
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~UMASK  # not safetensors' 0o600

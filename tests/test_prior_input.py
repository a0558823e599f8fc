"""A network with the scene prior as an input (ModelConfig.prior): its channels, the widening of
a trained model, the degraded prior of training, export and the API that feeds it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from maskdepth import MaskDepth
from maskdepth.errors import UserError
from maskdepth.models import build_model
from maskdepth.models.net import PRIOR_CENTRE, prior_channels
from maskdepth.models.weights import load_weights, save_model
from maskdepth.runtime.export import export_onnx, validate_onnx
from maskdepth.runtime.onnx_runner import OnnxRunner
from maskdepth.training.prior_noise import STEP, degrade_prior

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "add_prior_input.py"


def _script():
    spec = importlib.util.spec_from_file_location("add_prior_input", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prior_channels_are_log_depth_and_where_it_is_known():
    prior = torch.tensor([[[[PRIOR_CENTRE, 0.0], [PRIOR_CENTRE * np.e, 1.0]]]])
    channels = prior_channels(prior, torch.zeros(1, 3, 2, 2))
    torch.testing.assert_close(channels[0, 0], torch.tensor([[0.0, 0.0], [1.0, float(np.log(1 / PRIOR_CENTRE))]]))
    torch.testing.assert_close(channels[0, 1], torch.tensor([[1.0, 0.0], [1.0, 1.0]]))
    assert (prior_channels(None, torch.zeros(2, 3, 4, 5)) == 0).all()


def test_widening_keeps_the_predictions_then_the_prior_can_change_them(tmp_path):
    torch.manual_seed(0)
    model = build_model(variant="fast").eval()
    widened = _script().with_prior_input(model)
    assert widened.config.prior and not model.config.prior
    image, background = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    prior = 1 + 3 * torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        before = model(image, background)["depth"]
        torch.testing.assert_close(widened(image, background, prior)["depth"], before)
        for p in widened.parameters():  # once trained, the new channels count
            p.add_(0.01 * torch.randn_like(p))
        assert not torch.allclose(widened(image, background, prior)["depth"],
                                  widened(image, background, 2 * prior)["depth"])
    with pytest.raises(UserError, match="already takes the scene prior"):
        _script().with_prior_input(widened)


def test_degraded_prior_is_blurred_scaled_stepped_and_sometimes_missing():
    generator = torch.Generator().manual_seed(0)
    depth = torch.full((64, 1, 32, 32), 3.0)
    depth[:, :, :4] = 0  # unknown to the engine: stays unknown
    noisy = degrade_prior(depth, generator)
    assert noisy.shape == depth.shape and (noisy[:, :, :4] == 0).all()
    known = noisy[noisy > 0]
    torch.testing.assert_close(known / STEP, torch.round(known / STEP))  # 7 cm levels
    per_sample = noisy.flatten(1).amax(1)
    assert (per_sample == 0).any() and (per_sample > 0).sum() > 32  # some have no prior at all
    assert per_sample[per_sample > 0].std() > 0.1  # one scale error per scene


def test_export_and_api_feed_the_prior_to_a_model_that_takes_it(tmp_path):
    torch.manual_seed(0)
    widened = _script().with_prior_input(build_model(variant="fast").eval())
    for p in widened.parameters():
        p.data.add_(0.01 * torch.randn_like(p))
    path = export_onnx(widened, tmp_path / "prior.onnx", 64, 64)
    assert OnnxRunner(path).takes_prior
    assert max(validate_onnx(widened, path, 72, 90).values()) < 1e-3
    weights = save_model(widened, tmp_path / "prior.safetensors")
    assert load_weights(weights)[0].config.prior
    rng = np.random.default_rng(0)
    image, background = (rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(2))
    runner, seen = OnnxRunner(path), []
    network = runner.predict
    runner.predict = lambda *inputs: seen.append(inputs) or network(*inputs)
    model = MaskDepth(runner)
    model.predict(image, background, align=False, background_depth=np.full((48, 64), 1.0))
    far = model.predict(image, background, align=False, background_depth=np.full((48, 64), 6.0))
    assert [inputs[2].shape for inputs in seen] == [(1, 1, 48, 64)] * 2  # at the working size
    assert (seen[0][2] == 1.0).all() and (seen[1][2] == 6.0).all()
    assert not np.array_equal(network(*seen[0])[1], network(*seen[1])[1])  # the prior counts
    assert (far.depth_mm[~far.mask] == 6000).all()
    model.predict(image, background, align=False)  # no prior: unknown everywhere
    assert (seen[-1][2] == 0).all()

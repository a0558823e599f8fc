"""Checks that need a CUDA GPU (skipped without one): the engine rendered on the GPU equals the
CPU kernels, the loss never waits for the device, and a bf16 channels_last training step runs.
On a lent GPU machine: `python -m pytest -q tests/test_gpu.py` (scripts/gpu_train.sh runs it)."""

from __future__ import annotations

import pytest
import torch

from conftest import small_config
from maskdepth.synth import SceneEngine

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_the_engine_on_the_gpu_renders_the_cpu_kernels_scenes():
    effects = {"noise_p": 1, "exposure_p": 1, "misalign_p": 1, "shadow_p": 1}
    cpu = SceneEngine(small_config(**effects), seed=5).render(8, seed=3)
    gpu = SceneEngine(small_config(**effects), seed=5, device="cuda").render(8, seed=3)
    assert gpu["image"].device.type == "cuda"
    assert torch.equal(cpu["mask"], gpu["mask"].cpu())
    assert torch.allclose(cpu["depth"], gpu["depth"].cpu(), atol=1e-3)
    assert (cpu["image"] - gpu["image"].cpu()).abs().max() <= 2 / 255


def test_jpeg_on_the_gpu_runs():
    images = SceneEngine(small_config(jpeg_p=1), seed=1, device="cuda").render(4, seed=2)["image"]
    assert images.device.type == "cuda" and 0 <= images.min() and images.max() <= 1


def test_the_loss_never_synchronises_with_the_device():
    from maskdepth.training.losses import LossWeights, MaskDepthLoss

    batch = {k: v.cuda() for k, v in SceneEngine(small_config(), seed=0).render(4, 1).items()}
    batch["depth"][:2] = 0  # photo samples: depth unknown
    batch["relative"] = torch.tensor([0.0, 0.0, 1.0, 0.0], device="cuda")
    outputs = {"mask_logits": torch.randn(4, 1, 64, 64, device="cuda", requires_grad=True),
               "depth": torch.rand(4, 1, 64, 64, device="cuda", requires_grad=True) * 5 + 0.1}
    loss = MaskDepthLoss(LossWeights(mask_dice=0.5))
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        total, _ = loss(outputs, batch)
        total.backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(total.detach()).item()


def test_a_bf16_channels_last_step_on_the_gpu_matches_fp32():
    from maskdepth.data.sources import TrainStream
    from maskdepth.models import build_model
    from maskdepth.training.config import load_config
    from maskdepth.training.module import MaskDepthModule

    config = load_config(None, ["data.sizes=[64]", "data.size_steps=[0]", "data.batch_size=4",
                                "data.render_device=cuda", "trainer.channels_last=true"])
    batch = next(iter(TrainStream(config.data, seed=0, stop=1)))
    losses = {}
    for bf16 in (False, True):
        torch.manual_seed(0)
        module = MaskDepthModule(build_model(config.model), config).cuda()
        module.model.to(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            loss = module.model_step(batch)[0]
        loss.backward()
        losses[bf16] = loss.item()
    assert losses[True] == pytest.approx(losses[False], rel=0.05)

"""Wide lenses: barrel distortion of rendered batches, exact masks and depths kept."""

from __future__ import annotations

import pytest
import torch

from conftest import small_config
from maskdepth.synth import SceneEngine
from maskdepth.synth.lens import distort, distortion_grid
from parity import assert_same_engine_batch


def test_no_distortion_samples_every_pixel_at_its_own_centre():
    grid = distortion_grid(torch.zeros(1), 5, 7)
    x = (torch.arange(7) + 0.5) / 7 * 2 - 1
    y = (torch.arange(5) + 0.5) / 5 * 2 - 1
    assert torch.allclose(grid[0, ..., 0], x.expand(5, 7), atol=1e-6)
    assert torch.allclose(grid[0, ..., 1], y.view(5, 1).expand(5, 7), atol=1e-6)


def test_the_centre_is_magnified_and_the_corners_stay():
    k = torch.tensor([0.25])
    grid = distortion_grid(k, 9, 9)[0]
    plain = distortion_grid(torch.zeros(1), 9, 9)[0]
    assert torch.allclose(grid[4, 4], torch.zeros(2), atol=1e-6)  # the optical axis
    # A source is (1 + k r^2) / (1 + k) as far out, r in half diagonals: about 1 / (1 + k)
    # near the centre.
    r2 = (1 / (9 * 2**0.5 / 2)) ** 2
    assert torch.allclose(grid[4, 5], plain[4, 5] * (1 + 0.25 * r2) / 1.25, atol=1e-6)
    assert (grid[0, 0].abs() < plain[0, 0].abs()).all()  # inside, but close: corners of pixels stay
    assert (grid[0, 0].abs() > 0.8 * plain[0, 0].abs()).all()


def test_distorted_scenes_keep_exact_masks_and_the_rest_are_untouched():
    config = small_config()
    config.wide_p = 0.5
    engine = SceneEngine(config, seed=0)
    batch = engine.render(16, seed=3)
    assert torch.equal(batch["mask"].bool(), batch["depth"] < batch["background_depth"])
    plain = {key: value.clone() for key, value in batch.items()}
    k = torch.zeros(16)
    k[3] = 0.3
    warped = distort(plain, k)
    for key in plain:
        assert torch.equal(warped[key][:3], plain[key][:3]) and torch.equal(warped[key][4:], plain[key][4:])
    assert not torch.equal(warped["image"][3], plain["image"][3])
    assert torch.equal(warped["mask"][3].bool(), warped["depth"][3] < warped["background_depth"][3])
    depths = set(plain["depth"][3].flatten().tolist())
    assert set(warped["depth"][3].flatten().tolist()) <= depths  # never a blended depth


@pytest.mark.kernel_parity
def test_both_renderers_agree_through_a_wide_lens():
    """Every scene through a wide lens: the kernels' render and the PyTorch one, each distorted
    (nearest source pixel for masks and depths), still agree by tests/parity.py's rule."""
    config = small_config()
    config.wide_p = 1.0
    kernels = SceneEngine(config, seed=3).render(8, seed=7)
    torch_cpu = SceneEngine(config, seed=3, device="torch-cpu").render(8, seed=7)
    assert torch.equal(kernels["mask"].bool(), kernels["depth"] < kernels["background_depth"])
    assert_same_engine_batch(kernels, torch_cpu)

"""Full-resolution mask edges (inference/upsample.py) and the boundary F that measures them
(metrics/boundary.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskdepth.inference.api import MaskDepth, resized
from maskdepth.inference.upsample import guided_upsample
from maskdepth.metrics.boundary import boundary_counts, boundary_f, mask_edges

SCALE = 8  # the working size is 1/8 of the image's, as 160 px is of 1280 px video


def _scene(truth: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """A textured background and the image with a flat-coloured foreground where `truth`."""
    background = rng.integers(60, 120, (*truth.shape, 3), dtype=np.uint8)
    image = background.copy()
    image[truth] = (230, 200, 40)
    return image, background


def _low_probability(truth: np.ndarray) -> np.ndarray:
    """What a perfect network at the working size says: the foreground's share of each cell."""
    height, width = truth.shape
    return cv2.resize(truth.astype(np.float32), (width // SCALE, height // SCALE),
                      interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("edge", [37, 100, 101, 203])
def test_a_step_edge_comes_back_exact_at_full_resolution(edge):
    truth = np.zeros((64, 256), bool)
    truth[:, edge:] = True  # a vertical edge anywhere, not only on the 8 px grid
    image, background = _scene(truth, np.random.default_rng(edge))
    probability = guided_upsample(_low_probability(truth), image, background)
    assert probability.shape == truth.shape and probability.dtype == np.float32
    assert np.array_equal(probability > 0.5, truth)
    assert 0 <= probability.min() and probability.max() <= 1


def test_a_line_thinner_than_a_working_pixel_is_kept():
    truth = np.zeros((96, 128), bool)
    truth[:, 61:64] = True  # 3 px wide: 3/8 of a working pixel, below 0.5 once shrunk
    truth[40:43, :] = True  # and a horizontal bar
    image, background = _scene(truth, np.random.default_rng(1))
    low = _low_probability(truth)
    bilinear = resized(low, truth.shape) > 0.5
    assert not bilinear[:32, 61:64].any() and not bilinear[:, :56].any()  # it loses both
    guided = guided_upsample(low, image, background) > 0.5
    assert np.array_equal(guided, truth)


def test_where_the_foreground_matches_the_background_it_stays_smooth():
    """No colour difference, no guide: the guided result is the smooth upsampling."""
    truth = np.zeros((64, 64), bool)
    truth[16:48, 16:48] = True
    background = np.full((64, 64, 3), 90, np.uint8)
    low = _low_probability(truth)
    guided = guided_upsample(low, background, background)
    assert np.abs(guided - np.clip(resized(low, truth.shape), 0, 1)).max() < 1e-5


def test_the_api_uses_it_and_bilinear_on_request():
    rng = np.random.default_rng(5)
    truth = np.zeros((240, 320), bool)
    truth[60:200, 101:157] = True
    truth[90:93, 157:260] = True  # an arm 3 px thick: under half a working pixel at 40 px
    image, background = _scene(truth, rng)
    results = {edges: MaskDepth.load(max_side=40, edges=edges).predict(image, background,
                                                                       align=False)
               for edges in ("guided", "bilinear")}
    for result in results.values():
        assert result.mask.shape == truth.shape
    f = {edges: boundary_f(boundary_counts(r.mask, truth)) for edges, r in results.items()}
    assert f["guided"] > f["bilinear"], f
    with pytest.raises(Exception, match="unknown edges"):
        MaskDepth.load(edges="sharp")


def test_boundary_counts_by_hand():
    truth = np.zeros((14, 14), bool)
    truth[2:8, 2:8] = True  # a 6x6 square: 20 boundary pixels
    assert mask_edges(truth).sum() == 20
    assert boundary_f(boundary_counts(truth, truth)) == 1.0
    shifted = np.roll(truth, 2, axis=1)  # 2 px off: within the 2 px tolerance
    assert boundary_f(boundary_counts(shifted, truth, tolerance_px=2)) == 1.0
    assert boundary_f(boundary_counts(shifted, truth, tolerance_px=1)) < 1.0
    far = np.zeros_like(truth)
    far[13, 13] = True  # 6 px from the square
    hit_pred, pred, hit_true, true = boundary_counts(far, truth)
    assert (hit_pred, pred, hit_true, true) == (0, 1, 0, 20)
    assert boundary_f(np.zeros(4)) == 1.0  # neither has a boundary
    scored = np.zeros_like(truth)
    scored[:, :5] = True  # only the square's left half is scored
    assert boundary_counts(truth, truth, scored)[3] == 10


def test_the_boundary_is_the_one_training_logs():
    import torch

    from maskdepth.metrics.mask import mask_boundary

    rng = np.random.default_rng(2)
    masks = cv2.blur(rng.random((4, 40, 56)).astype(np.float32).transpose(1, 2, 0), (5, 5)) > 0.5
    for mask in masks.transpose(2, 0, 1):
        expected = mask_boundary(torch.from_numpy(mask)[None, None])[0, 0].numpy()
        assert np.array_equal(mask_edges(mask), expected)

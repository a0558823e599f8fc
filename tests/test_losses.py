"""Losses: hand-computed values, perfect predictions, unknown depth, weights switching terms."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from maskdepth.training.losses import (
    LossWeights,
    MaskDepthLoss,
    bce_loss,
    depth_loss,
    dice_loss,
    erode_known,
    gradient_l1,
    mask_loss,
    masked_l1,
    ssim_loss,
)

DEPTH_PARTS = {"depth_l1", "depth_grad", "depth_ssim"}


def _depth_pair(seed: int = 0, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """(pred, true) depth (2, 1, size, size) metres; true has an unknown (0) block and pixels."""
    g = torch.Generator().manual_seed(seed)
    true = 1.0 + 4.0 * torch.rand(2, 1, size, size, generator=g)
    true[:, :, 4:12, 6:20] = 0.0
    true[torch.rand(true.shape, generator=g) < 0.05] = 0.0
    pred = 1.0 + 4.0 * torch.rand(2, 1, size, size, generator=g)
    return pred, true


def _tensor(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32).view(1, 1, len(rows), len(rows[0]))


def test_masked_l1_hand_computed():
    pred = _tensor([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])
    true = _tensor([[1, 0, 3, 5], [5, 6, 0, 8], [9, 12, 11, 12], [0, 14, 15, 10]])
    # known errors: |4-5| = 1, |10-12| = 2, |16-10| = 6, zeros elsewhere; 13 known pixels
    assert masked_l1(pred, true, true > 0).item() == pytest.approx(9 / 13)


def test_gradient_l1_hand_computed():
    # A spike of 8 at (1, 1), truth flat. Normalised Sobel (kernels / 8) at the four inner pixels:
    # (1,1): gx=0 gy=0; (1,2): |gx|=2 gy=0; (2,1): gx=0 |gy|=2; (2,2): |gx|=1 |gy|=1.
    pred = _tensor([[0, 0, 0, 0], [0, 8, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    true = torch.zeros_like(pred)
    valid = torch.ones_like(pred, dtype=torch.bool)
    assert gradient_l1(pred, true, valid).item() == pytest.approx(6 / 8)  # 4 pixels x 2 axes
    valid[..., 3, 3] = False  # (2, 2) loses its full neighbourhood
    assert gradient_l1(pred, true, valid).item() == pytest.approx(4 / 6)


def test_gradient_l1_ignores_slope_offsets_and_sees_ramps():
    ramp = torch.arange(8.0).view(1, 1, 1, 8).expand(1, 1, 8, 8)
    valid = torch.ones_like(ramp, dtype=torch.bool)
    assert gradient_l1(ramp + 3.0, ramp, valid).item() == 0.0
    assert gradient_l1(2 * ramp, ramp, valid).item() == pytest.approx(0.5)  # |2-1| on x, 0 on y


def test_depth_loss_zero_at_perfect_prediction():
    pred, true = _depth_pair()
    perfect = torch.where(true > 0, true, pred)  # unknown pixels may hold anything
    total, parts = depth_loss(perfect, true, LossWeights())
    assert set(parts) == DEPTH_PARTS
    assert all(value.item() == 0.0 for value in parts.values())
    assert total.item() == 0.0


def test_depth_loss_positive_for_wrong_prediction():
    pred, true = _depth_pair()
    total, parts = depth_loss(pred, true, LossWeights())
    assert all(value.item() > 0 for value in parts.values())
    assert total.item() == pytest.approx(sum(value.item() for value in parts.values()), rel=1e-6)


def test_unknown_pixels_do_not_affect_depth_loss():
    pred, true = _depth_pair()
    changed = torch.where(true > 0, pred, 100.0 * torch.rand_like(pred))
    first_total, first = depth_loss(pred, true, LossWeights())
    second_total, second = depth_loss(changed, true, LossWeights())
    torch.testing.assert_close(second_total, first_total)
    for name in DEPTH_PARTS:
        torch.testing.assert_close(second[name], first[name])


def test_depth_gradient_is_zero_on_unknown_pixels_and_flows_elsewhere():
    pred, true = _depth_pair()
    pred.requires_grad_(True)
    depth_loss(pred, true, LossWeights())[0].backward()
    assert torch.all(pred.grad[true == 0] == 0)
    assert pred.grad[true > 0].abs().sum() > 0


def test_no_known_depth_gives_connected_zero():
    pred = (1.0 + torch.rand(2, 1, 16, 16)).requires_grad_(True)
    true = torch.zeros_like(pred)
    total, parts = depth_loss(pred, true, LossWeights())
    assert total.item() == 0.0 and all(value.item() == 0.0 for value in parts.values())
    total.backward()
    assert torch.isfinite(pred.grad).all() and torch.all(pred.grad == 0)


def test_one_image_without_depth_does_not_poison_the_batch():
    pred, true = _depth_pair()
    true[1] = 0.0
    alone = depth_loss(pred[:1], true[:1], LossWeights())[0]
    torch.testing.assert_close(depth_loss(pred, true, LossWeights())[0], alone)


def test_mask_loss_near_zero_for_confident_right_logits():
    g = torch.Generator().manual_seed(1)
    mask = (torch.rand(2, 1, 32, 32, generator=g) > 0.5).float()
    logits = torch.where(mask > 0, 30.0, -30.0)
    total, parts = mask_loss(logits, mask, LossWeights(mask_dice=1.0))
    assert set(parts) == {"mask_bce", "mask_ssim", "mask_dice"}
    assert total.item() < 1e-6
    wrong_total, _ = mask_loss(-logits, mask, LossWeights(mask_dice=1.0))
    assert wrong_total.item() > 10


def test_bce_and_dice_hand_computed():
    logits = _tensor([[0.0, math.log(3.0)]])  # probabilities 1/2 and 3/4
    true = _tensor([[1.0, 0.0]])
    assert bce_loss(logits, true).item() == pytest.approx((math.log(2) + math.log(4)) / 2)
    prob = torch.sigmoid(logits)
    # 1 - (2 * 0.5 + 1) / (1.25 + 1 + 1)
    assert dice_loss(prob, true).item() == pytest.approx(1 - 2 / 3.25)
    assert dice_loss(torch.zeros_like(prob), torch.zeros_like(true)).item() == 0.0


def test_ssim_loss_range_and_identity():
    g = torch.Generator().manual_seed(2)
    image = torch.rand(2, 1, 24, 24, generator=g)
    assert ssim_loss(image, image).item() == 0.0
    value = ssim_loss(image, torch.rand(2, 1, 24, 24, generator=g)).item()
    assert 0.2 < value <= 1.0
    nothing_valid = torch.zeros_like(image, dtype=torch.bool)
    assert ssim_loss(image, 1 - image, nothing_valid).item() == 0.0


def test_weights_switch_terms():
    pred, true = _depth_pair()
    total, parts = depth_loss(pred, true, LossWeights(depth_grad=0.0, depth_ssim=0.0))
    assert set(parts) == {"depth_l1"}
    torch.testing.assert_close(total, masked_l1(pred, true, true > 0))
    doubled, _ = depth_loss(pred, true, LossWeights(depth_l1=2.0, depth_grad=0.0, depth_ssim=0.0))
    torch.testing.assert_close(doubled, 2 * total)
    none_total, none_parts = depth_loss(pred.requires_grad_(True), true, LossWeights(0, 0, 0))
    assert none_parts == {} and none_total.item() == 0.0
    assert none_total.requires_grad  # still in the graph: a step on it is a no-op, not an error
    logits = torch.randn(2, 1, 16, 16)
    assert set(mask_loss(logits, (logits > 0).float(), LossWeights())[1]) == {
        "mask_bce", "mask_ssim", "mask_dice"}
    assert set(mask_loss(logits, (logits > 0).float(), LossWeights(mask_dice=0))[1]) == {
        "mask_bce", "mask_ssim"}


def _outputs_and_batch() -> tuple[dict, dict]:
    pred, true = _depth_pair(size=16)
    g = torch.Generator().manual_seed(3)
    outputs = {"depth": pred.requires_grad_(True), "mask_logits": torch.randn(2, 1, 16, 16,
                                                                              generator=g)}
    batch = {"depth": true, "mask": (torch.rand(2, 1, 16, 16, generator=g) > 0.5).float()}
    return outputs, batch


def test_module_combines_terms_and_reports_parts():
    outputs, batch = _outputs_and_batch()
    total, parts = MaskDepthLoss(LossWeights())(outputs, batch)
    assert set(parts) == DEPTH_PARTS | {"mask_bce", "mask_ssim", "mask_dice", "depth", "mask", "total"}
    torch.testing.assert_close(total.detach(), parts["depth"] + parts["mask"])
    torch.testing.assert_close(parts["total"], total.detach())
    assert all(not value.requires_grad for value in parts.values())
    total.backward()
    assert outputs["depth"].grad.abs().sum() > 0


def test_the_training_defaults_are_the_loss_defaults():
    from maskdepth.training.config import TrainConfig

    assert TrainConfig().loss == LossWeights()  # one default per weight


def test_relative_depth_loss_ignores_scale_and_shift_only():
    from maskdepth.training.losses import relative_depth_loss

    g = torch.Generator().manual_seed(0)
    true = torch.rand(3, 1, 12, 12, generator=g) * 0.9 + 0.1
    true[0, 0, :2] = 0  # unknown pixels do not count
    affine = 3.7 * true + 1.2  # metres in any scale and offset: a perfect relative prediction
    assert relative_depth_loss(affine, true).item() < 1e-5
    noisy = affine + 0.3 * torch.rand(3, 1, 12, 12, generator=g)
    assert relative_depth_loss(noisy, true).item() > 0.01
    assert relative_depth_loss(affine, torch.zeros_like(true)).item() == 0.0


def test_relative_samples_are_scored_relatively_and_metric_ones_in_metres():
    pred = torch.full((2, 1, 8, 8), 2.0, requires_grad=True)
    batch = {"depth": torch.full((2, 1, 8, 8), 0.5), "mask": torch.zeros(2, 1, 8, 8),
             "relative": torch.tensor([1.0, 0.0])}
    outputs = {"depth": pred, "mask_logits": torch.zeros(2, 1, 8, 8)}
    _, parts = MaskDepthLoss(LossWeights(depth_grad=0, depth_ssim=0))(outputs, batch)
    # The metric sample alone is in depth_l1 (|2 - 0.5|); the relative one is in depth_relative.
    torch.testing.assert_close(parts["depth_l1"], torch.tensor(1.5))
    assert "depth_relative" in parts


@pytest.mark.parametrize("size", [3, 7])
def test_erode_known_shortcut_for_fully_known_maps_equals_the_pooled_erosion(size):
    valid = torch.ones(2, 1, 12, 9, dtype=torch.bool)
    r = size // 2
    pooled = -F.max_pool2d(-F.pad(valid.float(), [r, r, r, r], value=0.0), size, stride=1) > 0.5
    assert torch.equal(erode_known(valid, size), pooled)
    valid[0, 0, 5, 4] = False  # one unknown pixel takes the general path
    assert not erode_known(valid, size)[0, 0, 5, 4] and erode_known(valid, size).sum() < pooled.sum()


def test_silog_by_hand():
    """d = log(pred / true) over known pixels; sqrt(mean(d^2) - 0.85 mean(d)^2), per image."""
    from maskdepth.training.losses import silog_loss

    true = torch.tensor([[[[1.0, 2.0], [4.0, 0.0]]]])  # one unknown pixel
    pred = torch.tensor([[[[math.e, 2.0], [4.0, 9.0]]]])  # d = 1, 0, 0 (the 9 is not scored)
    expected = math.sqrt(1 / 3 - 0.85 * (1 / 3) ** 2)
    assert silog_loss(pred, true).item() == pytest.approx(expected, rel=1e-5)


def test_silog_forgives_a_global_scale_but_not_a_wrong_shape():
    from maskdepth.training.losses import silog_loss

    true = torch.rand(2, 1, 8, 8) * 4 + 1
    scaled = silog_loss(true * 2, true, focus=1.0)
    assert scaled.item() == pytest.approx(0.0, abs=1e-3)  # fully scale-invariant at focus 1
    partly = silog_loss(true * 2, true)  # focus 0.85: sqrt(0.15) * log 2 of the scale remains
    assert partly.item() == pytest.approx(math.sqrt(0.15) * math.log(2), rel=1e-4)
    flipped = silog_loss(true.flip(-1), true, focus=1.0)
    assert flipped.item() > 0.05


def test_silog_skips_images_without_known_depth_and_keeps_the_graph():
    from maskdepth.training.losses import silog_loss

    pred = torch.full((2, 1, 4, 4), 2.0, requires_grad=True)
    true = torch.zeros(2, 1, 4, 4)
    true[0] = 1.0  # image 1 has no known pixel
    loss = silog_loss(pred, true, focus=0.0)
    assert loss.item() == pytest.approx(math.log(2), rel=1e-5)  # image 0 alone, not halved
    loss.backward()
    assert pred.grad[1].abs().sum() == 0 and pred.grad[0].abs().sum() > 0
    empty = silog_loss(pred, torch.zeros_like(true))
    assert empty.item() == 0 and empty.requires_grad


def test_silog_is_a_depth_term_only_when_weighted():
    from maskdepth.training.losses import LossWeights, depth_loss

    pred, true = torch.rand(2, 1, 16, 16) + 1, torch.rand(2, 1, 16, 16) + 1
    assert "depth_silog" not in depth_loss(pred, true, LossWeights())[1]
    total, parts = depth_loss(pred, true, LossWeights(depth_l1=0, depth_grad=0, depth_ssim=0,
                                                      depth_silog=2.0))
    assert total.item() == pytest.approx(2 * parts["depth_silog"].item())

"""Metrics: every value against a plain-numpy reference written here, image by image."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from maskdepth.metrics import (
    DepthMetrics,
    MaskMetrics,
    boundary_fscore,
    depth_errors,
    depth_metric_keys,
    format_table,
    mask_confusion,
    mask_dice,
    mask_iou,
    pixel_accuracy,
)

# ---- numpy references (one image at a time, numpy only) ----


def ref_iou(pred: np.ndarray, true: np.ndarray) -> float:
    union = np.logical_or(pred, true).sum()
    return 1.0 if union == 0 else np.logical_and(pred, true).sum() / union


def ref_dice(pred: np.ndarray, true: np.ndarray) -> float:
    total = pred.sum() + true.sum()
    return 1.0 if total == 0 else 2 * np.logical_and(pred, true).sum() / total


def ref_accuracy(pred: np.ndarray, true: np.ndarray) -> float:
    return float((pred == true).mean())


def ref_boundary(mask: np.ndarray) -> np.ndarray:
    """mask (H, W) minus its 3x3 erosion, outside the frame = background."""
    padded = np.pad(mask, 1, mode="constant", constant_values=False)
    height, width = mask.shape
    eroded = np.ones_like(mask)
    for dy in range(3):
        for dx in range(3):
            eroded &= padded[dy:dy + height, dx:dx + width]
    return mask & ~eroded


def ref_dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    padded = np.pad(mask, radius, mode="constant", constant_values=False)
    height, width = mask.shape
    out = np.zeros_like(mask)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out |= padded[dy:dy + height, dx:dx + width]
    return out


def ref_bf(pred: np.ndarray, true: np.ndarray, tolerance: int = 2) -> float:
    pred_edge, true_edge = ref_boundary(pred), ref_boundary(true)
    if not pred_edge.any() and not true_edge.any():
        return 1.0
    if not pred_edge.any() or not true_edge.any():
        return 0.0
    precision = (pred_edge & ref_dilate(true_edge, tolerance)).sum() / pred_edge.sum()
    recall = (true_edge & ref_dilate(pred_edge, tolerance)).sum() / true_edge.sum()
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def ref_depth(pred: np.ndarray, true: np.ndarray, region: np.ndarray | None = None) -> dict | None:
    """Errors over known pixels of one image; None when there are none."""
    keep = true > 0 if region is None else (true > 0) & region
    if not keep.any():
        return None
    p, t = np.maximum(pred[keep].astype(np.float64), 1e-3), true[keep].astype(np.float64)

    def errors(p: np.ndarray) -> dict:
        ratio = np.maximum(p / t, t / p)
        return {"rmse": np.sqrt(np.mean((p - t) ** 2)), "absrel": np.mean(np.abs(p - t) / t),
                "log10": np.mean(np.abs(np.log10(p) - np.log10(t))),
                **{f"d{k}": np.mean(ratio < 1.25**k) for k in (1, 2, 3)}}

    def lower_median(x: np.ndarray) -> float:
        return np.sort(x)[(len(x) - 1) // 2]

    def ranks(x: np.ndarray) -> np.ndarray:  # 1 .. n, ties sharing their mean rank
        order = np.empty(len(x))
        order[np.argsort(x, kind="stable")] = np.arange(1, len(x) + 1)
        for value in np.unique(x):
            order[x == value] = order[x == value].mean()
        return order

    def spearman(a: np.ndarray, b: np.ndarray) -> float:
        a, b = ranks(a) - ranks(a).mean(), ranks(b) - ranks(b).mean()
        spread = np.sqrt((a * a).sum() * (b * b).sum())
        return float((a * b).sum() / spread) if spread > 0 else 0.0

    scaled = np.maximum(p * lower_median(t) / lower_median(p), 1e-3)
    return {**errors(p), **{f"si_{k}": v for k, v in errors(scaled).items()}, "rank": spearman(p, t)}


# ---- data ----


def random_masks(seed: int, batch: int = 6, size: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    """(pred, true) bool (B, 1, size, size): rectangles and noise; pred = true with flipped pixels.

    Images 0-3 are the edge cases: empty/empty, empty pred, empty true, full/full.
    """
    g = torch.Generator().manual_seed(seed)
    true = torch.zeros(batch, 1, size, size, dtype=torch.bool)
    for b in range(4, batch):
        y, x = torch.randint(0, size // 2, (2,), generator=g).tolist()
        true[b, :, y:y + size // 3, x:x + size // 2] = True
    true |= torch.rand(true.shape, generator=g) > 0.97
    pred = true ^ (torch.rand(true.shape, generator=g) > 0.9)
    pred[0], true[0] = False, False
    pred[1], true[1] = False, True
    pred[2, :, 5:10, 5:10], true[2] = True, False
    pred[3], true[3] = True, True
    return pred, true


def random_depths(seed: int, batch: int = 4, size: int = 16):
    """(pred, true, mask): true has unknown pixels, image 1 none known; some pred below 1e-3."""
    g = torch.Generator().manual_seed(seed)
    true = 0.5 + 5.0 * torch.rand(batch, 1, size, size, generator=g)
    true[torch.rand(true.shape, generator=g) < 0.2] = 0.0
    true[1] = 0.0
    pred = true * (0.7 + 0.6 * torch.rand(true.shape, generator=g)) + 0.3
    pred[0, 0, 0, :3] = torch.tensor([0.0, 1e-5, -1.0])
    mask = torch.zeros_like(true)
    mask[:, :, 2:9, 3:12] = 1.0
    return pred, true, mask


# ---- mask metrics ----


def test_confusion_counts_every_pixel_once():
    pred, true = random_masks(0)
    tp, fp, fn, tn = mask_confusion(pred, true)
    assert torch.all(tp + fp + fn + tn == 24 * 24)
    for b in range(pred.shape[0]):
        p, t = pred[b, 0].numpy(), true[b, 0].numpy()
        assert (tp[b], fp[b], fn[b], tn[b]) == ((p & t).sum(), (p & ~t).sum(), (~p & t).sum(),
                                                 (~p & ~t).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mask_metrics_match_numpy(seed):
    pred, true = random_masks(seed)
    got = {"iou": mask_iou(pred, true), "dice": mask_dice(pred, true),
           "acc": pixel_accuracy(pred, true), "bf": boundary_fscore(pred, true),
           "bf1": boundary_fscore(pred, true, tolerance_px=1)}
    for b in range(pred.shape[0]):
        p, t = pred[b, 0].numpy(), true[b, 0].numpy()
        want = {"iou": ref_iou(p, t), "dice": ref_dice(p, t), "acc": ref_accuracy(p, t),
                "bf": ref_bf(p, t), "bf1": ref_bf(p, t, tolerance=1)}
        for name, value in want.items():
            assert got[name][b].item() == pytest.approx(value, abs=1e-6), (name, b)


def test_mask_edge_cases():
    pred, true = random_masks(0)
    # empty/empty, empty pred, empty true, full/full
    assert mask_iou(pred, true)[:4].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert mask_dice(pred, true)[:4].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert boundary_fscore(pred, true)[:4].tolist() == [1.0, 0.0, 0.0, 1.0]


def test_boundary_fscore_tolerates_small_shifts_only():
    true = torch.zeros(1, 1, 32, 32, dtype=torch.bool)
    true[..., 8:20, 8:20] = True
    near, far = torch.roll(true, 2, dims=3), torch.roll(true, 6, dims=3)
    assert boundary_fscore(near, true, tolerance_px=2).item() == 1.0
    assert boundary_fscore(near, true, tolerance_px=1).item() < 1.0
    assert boundary_fscore(far, true, tolerance_px=2).item() < 0.5


def test_mask_metrics_accumulate_mean_over_images():
    first, second = random_masks(3), random_masks(4, batch=5)
    metric = MaskMetrics()
    for pred, true in (first, second):
        prob = torch.where(pred, 0.8, 0.3)  # thresholded at 0.5 back to pred
        metric.update(prob, true.float())
    pred, true = torch.cat([first[0], second[0]]), torch.cat([first[1], second[1]])
    want = {"mask_iou": np.mean([ref_iou(p[0], t[0]) for p, t in zip(pred.numpy(), true.numpy())]),
            "mask_dice": np.mean([ref_dice(p[0], t[0]) for p, t in zip(pred.numpy(),
                                                                         true.numpy())]),
            "mask_acc": np.mean([ref_accuracy(p[0], t[0]) for p, t in zip(pred.numpy(),
                                                                          true.numpy())]),
            "mask_bf": np.mean([ref_bf(p[0], t[0]) for p, t in zip(pred.numpy(), true.numpy())])}
    got = metric.compute()
    assert set(got) == set(want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-6), key
    metric.reset()
    metric.update(first[0], first[1].float())  # bool predictions are taken as they are
    assert metric.compute()["mask_iou"] == pytest.approx(mask_iou(*first).mean().item())


# ---- depth metrics ----


def test_depth_errors_match_numpy():
    pred, true, mask = random_depths(0)
    for region in (None, mask > 0.5):
        got = depth_errors(pred, true, region)
        for b in range(pred.shape[0]):
            want = ref_depth(pred[b, 0].numpy(), true[b, 0].numpy(),
                             None if region is None else region[b, 0].numpy())
            assert got["valid"][b].item() == (want is not None)
            if want is None:
                continue
            for key, value in want.items():
                assert got[key][b].item() == pytest.approx(value, rel=1e-5, abs=1e-6), (key, b)


def test_depth_errors_perfect_and_invalid_images():
    _, true, _ = random_depths(1)
    got = depth_errors(true, true)
    known = got["valid"]
    assert known.tolist() == [True, False, True, True]
    for key in ("rmse", "absrel", "log10", "si_rmse"):
        assert torch.all(got[key][known] == 0), key
    for key in ("d1", "d3", "si_d1"):
        assert torch.all(got[key][known] == 1), key


def test_median_scaling_makes_si_metrics_scale_invariant():
    pred, true, _ = random_depths(2)
    pred = pred.clamp(min=0.1)
    plain, scaled = depth_errors(pred, true), depth_errors(3.7 * pred, true)
    known = plain["valid"]
    for key in ("si_rmse", "si_absrel", "si_log10", "si_d1", "si_d2", "si_d3"):
        torch.testing.assert_close(scaled[key][known], plain[key][known], rtol=1e-5, atol=1e-6)
    assert torch.all(scaled["rmse"][known] > plain["rmse"][known])


def _reference_depth_means(pred, true, mask) -> dict[str, float]:
    """Mean over images with known pixels, per region, from ref_depth."""
    sums: dict[str, list[float]] = {}
    for b in range(pred.shape[0]):
        p, t, fg = pred[b, 0].numpy(), true[b, 0].numpy(), mask[b, 0].numpy() > 0.5
        for prefix, region in (("", None), ("fg_", fg), ("bg_", ~fg)):
            errors = ref_depth(p, t, region) or {}
            for key, value in errors.items():
                sums.setdefault(f"depth_{prefix}{key}", []).append(value)
    return {key: float(np.mean(values)) for key, values in sums.items()}


def test_depth_metrics_accumulate_over_updates_and_split_regions():
    pred_a, true_a, mask_a = random_depths(3)
    pred_b, true_b, mask_b = random_depths(4, batch=3)
    mask_b[2] = 1.0  # all foreground: this image has no background pixels
    metric = DepthMetrics()
    metric.update(pred_a, true_a, mask_a)
    metric.update(pred_b, true_b, mask_b)
    got = metric.compute()
    assert list(got) == depth_metric_keys() and len(got) == 39
    want = _reference_depth_means(torch.cat([pred_a, pred_b]), torch.cat([true_a, true_b]),
                                  torch.cat([mask_a, mask_b]))
    assert set(want) == set(got)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_depth_metrics_foreground_and_background_pixels():
    pred, true, mask = random_depths(5)
    pred = torch.where(mask > 0.5, true, 2.0 * true + 1.0)  # exact on the foreground only
    metric = DepthMetrics()
    metric.update(pred, true, mask)
    got = metric.compute()
    assert got["depth_fg_rmse"] == 0.0 and got["depth_fg_d1"] == 1.0
    assert got["depth_bg_rmse"] > 1.0 and got["depth_bg_d1"] == 0.0
    assert 0.0 < got["depth_rmse"] < got["depth_bg_rmse"]


def test_depth_metrics_region_without_images_is_nan():
    pred, true, mask = random_depths(6)
    metric = DepthMetrics()
    metric.update(pred, true, torch.zeros_like(mask))
    got = metric.compute()
    assert all(math.isnan(got[key]) for key in got if key.startswith("depth_fg_"))
    assert got["depth_bg_rmse"] == pytest.approx(got["depth_rmse"])


# ---- table ----


def test_format_table_aligns_columns():
    table = format_table({"synthetic": {"mask_iou": 0.91234, "depth_rmse": float("nan")},
                          "real-photos": {"mask_iou": 0.5}})
    lines = table.splitlines()
    assert len(lines) == 4
    assert lines[0].split() == ["mask_iou", "depth_rmse"]
    assert lines[2].split() == ["synthetic", "0.9123", "\u2013"]
    assert lines[3].split() == ["real-photos", "0.5000", "-"]
    assert len({len(line) for line in lines}) == 1


def test_relative_depth_metrics_are_scale_and_shift_invariant():
    from maskdepth.metrics import RelativeDepthMetrics, align_scale_shift

    g = torch.Generator().manual_seed(1)
    true = torch.rand(2, 1, 10, 10, generator=g) + 0.05
    known = true > 0
    torch.testing.assert_close(align_scale_shift(5 * true - 2, true, known), true)
    metric = RelativeDepthMetrics()
    metric.update(5 * true - 2, true)
    values = metric.compute()
    assert values["depth_ssi_mae"] < 1e-5 and values["depth_ssi_rmse"] < 1e-5
    metric.update(torch.rand(2, 1, 10, 10, generator=g), true)
    assert metric.compute()["depth_ssi_mae"] > 0.01


def test_rank_correlation_by_hand():
    """Spearman's rho with tied ranks averaged: true (1, 2, 2, 3 m), pred (1, 3, 2, 4 m) rank as
    (1, 2.5, 2.5, 4) and (1, 3, 2, 4): 4.5 / sqrt(4.5 * 5) = 0.9487."""
    from maskdepth.metrics.depth import rank_correlation

    true = torch.tensor([1.0, 2.0, 2.0, 3.0]).view(1, 1, 2, 2)
    pred = torch.tensor([1.0, 3.0, 2.0, 4.0]).view(1, 1, 2, 2)
    known = torch.ones_like(true, dtype=torch.bool)
    assert rank_correlation(pred, true, known).item() == pytest.approx(4.5 / math.sqrt(22.5), rel=1e-6)
    assert rank_correlation(3 * true.square() + 1, true, known).item() == pytest.approx(1.0)  # order only
    assert rank_correlation(1 / true, true, known).item() == pytest.approx(-1.0)
    assert rank_correlation(torch.full_like(true, 2.7), true, known).item() == 0.0  # a constant orders nothing
    assert math.isnan(rank_correlation(pred, true, torch.zeros_like(known)).item())
    assert math.isnan(rank_correlation(pred, torch.full_like(true, 2.0), known).item())  # flat truth
    one_pixel = torch.zeros_like(known)
    one_pixel.view(-1)[0] = True
    assert math.isnan(rank_correlation(pred, true, one_pixel).item())
    unknown_corner = known.clone()
    unknown_corner[0, 0, 1, 1] = False  # pixels outside `known` do not count
    assert rank_correlation(pred, true, unknown_corner).item() == pytest.approx(
        rank_correlation(pred[..., :3].flatten()[None, None, None, :3], true.flatten()[None, None, None, :3],
                         torch.ones(1, 1, 1, 3, dtype=torch.bool)).item())


def test_depth_metrics_report_the_rank_correlation_per_image_mean():
    true = torch.rand(3, 1, 8, 8) * 4 + 0.5
    pred = true.clone()
    pred[1] = 10 - true[1]  # reversed order
    metrics = DepthMetrics()
    metrics.update(pred, true, torch.zeros_like(true))
    assert metrics.compute()["depth_rank"] == pytest.approx((1 - 1 + 1) / 3, abs=1e-6)
    flat = torch.full((1, 1, 8, 8), 2.0)  # a flat truth: no order to match, left out of the mean
    metrics.update(true[:1], flat, torch.zeros_like(flat))
    values = metrics.compute()
    assert values["depth_rank"] == pytest.approx((1 - 1 + 1) / 3, abs=1e-6)
    from maskdepth.metrics.depth import depth_errors
    rmse = torch.cat([depth_errors(pred, true)["rmse"], depth_errors(true[:1], flat)["rmse"]])
    assert values["depth_rmse"] == pytest.approx(rmse.mean().item(), abs=1e-6)  # the 4th counts here

"""Depth metrics, defined once: pure functions give one value per image ((B,) tensors); the
torchmetrics classes (`DepthMetrics`, `RelativeDepthMetrics`) accumulate sums of per-image values
and image counts, which synchronise across processes under DDP, and report means over images.

Tensor contract: depth (B, 1, H, W) float metres, 0 in the ground truth = unknown; masks
(B, 1, H, W) bool (pure functions) or float in {0, 1} (the classes).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchmetrics import Metric

MIN_DEPTH = 1e-3  # metres; predictions are clamped to this before logs and ratios
DEPTH_KEYS = ("rmse", "absrel", "log10", "d1", "d2", "d3")
# depth_errors' values: the above, the same after median scaling, and the rank correlation.
ERROR_KEYS = (*DEPTH_KEYS, *(f"si_{key}" for key in DEPTH_KEYS), "rank")
REGIONS = ("", "fg_", "bg_")  # all known pixels, foreground only, background only


def _depth_stats(pred: Tensor, true: Tensor, known: Tensor) -> dict[str, Tensor]:
    """rmse, absrel, log10, d1..d3 per image over `known` pixels; NaN for images with none.

    pred: (B, 1, H, W) metres >= MIN_DEPTH; true: metres, > 0 wherever `known` (bool) is set.
    """
    count = known.flatten(1).sum(1).float()
    true = torch.where(known, true, torch.ones_like(true))  # keep logs finite off `known`

    def mean(values: Tensor) -> Tensor:
        return torch.where(known, values, torch.zeros_like(values)).flatten(1).sum(1) / count

    ratio = torch.maximum(pred / true, true / pred)
    return {
        "rmse": mean((pred - true) ** 2).sqrt(),
        "absrel": mean((pred - true).abs() / true),
        "log10": mean((pred.log10() - true.log10()).abs()),
        **{f"d{k}": mean((ratio < 1.25**k).float()) for k in (1, 2, 3)},
    }


def _masked_median(values: Tensor, known: Tensor) -> Tensor:
    """Per-image median (B,) of values (B, 1, H, W) over `known` pixels; NaN when none.

    For an even count this is the lower of the two middle values (torch.median's convention).
    """
    masked = torch.where(known, values, torch.full_like(values, math.nan))
    return masked.flatten(1).nanmedian(dim=1).values


def _average_ranks(values: Tensor) -> Tensor:
    """Ranks (1 .. n) of a 1-D tensor's values, ties given the mean of the ranks they share."""
    _, inverse, counts = torch.unique(values, sorted=True, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()  # the last rank of each distinct value
    return (ends - (counts.double() - 1) / 2)[inverse]


def rank_correlation(pred: Tensor, true: Tensor, known: Tensor) -> Tensor:
    """Spearman's rank correlation per image (B,) between pred and true over `known` pixels
    (all (B, 1, H, W)): +1 when the prediction orders every pair of pixels as the truth does,
    whatever its scale; 0 when the prediction is constant (it orders nothing); NaN when the
    truth is (a single known pixel, a flat wall seen square-on: no order to match) or no pixel
    is known. Ties take their mean rank (depth PNGs hold whole millimetres)."""
    values = []
    for p, t, k in zip(pred, true, known):
        if not k.any():
            values.append(torch.tensor(math.nan, dtype=torch.float64))
            continue
        a, b = _average_ranks(p[k]), _average_ranks(t[k])
        a, b = a - a.mean(), b - b.mean()
        if not b.square().sum() > 0:
            values.append(torch.tensor(math.nan, dtype=torch.float64))
            continue
        spread = (a.square().sum() * b.square().sum()).sqrt()
        values.append((a * b).sum() / spread if spread > 0 else torch.zeros((), dtype=torch.float64))
    return torch.stack(values).to(pred.dtype)


def depth_errors(pred: Tensor, true: Tensor, region: Tensor | None = None) -> dict[str, Tensor]:
    """Per-image depth errors over known pixels (true > 0) inside `region`.

    pred: (B, 1, H, W) metres (clamped to >= 1e-3 m); true: (B, 1, H, W) metres, 0 = unknown;
    region: optional (B, 1, H, W) bool. Returns (B,) float tensors: rmse (m), absrel, log10
    (mean |log10 pred - log10 true|), d1, d2, d3 (share of max(pred/true, true/pred) < 1.25^k),
    the same with prefix si_ after scaling pred by median(true) / median(pred) over the same
    pixels, rank (Spearman's rank correlation, see `rank_correlation`), and valid (B,) bool:
    images with at least one such pixel (others hold NaN).
    """
    pred, true = pred.float().clamp(min=MIN_DEPTH), true.float()
    known = true > 0
    if region is not None:
        known = known & region
    scale = _masked_median(true, known) / _masked_median(pred, known)  # (B,)
    scaled = (pred * scale.view(-1, 1, 1, 1)).clamp(min=MIN_DEPTH)
    errors = _depth_stats(pred, true, known)
    errors.update({f"si_{k}": v for k, v in _depth_stats(scaled, true, known).items()})
    errors["rank"] = rank_correlation(pred, true, known)
    errors["valid"] = known.flatten(1).any(1)
    return errors


def depth_flicker(depth: Tensor, static: Tensor) -> float:
    """Mean absolute frame-to-frame change of depth (metres) on static pixels: over every pair
    of consecutive frames, the pixels that are background in both. depth: (T, 1, H, W) metres of
    a video's frames in order; static: (T, 1, H, W) bool, True = background. NaN when no pixel
    is static in two consecutive frames."""
    both = static[1:] & static[:-1]
    change = (depth[1:] - depth[:-1]).abs()
    count = both.sum()
    return float((change * both).sum() / count) if count > 0 else float("nan")


def align_scale_shift(pred: Tensor, true: Tensor, known: Tensor) -> Tensor:
    """pred (B, 1, H, W) mapped per image by the scale s and shift t that minimise
    sum over `known` of (s * pred + t - true)^2 (least squares, as in monocular depth work), for
    targets known only up to scale and shift. Images with fewer than two known pixels, or a
    constant prediction, get s = 0, t = mean(true). Differentiable (the loss uses it too)."""
    weight = known.float()
    count = weight.flatten(1).sum(1).clamp(min=1).view(-1, 1, 1, 1)
    mean_p = (pred * weight).flatten(1).sum(1).view(-1, 1, 1, 1) / count
    mean_t = (true * weight).flatten(1).sum(1).view(-1, 1, 1, 1) / count
    dp, dt = (pred - mean_p) * weight, (true - mean_t) * weight
    var = (dp * dp).flatten(1).sum(1).view(-1, 1, 1, 1)
    cov = (dp * dt).flatten(1).sum(1).view(-1, 1, 1, 1)
    scale = torch.where(var > 1e-12, cov / var.clamp(min=1e-12), torch.zeros_like(var))
    return scale * (pred - mean_p) + mean_t


RELATIVE_KEYS = ("depth_ssi_mae", "depth_ssi_rmse")


def relative_depth_errors(pred: Tensor, true: Tensor) -> dict[str, Tensor]:
    """Per-image errors against relative depth (known up to scale and shift): mean absolute and
    root-mean-square error after `align_scale_shift`, in the target's units (relative depth in
    (0, 1]: 1 = the teacher's whole range). pred: (B, 1, H, W) metres; true: (B, 1, H, W), 0 =
    unknown. Returns (B,) tensors ssi_mae, ssi_rmse and valid (images with a known pixel)."""
    pred, true = pred.float(), true.float()
    known = true > 0
    error = (align_scale_shift(pred, true, known) - true) * known
    count = known.flatten(1).sum(1).clamp(min=1)
    return {"ssi_mae": error.abs().flatten(1).sum(1) / count,
            "ssi_rmse": (error.square().flatten(1).sum(1) / count).sqrt(),
            "valid": known.flatten(1).any(1)}


class RelativeDepthMetrics(Metric):
    """Means over images of `relative_depth_errors`: for data whose depth is relative (a teacher
    network's output), where metres cannot be scored. compute() -> {depth_ssi_mae,
    depth_ssi_rmse} (NaN before any image with known depth)."""

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_state("sums", default=torch.zeros(len(RELATIVE_KEYS), dtype=torch.float64),
                       dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred_depth: Tensor, true_depth: Tensor) -> None:
        errors = relative_depth_errors(pred_depth.detach(), true_depth)
        valid = errors["valid"]
        self.sums += torch.stack([errors["ssi_mae"][valid].sum(),
                                  errors["ssi_rmse"][valid].sum()]).double()
        self.count += valid.sum()

    def compute(self) -> dict[str, float]:
        means = self.sums / self.count
        return {key: float(value) for key, value in zip(RELATIVE_KEYS, means, strict=True)}


def depth_metric_keys() -> list[str]:
    """The keys of DepthMetrics.compute(), e.g. depth_rmse, depth_fg_si_d1, depth_bg_log10."""
    return [f"depth_{region}{name}" for region in REGIONS for name in ERROR_KEYS]


class DepthMetrics(Metric):
    """Mean over images of depth errors in three regions: all known pixels (depth_*), foreground
    only (depth_fg_*, true_mask > 0.5) and background only (depth_bg_*).

    update(pred_depth, true_depth, true_mask): (B, 1, H, W) metres, metres (0 = unknown), {0, 1}.
    Each region averages over the images with at least one known pixel in it (the rank
    correlation over those where it is defined: not on a constant truth); a region that no
    image covered reports NaN. Keys: see `depth_metric_keys()`.
    """

    is_differentiable = False
    higher_is_better = None
    full_state_update = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_state("sums", default=torch.zeros(len(REGIONS), len(ERROR_KEYS),
                                                   dtype=torch.float64),
                       dist_reduce_fx="sum")
        self.add_state("counts", default=torch.zeros(len(REGIONS), len(ERROR_KEYS),
                                                     dtype=torch.float64),
                       dist_reduce_fx="sum")

    def update(self, pred_depth: Tensor, true_depth: Tensor, true_mask: Tensor) -> None:
        foreground = true_mask > 0.5
        for index, region in enumerate((None, foreground, ~foreground)):
            errors = depth_errors(pred_depth.detach(), true_depth, region)
            per_image = torch.stack([errors[name] for name in ERROR_KEYS], dim=1)  # (B, 13)
            valid = errors["valid"].unsqueeze(1) & per_image.isfinite()
            per_image = torch.where(valid, per_image, torch.zeros_like(per_image))
            self.sums[index] += per_image.sum(0).double()
            self.counts[index] += valid.sum(0)

    def compute(self) -> dict[str, float]:
        means = self.sums / self.counts  # 0 / 0 = NaN for an uncovered region
        return {key: float(value)
                for key, value in zip(depth_metric_keys(), means.flatten(), strict=True)}

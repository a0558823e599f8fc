"""Mask metrics, defined once: pure functions give one value per image ((B,) tensors);
`MaskMetrics` (torchmetrics) accumulates sums of per-image values and image counts, which
synchronise across processes under DDP, and reports means over images.

Tensor contract: masks (B, 1, H, W) bool (pure functions) or float in [0, 1] (the class).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import Metric

from maskdepth.batch import MASK_THRESHOLD

MASK_KEYS = ("mask_iou", "mask_dice", "mask_acc", "mask_bf")


def mask_confusion(pred: Tensor, true: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per-image pixel counts (tp, fp, fn, tn), each (B,) int64, of bool masks (B, 1, H, W)."""
    pred, true = pred.flatten(1), true.flatten(1)
    return ((pred & true).sum(1), (pred & ~true).sum(1), (~pred & true).sum(1),
            (~pred & ~true).sum(1))


def _ratio(num: Tensor, den: Tensor, empty: float) -> Tensor:
    """num / den as float, with `empty` where den == 0."""
    num, den = num.float(), den.float()
    return torch.where(den > 0, num / den.clamp(min=1), torch.full_like(num, empty))


def mask_iou(pred: Tensor, true: Tensor) -> Tensor:
    """Intersection over union per image, (B,) float in [0, 1]; empty vs empty = 1."""
    tp, fp, fn, _ = mask_confusion(pred, true)
    return _ratio(tp, tp + fp + fn, empty=1.0)


def mask_dice(pred: Tensor, true: Tensor) -> Tensor:
    """Dice (F1) coefficient per image, (B,) float in [0, 1]; empty vs empty = 1."""
    tp, fp, fn, _ = mask_confusion(pred, true)
    return _ratio(2 * tp, 2 * tp + fp + fn, empty=1.0)


def pixel_accuracy(pred: Tensor, true: Tensor) -> Tensor:
    """Share of pixels whose class is right, per image, (B,) float in [0, 1]."""
    tp, fp, fn, tn = mask_confusion(pred, true)
    return _ratio(tp + tn, tp + fp + fn + tn, empty=1.0)


def mask_boundary(mask: Tensor) -> Tensor:
    """Boundary of a bool mask (B, 1, H, W): the mask minus its 3x3 erosion.

    Pixels outside the image count as background, so a mask touching the frame has a boundary
    there (otherwise an all-foreground mask would have none and match an empty prediction).
    """
    padded = F.pad(mask.float(), [1, 1, 1, 1], value=0.0)
    eroded = -F.max_pool2d(-padded, 3, stride=1) > 0.5
    return mask & ~eroded


def _dilate(mask: Tensor, radius: int) -> Tensor:
    """Dilation of a bool mask (B, 1, H, W) by a (2 radius + 1) square."""
    return F.max_pool2d(mask.float(), 2 * radius + 1, stride=1, padding=radius) > 0.5


def boundary_fscore(pred: Tensor, true: Tensor, tolerance_px: int = 2) -> Tensor:
    """Boundary F-score per image, (B,) float in [0, 1], of bool masks (B, 1, H, W).

    Precision: share of predicted boundary pixels within `tolerance_px` (Chebyshev distance) of
    the true boundary; recall: the converse; F = 2PR / (P + R). Both boundaries empty -> 1,
    exactly one empty -> 0.
    """
    pred_edge, true_edge = mask_boundary(pred), mask_boundary(true)
    pred_count, true_count = pred_edge.flatten(1).sum(1), true_edge.flatten(1).sum(1)
    precision = _ratio((pred_edge & _dilate(true_edge, tolerance_px)).flatten(1).sum(1),
                       pred_count, empty=0.0)
    recall = _ratio((true_edge & _dilate(pred_edge, tolerance_px)).flatten(1).sum(1),
                    true_count, empty=0.0)
    fscore = _ratio(2 * precision * recall, precision + recall, empty=0.0)
    both_empty = (pred_count == 0) & (true_count == 0)
    return torch.where(both_empty, torch.ones_like(fscore), fscore)


class MaskMetrics(Metric):
    """Mean over images of IoU, Dice, pixel accuracy and boundary F of thresholded masks.

    update(pred_prob, true): pred_prob (B, 1, H, W) foreground probabilities in [0, 1] (pass
    sigmoid(logits)), or an already-thresholded bool mask; true (B, 1, H, W) in {0, 1}.
    A pixel is foreground when pred_prob > threshold (default MASK_THRESHOLD; true > 0.5).
    compute() -> {"mask_iou", "mask_dice", "mask_acc", "mask_bf"} floats (NaN before any update).
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, threshold: float = MASK_THRESHOLD, tolerance_px: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.threshold, self.tolerance_px = threshold, tolerance_px
        self.add_state("sums", default=torch.zeros(len(MASK_KEYS), dtype=torch.float64),
                       dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred_prob: Tensor, true: Tensor) -> None:
        pred = pred_prob if pred_prob.dtype == torch.bool else pred_prob.detach() > self.threshold
        true = true > 0.5
        per_image = torch.stack([mask_iou(pred, true), mask_dice(pred, true),
                                 pixel_accuracy(pred, true),
                                 boundary_fscore(pred, true, self.tolerance_px)], dim=1)  # (B, 4)
        self.sums += per_image.sum(0).double()
        self.count += pred.shape[0]

    def compute(self) -> dict[str, float]:
        means = self.sums / self.count
        return {key: float(value) for key, value in zip(MASK_KEYS, means, strict=True)}

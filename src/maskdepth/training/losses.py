"""Training losses: pure functions, wrapped by one thin module (`MaskDepthLoss`).

Tensor contract (all (B, 1, H, W) float unless stated):
    pred depth    metres, positive            true depth   metres, 0 = unknown
    mask logits   foreground logits           true mask    {0, 1}

Every depth term averages over known pixels only (true > 0) and is a finite 0, still connected to
the autograd graph, when no pixel is known (an image with no depth must not poison the batch).
Pixel averages are taken over the whole batch (each known pixel weighs the same).
"""

from __future__ import annotations

from dataclasses import dataclass

import kornia
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from maskdepth.batch import Batch, split_depth


@dataclass
class LossWeights:
    """Weight of each loss term; 0 switches a term off (it is then neither computed nor logged)."""

    depth_l1: float = 1.0
    depth_grad: float = 1.0
    depth_ssim: float = 1.0
    mask_bce: float = 1.0
    mask_ssim: float = 1.0
    mask_dice: float = 0.5
    depth_relative: float = 1.0  # scale-and-shift invariant L1 for samples of relative depth
    depth_silog: float = 0.0  # scale-invariant log loss (Eigen et al. 2014), metric samples


def erode_known(valid: Tensor, size: int) -> Tensor:
    """Pixels whose whole (size x size) neighbourhood is known: valid (B, 1, H, W) bool -> bool.

    Pixels outside the image count as unknown, so a border of size // 2 pixels is never kept.
    """
    r = size // 2
    # Engine data: depth known everywhere, only the border is lost. Checked on the CPU only: on an
    # accelerator the check would wait for the device (a sync per call), costing more than it saves.
    if valid.device.type == "cpu" and bool(valid.all()):
        inner = torch.zeros_like(valid)
        inner[..., r : valid.shape[-2] - r, r : valid.shape[-1] - r] = True
        return inner
    padded = F.pad(valid.float(), [r, r, r, r], value=0.0)
    return -F.max_pool2d(-padded, size, stride=1) > 0.5


def masked_mean(values: Tensor, valid: Tensor) -> Tensor:
    """Mean of `values` where `valid` (bool, same shape) is set; a scalar, 0 when none is set.

    The 0 still carries the graph of `values`; values outside `valid` get a zero gradient.
    """
    kept = torch.where(valid, values, torch.zeros_like(values))
    return kept.sum() / valid.sum().clamp(min=1)


def masked_l1(pred: Tensor, true: Tensor, valid: Tensor) -> Tensor:
    """Mean |pred - true| over pixels where `valid` (bool, same shape) is set; 0 when none is."""
    return masked_mean((pred - true).abs(), valid)


def gradient_l1(pred: Tensor, true: Tensor, valid: Tensor) -> Tensor:
    """L1 between Sobel gradients of pred and true (B, 1, H, W), averaged over x and y and over the
    pixels whose whole 3x3 neighbourhood is valid (valid: (B, 1, H, W) bool).

    Sobel kernels are normalised (divided by 8, kornia's `normalized=True`), so a ramp of slope s
    per pixel has gradient s. Units: those of the inputs per pixel (metres/pixel for depth).
    """
    grad_pred = kornia.filters.spatial_gradient(pred, mode="sobel")  # (B, 1, 2, H, W)
    grad_true = kornia.filters.spatial_gradient(true, mode="sobel")
    inner = erode_known(valid, 3).unsqueeze(2).expand_as(grad_pred)
    return masked_l1(grad_pred, grad_true, inner)


def gaussian_blur_reflect(x: Tensor, window: int, sigma: float) -> Tensor:
    """Separable Gaussian blur of (B, C, H, W) with reflected borders, as weighted sums of shifted
    views (one fused multiply-add per tap): on CPU about twice as fast as a depthwise convolution
    for small windows."""
    kernel = kornia.filters.get_gaussian_kernel1d(window, sigma, dtype=torch.float64)[0].tolist()
    r = window // 2
    height, width = x.shape[-2:]
    padded = F.pad(x, (r, r, r, r), mode="reflect")
    rows = padded[..., :width] * kernel[0]
    for i in range(1, window):
        rows = torch.add(rows, padded[..., i : i + width], alpha=kernel[i])
    out = rows[..., :height, :] * kernel[0]
    for i in range(1, window):
        out = torch.add(out, rows[..., i : i + height, :], alpha=kernel[i])
    return out


def ssim_map_separable(pred: Tensor, true: Tensor, window: int = 7, max_val: float = 1.0) -> Tensor:
    """The SSIM map of kornia.metrics.ssim (Gaussian window, sigma 1.5, reflected borders, eps 0),
    computed with one separable blur of the five statistics stacked: fewer operations than
    kornia's 2-D window, whose cost made the loss a tenth of a CPU training step."""
    stats = torch.cat([pred, true, pred * pred, true * true, pred * true], dim=1)  # (B, 5C, H, W)
    blurred = gaussian_blur_reflect(stats, window, 1.5)
    mu1, mu2, e11, e22, e12 = blurred.chunk(5, dim=1)
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    mu1_mu2, mu1_sq, mu2_sq = mu1 * mu2, mu1 * mu1, mu2 * mu2
    numerator = (2 * mu1_mu2 + c1) * (2 * (e12 - mu1_mu2) + c2)
    denominator = (mu1_sq + mu2_sq + c1) * ((e11 - mu1_sq) + (e22 - mu2_sq) + c2)
    return numerator / denominator


def ssim_loss(pred: Tensor, true: Tensor, valid: Tensor | None = None, window: int = 7,
              max_val: float = 1.0) -> Tensor:
    """Mean of (1 - SSIM) / 2, in [0, 1], over pixels whose whole window is valid.

    pred, true: (B, 1, H, W) float; max_val: their data range (SSIM's L). valid: (B, 1, H, W) bool
    or None (all pixels count, image borders reflected). Windows are Gaussian (sigma 1.5, `window`
    taps), as in kornia.metrics.ssim; eps=0 so identical images score exactly 0.
    """
    ssim_map = ssim_map_separable(pred, true, window, max_val)
    dissimilarity = (1.0 - ssim_map) / 2.0
    if valid is None:
        return dissimilarity.mean()
    return masked_mean(dissimilarity, erode_known(valid, window))


def dice_loss(prob: Tensor, true: Tensor, smooth: float = 1.0) -> Tensor:
    """Soft Dice loss, 1 - (2 sum(p t) + s) / (sum p + sum t + s) per image, mean over the batch.

    prob, true: (B, 1, H, W) in [0, 1]. `smooth` makes empty-vs-empty a loss of 0.
    """
    dims = tuple(range(1, prob.dim()))
    overlap = (prob * true).sum(dims)
    total = prob.sum(dims) + true.sum(dims)
    return (1.0 - (2.0 * overlap + smooth) / (total + smooth)).mean()


def bce_loss(logits: Tensor, true: Tensor) -> Tensor:
    """Binary cross-entropy with logits, mean over all pixels; `true` in [0, 1] may be soft."""
    return F.binary_cross_entropy_with_logits(logits, true)


def _weighted_sum(pred: Tensor, parts: dict[str, Tensor], weights: dict[str, float]) -> Tensor:
    """sum_k weights[k] * parts[k]; a graph-connected 0 of `pred` when no term is active."""
    total = pred.sum() * 0.0
    for name, value in parts.items():
        total = total + weights[name] * value
    return total


def depth_loss(pred: Tensor, true: Tensor, w: LossWeights) -> tuple[Tensor, dict[str, Tensor]]:
    """Depth loss over known pixels (true > 0): weighted L1 + Sobel-gradient L1 + SSIM, plus
    the scale-invariant log loss when its weight is set.

    pred: (B, 1, H, W) metres, positive; true: (B, 1, H, W) metres, 0 = unknown.
    SSIM data range: each image (pred and true alike) is divided by the largest known true depth
    of that image, so max_val = 1 and the SSIM term does not depend on the scene's scale.
    Returns (total, parts) with parts keys depth_l1 / depth_grad / depth_ssim / depth_silog
    (active terms only).
    """
    pred, true = pred.float(), true.float()
    valid = true > 0
    weights = {"depth_l1": w.depth_l1, "depth_grad": w.depth_grad, "depth_ssim": w.depth_ssim,
               "depth_silog": w.depth_silog}
    parts: dict[str, Tensor] = {}
    if w.depth_l1 > 0:
        parts["depth_l1"] = masked_l1(pred, true, valid)
    if w.depth_grad > 0:
        parts["depth_grad"] = gradient_l1(pred, true, valid)
    if w.depth_ssim > 0:
        far = true.amax(dim=(1, 2, 3), keepdim=True)  # (B, 1, 1, 1); unknown pixels are 0
        scale = torch.where(far > 0, far, torch.ones_like(far))
        parts["depth_ssim"] = ssim_loss(pred / scale, true / scale, valid, max_val=1.0)
    if w.depth_silog > 0:
        parts["depth_silog"] = silog_loss(pred, true)
    return _weighted_sum(pred, parts, weights), parts


def mean_over_known_images(per_image: Tensor, count: Tensor) -> Tensor:
    """The mean of per-image values (B,) over the images with known pixels (count (B,) > 0); a
    graph-connected 0 when none has. No boolean indexing: it would wait for the device."""
    has = (count > 0).float()
    return (per_image * has).sum() / has.sum().clamp(min=1)


SILOG_VARIANCE_FOCUS = 0.85  # lambda: 1 = fully scale-invariant, 0 = plain log RMSE (as in BTS)


def silog_loss(pred: Tensor, true: Tensor, focus: float = SILOG_VARIANCE_FOCUS) -> Tensor:
    """Scale-invariant log loss: per image, with d = log(pred) - log(true) over known pixels
    (true > 0), sqrt(mean(d^2) - focus * mean(d)^2); the mean over images with known pixels
    (a graph-connected 0 when none). pred: (B, 1, H, W) metres, positive; true: (B, 1, H, W)
    metres, 0 = unknown. Units: log-metres (0.1 is about 10 % off)."""
    pred, true = pred.float(), true.float()
    known = true > 0
    d = torch.where(known, torch.log(pred.clamp(min=1e-6)) - torch.log(true.clamp(min=1e-6)),
                    torch.zeros_like(pred))
    count = known.flatten(1).sum(1)
    n = count.clamp(min=1)
    mean = d.flatten(1).sum(1) / n
    mean_square = d.square().flatten(1).sum(1) / n
    per_image = (mean_square - focus * mean.square()).clamp(min=0).add(1e-8).sqrt()
    return mean_over_known_images(per_image, count)


def relative_depth_loss(pred: Tensor, true: Tensor) -> Tensor:
    """Scale-and-shift invariant L1 for depth known only up to scale and shift (a teacher
    network's relative depth): per image, pred is aligned to true by least squares
    (`align_scale_shift`), then the mean absolute difference over known pixels (true > 0) is
    taken; the mean over images with known pixels (a graph-connected 0 when none).
    pred: (B, 1, H, W) metres; true: (B, 1, H, W) relative depth in (0, 1], 0 = unknown."""
    from maskdepth.metrics import align_scale_shift

    pred, true = pred.float(), true.float()
    known = true > 0
    error = ((align_scale_shift(pred, true, known) - true).abs() * known).flatten(1).sum(1)
    count = known.flatten(1).sum(1)
    return mean_over_known_images(error / count.clamp(min=1), count)


def mask_loss(logits: Tensor, true: Tensor, w: LossWeights) -> tuple[Tensor, dict[str, Tensor]]:
    """Mask loss: BCE with logits + SSIM on sigmoid(logits) + optional soft Dice.

    logits: (B, 1, H, W) foreground logits; true: (B, 1, H, W) in {0, 1}.
    Returns (total, parts) with parts keys mask_bce / mask_ssim / mask_dice (active terms only).
    """
    logits, true = logits.float(), true.float()
    prob = torch.sigmoid(logits)
    weights = {"mask_bce": w.mask_bce, "mask_ssim": w.mask_ssim, "mask_dice": w.mask_dice}
    parts: dict[str, Tensor] = {}
    if w.mask_bce > 0:
        parts["mask_bce"] = bce_loss(logits, true)
    if w.mask_ssim > 0:
        parts["mask_ssim"] = ssim_loss(prob, true, max_val=1.0)
    if w.mask_dice > 0:
        parts["mask_dice"] = dice_loss(prob, true)
    return _weighted_sum(logits, parts, weights), parts


class MaskDepthLoss(nn.Module):
    """The training loss: depth + mask.

    forward(outputs, batch):
        outputs: "mask_logits" (B, 1, H, W), "depth" (B, 1, H, W) metres.
        batch:   "mask" (B, 1, H, W) {0, 1}, "depth" (B, 1, H, W) metres (0 = unknown),
                 optional "relative" (B,): 1 where
                 depth is relative (scored by `relative_depth_loss` instead of metres).
    Returns (total, parts): total is the scalar to back-propagate; parts holds detached scalars for
    logging: the active terms (e.g. "depth_l1", "mask_bce"), "depth", "mask" and "total".
    """

    def __init__(self, weights: LossWeights | None = None):
        super().__init__()
        self.weights = weights if weights is not None else LossWeights()

    def forward(self, outputs: dict[str, Tensor], batch: Batch
                ) -> tuple[Tensor, dict[str, Tensor]]:
        metric_depth, relative_depth = split_depth(batch)
        depth_total, parts = depth_loss(outputs["depth"], metric_depth, self.weights)
        if relative_depth is not None and self.weights.depth_relative > 0:
            parts["depth_relative"] = relative_depth_loss(outputs["depth"], relative_depth)
            depth_total = depth_total + self.weights.depth_relative * parts["depth_relative"]
        mask_total, mask_parts = mask_loss(outputs["mask_logits"], batch["mask"], self.weights)
        parts = {**parts, **mask_parts, "depth": depth_total, "mask": mask_total}
        total = depth_total + mask_total
        parts["total"] = total
        return total, {name: value.detach() for name, value in parts.items()}

"""Full-resolution mask edges: the fast guided filter (He & Sun 2015) that video-matting systems
use to bring a low-resolution prediction up to the photo's size.

The network runs at a working size (160 px on video); a plain bilinear upsampling of its
probability blurs an edge over the scale factor (8 px at 720p) and loses anything thinner than
that (fingers, hair, chair legs). The guided filter models the probability, in each small window
at the working size, as a linear function of a guide, a * guide + b; fitted at the working size,
with a and b upsampled and applied to the full-size guide, the edge lands where the full-size
guide changes. The guide is the colour difference between the image and its background
(|image - background|, its channels weighted as luma): it changes exactly at the
foreground's outline, while the background's own texture, the same in both photos, leaves it
flat. Where the foreground matches the background colour the guide is flat too, a = 0, and the
result falls back to the smooth upsampling.

    probability = guided_upsample(low_probability, image, background)   # (H, W) float32 in [0, 1]

Cost at 1280x720 from 160x90: about 5 ms on one core (see docs/BENCHMARKS.md).
"""

from __future__ import annotations

import cv2
import numpy as np

from maskdepth.io import resize

RADIUS = 1  # window radius at the working size: 3x3 windows (8x8 px at 720p from 160 px)
EPS = 1e-4  # regularisation, guide in [0, 1]: windows whose guide varies by less than about
# sqrt(EPS) (2.5 levels of 255) keep the smooth upsampling. Radius and EPS were chosen with
# a sweep on engine scenes (docs/usage.md, "Full-resolution edges, measured"), never on the
# evaluation sets.


def difference_guide(image: np.ndarray, background: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB image and background -> (H, W) uint8: the absolute colour difference,
    channels weighted as luma (0.299 R + 0.587 G + 0.114 B; OpenCV's grey, under 1 ms at 720p)."""
    return cv2.cvtColor(cv2.absdiff(image, background), cv2.COLOR_RGB2GRAY)


def _box(array: np.ndarray, radius: int) -> np.ndarray:
    """Mean over (2 radius + 1)^2 windows, edges replicated (cv2's box filter, normalised)."""
    return cv2.boxFilter(array, -1, (2 * radius + 1, 2 * radius + 1),
                         borderType=cv2.BORDER_REPLICATE)


def guided_coefficients(probability: np.ndarray, guide: np.ndarray, radius: int = RADIUS,
                        eps: float = EPS) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) (h, w) float32 at the working size such that A * guide + B, with A and B
    upsampled, is the probability at full size. probability and guide (h, w), guide in [0, 1].

    The guided filter's a, b (averaged over each pixel's windows), blended by each window's
    confidence w = var / (var + eps) with the probability as it is: where the guide has no
    structure (w = 0: A = 0, B = probability) the result is the plain bilinear upsampling, never
    the filter's box-blurred mean, which would erode thin parts the guide cannot see."""
    p, g = probability.astype(np.float32), guide.astype(np.float32)
    mean_g, mean_p = _box(g, radius), _box(p, radius)
    covariance = _box(g * p, radius) - mean_g * mean_p
    variance = np.maximum(_box(g * g, radius) - mean_g * mean_g, 0)
    a = covariance / (variance + np.float32(eps))
    b = mean_p - a * mean_g
    confidence = _box(variance / (variance + np.float32(eps)), radius)
    return confidence * _box(a, radius), confidence * _box(b, radius) + (1 - confidence) * p


def guided_upsample(probability: np.ndarray, image: np.ndarray, background: np.ndarray,
                    radius: int = RADIUS, eps: float = EPS, shrink=None) -> np.ndarray:
    """The mask probability (h, w) float32 in [0, 1], predicted at the working size, at the size
    of `image` and `background` ((H, W, 3) uint8, H >= h, W >= w) with its edges where the
    full-size difference guide puts them. shrink(array, (h, w)): the area averaging the model's
    input was made with (default: OpenCV's). Returns (H, W) float32 in [0, 1]."""
    if shrink is None:
        shrink = resize.shrink
    height, width = image.shape[:2]
    if probability.shape == (height, width):
        return probability.astype(np.float32)
    guide = difference_guide(image, background)
    small = shrink(guide, probability.shape).astype(np.float32) / np.float32(255)
    a, b = guided_coefficients(probability, small, radius, eps)
    a, b = (cv2.resize(c, (width, height), interpolation=cv2.INTER_LINEAR) for c in (a, b))
    # a is per unit of the [0, 1] guide; the full-size guide stays in 8-bit levels
    result = cv2.add(cv2.multiply(a, guide, scale=1 / 255, dtype=cv2.CV_32F), b)
    return np.clip(result, 0, 1, out=result)

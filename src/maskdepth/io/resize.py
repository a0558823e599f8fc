"""Picture sizes and shrinking, written once: the working size of the model, alignment's pyramid
levels and the server's upload caps all follow `fit_within`, and every area-averaged shrink is
`shrink`.

    height, width = fit_within((720, 1280), max_side=160)    # (90, 160)
    small = shrink(frame, (height, width))                   # (90, 160, 3)
"""

from __future__ import annotations

import cv2
import numpy as np


def fit_within(size: tuple[int, int], max_side: int | None = None, max_pixels: int | None = None,
               minimum: int = 1) -> tuple[int, int]:
    """(height, width) of a picture of `size` (height, width) scaled down, aspect kept, until
    its longer side is <= max_side and its area <= max_pixels (either may be None); never
    scaled up, each side at least `minimum` px. The one rule for working sizes, pyramid levels
    and upload caps."""
    height, width = size
    scale = 1.0
    if max_side is not None:
        scale = min(scale, max_side / max(height, width))
    if max_pixels is not None:
        scale = min(scale, (max_pixels / (height * width)) ** 0.5)
    if scale >= 1.0:
        return height, width
    return max(minimum, round(height * scale)), max(minimum, round(width * scale))


def shrink(array: np.ndarray, size: tuple[int, int], last=cv2.INTER_AREA) -> np.ndarray:
    """`array` (H, W[, C]) shrunk to (height, width) <= its own: halved with 2x2 means while
    twice the size or more (OpenCV's fast path), then the rest by `last` (area averaging by
    default: together the same box average as one area step, at a third of its time at 720p;
    bilinear for pictures, whose last step is under 2x)."""
    while array.shape[0] >= 2 * size[0] and array.shape[1] >= 2 * size[1]:
        array = cv2.resize(array, (array.shape[1] // 2, array.shape[0] // 2),
                           interpolation=cv2.INTER_AREA)
    if array.shape[:2] == tuple(size):
        return array
    return cv2.resize(array, (size[1], size[0]), interpolation=last)

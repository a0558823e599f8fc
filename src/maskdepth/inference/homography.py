"""Homographies between two photos of one scene: warping a background onto the image, and the
sanity check that rejects implausible ones (a corner moved too far).

    warped = warp_to_image(background, homography)   # background pixels at the image's positions
"""

from __future__ import annotations

import cv2
import numpy as np

MAX_CORNER_SHIFT = 0.15  # homographies moving a corner further (share of the diagonal): rejected


def warp_to_image(background: np.ndarray, homography: np.ndarray,
                  border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """(H, W[, C]) array in background coordinates -> the same in image coordinates, bilinear."""
    height, width = background.shape[:2]
    return cv2.warpPerspective(background, homography, (width, height),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border)


def _corners(shape) -> np.ndarray:
    """(3, 4) homogeneous pixel coordinates of an image's corners."""
    height, width = shape[:2]
    return np.float64([[0, width, 0, width], [0, 0, height, height], [1, 1, 1, 1]])


def corner_shift(first: np.ndarray, second: np.ndarray, shape) -> float:
    """Largest distance (pixels) between where two homographies send an image's corners."""
    a, b = first @ _corners(shape), second @ _corners(shape)
    return float(np.linalg.norm(a[:2] / a[2] - b[:2] / b[2], axis=0).max())


def plausible(homography: np.ndarray, shape) -> bool:
    """True when the homography keeps the image in front of the camera (positive w at every
    corner, so no line at infinity crosses it) and moves no corner further than
    MAX_CORNER_SHIFT x diagonal."""
    moved = homography @ _corners(shape)
    if not np.all(np.isfinite(moved)) or np.any(moved[2] < 0.5):
        return False
    shift = np.linalg.norm(moved[:2] / moved[2] - _corners(shape)[:2], axis=0)
    return bool(shift.max() < MAX_CORNER_SHIFT * np.hypot(*shape[:2]))

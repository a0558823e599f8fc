"""Pasting cut-outs into one photo, touching only the pixels each cut-out and its shadow cover.

Pure per-sample functions on numpy arrays (OpenCV's affine warps do the resampling), used by
`PhotoCompositor.compose`. Working in each object's bounding box instead of the whole frame is
what makes composing several times faster than full-frame tensor sampling.

Coordinates are continuous pixels: pixel (i, j) covers [j, j + 1) x [i, i + 1), centre at +0.5.
A cut-out of `res` x `res` texels is stretched over its box [left, left + width) x
[foot - height, foot), mirrored when flip = -1. Sampling is bilinear with zeros outside the
cut-out, like `F.grid_sample(..., align_corners=False)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

WARP = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP


@dataclass
class Paste:
    """One cut-out in one photo (floats in pixels unless said otherwise)."""

    left: float
    width: float
    height: float
    foot: float  # y of the bottom edge
    flip: float  # -1 mirrored, 1 as is
    shadow: float  # darkening of its cast shadow in [0, 1], 0 = none
    squash: float  # cast shadow height / object height
    shear: float  # horizontal lean of the cast shadow per pixel of depth behind the foot
    saturation: float  # colour jitter: saturation factor
    gain: np.ndarray  # colour jitter: (3,) per-channel gain


def _box(x0: float, x1: float, y0: float, y1: float, h: int, w: int):
    """Integer pixel box [top, bottom) x [left, right) covering the span, clipped to the frame."""
    left, right = max(0, int(np.floor(x0))), min(w, int(np.ceil(x1)))
    top, bottom = max(0, int(np.floor(y0))), min(h, int(np.ceil(y1)))
    return (top, bottom, left, right) if right > left and bottom > top else None


def _cutout_matrix(p: Paste, res: int, x_of_j, x_of_i, x_0, y_of_i, y_0) -> np.ndarray:
    """2x3 matrix taking box-local pixel indices (j, i) to cut-out texel coordinates, given the
    sampled frame point P = x_of_j * j + x_of_i * i + x_0, Q = y_of_i * i + y_0 (continuous)."""
    su, sv = res / p.width, res / p.height
    du = p.flip * su
    u0 = du * (x_0 - p.left) + (res if p.flip < 0 else 0) - 0.5
    v0 = sv * (y_0 - (p.foot - p.height)) - 0.5
    return np.array([[du * x_of_j, du * x_of_i, u0], [0.0, sv * y_of_i, v0]], np.float64)


def paste_object(image: np.ndarray, cover: np.ndarray, rgba: np.ndarray, p: Paste) -> None:
    """Alpha-blend a cut-out (res, res, 4 float RGBA in [0, 1]) into image (H, W, 3) and add its
    coverage to cover (H, W), in place."""
    h, w = cover.shape
    box = _box(p.left, p.left + p.width, p.foot - p.height, p.foot, h, w)
    if box is None:
        return
    top, bottom, left, right = box
    matrix = _cutout_matrix(p, rgba.shape[0], 1.0, 0.0, left + 0.5, 1.0, top + 0.5)
    patch = cv2.warpAffine(rgba, matrix, (right - left, bottom - top), flags=WARP,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    colour, alpha = patch[..., :3], patch[..., 3:4]
    grey = colour.mean(axis=2, keepdims=True)
    colour = np.clip((grey + (colour - grey) * p.saturation) * p.gain, 0, 1)
    region = image[top:bottom, left:right]
    region += (colour - region) * alpha
    cover[top:bottom, left:right] += (1 - cover[top:bottom, left:right]) * alpha[..., 0]


def cast_shadow(lit: np.ndarray, soft_alpha: np.ndarray, p: Paste) -> None:
    """Multiply lit (H, W) in place by 1 - darkness of the object's shadow: its soft silhouette
    (res, res float) squashed and sheared on the ground behind its foot, plus a soft contact
    shadow at the foot."""
    if p.shadow <= 0:
        return
    h, w = lit.shape
    reach = p.height * p.squash  # how far up the frame the cast shadow goes
    lean = abs(p.shear) * reach
    spread = 0.5 * p.width * 1.25  # the contact shadow ends at 1.5 ** 0.5 radii
    box = _box(min(p.left - lean, p.left + p.width / 2 - spread),
               max(p.left + p.width + lean, p.left + p.width / 2 + spread),
               p.foot - reach, p.foot + 0.05 * p.height, h, w)
    if box is None:
        return
    top, bottom, left, right = box
    # The ground point (x, y) behind the foot takes the silhouette at P = x - shear * (foot - y),
    # Q = foot - (foot - y) / squash.
    y_c = top + 0.5
    matrix = _cutout_matrix(p, soft_alpha.shape[0], 1.0, p.shear,
                            left + 0.5 - p.shear * (p.foot - y_c), 1 / p.squash,
                            p.foot - (p.foot - y_c) / p.squash)
    cast = cv2.warpAffine(soft_alpha, matrix, (right - left, bottom - top), flags=WARP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    ys = np.arange(top, bottom, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(left, right, dtype=np.float32)[None, :] + 0.5
    cast = cast * (ys < p.foot)
    dx = (xs - p.left - p.width / 2) / (0.5 * p.width)
    dy = (ys - p.foot) / (0.04 * p.height)
    contact = 0.8 * np.clip(1 - (dx * dx + dy * dy) / 1.5, 0, None) ** 2
    lit[top:bottom, left:right] *= 1 - p.shadow * np.maximum(cast, contact)

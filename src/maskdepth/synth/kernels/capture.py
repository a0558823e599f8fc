"""Capture conditions per pixel, compiled by Numba: exposure, misaligned background, sensor
noise, 8-bit levels. capture.py draws the parameters and holds the PyTorch definition
(`apply_capture_torch`) these kernels are tested against.

Arrays are numpy float32 unless noted; images (B, 3, H, W) in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from maskdepth.synth.kernels.compiled import OPTIONS

# Columns of the per-scene table of `capture_scenes`.
(EXPOSED, GAIN, BALANCE_R, BALANCE_G, BALANCE_B, GAMMA, MISALIGNED,
 WARP_00, WARP_01, WARP_02, WARP_10, WARP_11, WARP_12, NOISE_SIGMA, NOISE_SIGN) = range(15)
CAPTURE_COLUMNS = 15


@njit(inline="always", **OPTIONS)
def _reflect(x, size):
    """grid_sample's reflection padding (align_corners False) of a pixel coordinate."""
    span = float(size)
    x = abs(x + 0.5)
    flips = math.floor(x / span)
    extra = x - flips * span
    x = extra - 0.5 if flips % 2 == 0 else span - extra - 0.5
    return min(max(x, 0.0), size - 1.0)


@njit(inline="always", **OPTIONS)
def _to_8bit(x):
    """Clamp to [0, 1] and round to the 8-bit levels of a saved photo (still a float)."""
    return np.float32(np.floor(np.float32(min(max(x, 0.0), 1.0)) * np.float32(255) + np.float32(0.5))) / np.float32(255)


_GAMMA_STEPS = 4096  # x ** gamma is read from a table: off by < 2e-4, a twentieth of an 8-bit level


@njit(**OPTIONS)
def _gamma_table(gamma):
    """x ** gamma at x = k / _GAMMA_STEPS, k = 0 .. _GAMMA_STEPS (+1 spare), x clamped to >= 1e-6."""
    table = np.empty(_GAMMA_STEPS + 2, np.float32)
    for k in range(_GAMMA_STEPS + 2):
        table[k] = max(min(k / _GAMMA_STEPS, 1.0), 1e-6) ** gamma
    return table


@njit(inline="always", **OPTIONS)
def _exposed(x, gain, table):
    """gain * x ** gamma for x in [0, 1] (clamped), clamped to [0, 1]; linear in the table."""
    x = min(max(x, 0.0), 1.0) * _GAMMA_STEPS
    k = int(x)
    return min(max(gain * (table[k] + (x - k) * (table[k + 1] - table[k])), 0.0), 1.0)


@njit(**OPTIONS)
def _capture_image(b, image, p, noise, noise_id, out):
    """Exposure change and noise on image b (branches hoisted out of the pixel loops)."""
    sigma = p[b, NOISE_SIGMA]
    table = _gamma_table(p[b, GAMMA]) if p[b, EXPOSED] != 0 else np.empty(0, np.float32)
    for c in range(3):
        gain = p[b, GAIN] * p[b, BALANCE_R + c]
        if p[b, EXPOSED] != 0:
            for i in range(image.shape[2]):
                for j in range(image.shape[3]):
                    x = _exposed(image[b, c, i, j], gain, table)
                    out[b, c, i, j] = _to_8bit(x + noise[noise_id, c, i, j] * sigma)
        else:
            for i in range(image.shape[2]):
                for j in range(image.shape[3]):
                    out[b, c, i, j] = _to_8bit(image[b, c, i, j] + noise[noise_id, c, i, j] * sigma)


@njit(**OPTIONS)
def _capture_background(b, background, p, noise, noise_id, out):
    """Camera misalignment and noise on background b."""
    height, width = background.shape[2], background.shape[3]
    sigma = p[b, NOISE_SIGMA] * p[b, NOISE_SIGN]
    if p[b, MISALIGNED] == 0:
        for c in range(3):
            for i in range(height):
                for j in range(width):
                    out[b, c, i, j] = _to_8bit(background[b, c, i, j] + noise[noise_id, c, i, j] * sigma)
        return
    for i in range(height):
        for j in range(width):  # bilinear, reflection padding, as grid_sample(affine_grid(warp))
            gx = (2 * j + 1) / width - 1
            gy = (2 * i + 1) / height - 1
            wx = p[b, WARP_00] * gx + p[b, WARP_01] * gy + p[b, WARP_02]
            wy = p[b, WARP_10] * gx + p[b, WARP_11] * gy + p[b, WARP_12]
            sx = _reflect(((wx + 1) * width - 1) / 2, width)
            sy = _reflect(((wy + 1) * height - 1) / 2, height)
            x0, y0 = int(sx), int(sy)
            x1, y1 = min(x0 + 1, width - 1), min(y0 + 1, height - 1)
            fx, fy = sx - x0, sy - y0
            for c in range(3):
                top = background[b, c, y0, x0] * (1 - fx) + background[b, c, y0, x1] * fx
                bottom = background[b, c, y1, x0] * (1 - fx) + background[b, c, y1, x1] * fx
                y = top * (1 - fy) + bottom * fy
                out[b, c, i, j] = _to_8bit(y + noise[noise_id, c, i, j] * sigma)


@njit(**OPTIONS)
def capture_scenes(first, stop, image, background, params, noise, noise_ids, out_image, out_background):
    """Apply capture conditions to scenes first .. stop - 1 of B (see capture.apply_capture).

    image, background: (B, 3, H, W) in [0, 1]; params: (B, CAPTURE_COLUMNS); noise: (N, 3, H, W)
    standard normal; noise_ids: (B, 2) int64 (image's, background's). Writes out_image and
    out_background (B, 3, H, W), rounded to 8-bit levels.
    """
    for b in range(first, stop):
        _capture_image(b, image, params, noise, noise_ids[b, 0], out_image)
        _capture_background(b, background, params, noise, noise_ids[b, 1], out_background)

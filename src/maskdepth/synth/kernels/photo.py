"""The photo compositor's per-sample work (crop, cast shadows, pasted cut-outs), compiled by Numba.

`paste.py` (OpenCV warps and numpy blends, one sample at a time in Python) is the readable
definition; these kernels compute the same in one pass per sample, touching only each cut-out's
and shadow's box, and run the samples of a batch on threads (`compiled.in_threads`). Tests check
them against paste.py. Pixel and texel coordinates are continuous with centres at +0.5, as there.

Arrays are numpy float32 unless noted: photos (N, 3, H, W) in [0, 1]; cut-outs (M, S, S, 4)
RGBA and soft alphas (M, S, S).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from maskdepth.synth.kernels.compiled import OPTIONS, zero_padded_taps

# Columns of the (B, K, PASTE_COLUMNS) float64 placement table, as in paste.Paste.
(PRESENT, LEFT, WIDTH, HEIGHT, FOOT, FLIP, SHADOW, SQUASH, SHEAR, SATURATION,
 GAIN_R, GAIN_G, GAIN_B) = range(13)
PASTE_COLUMNS = 13


@njit(inline="always", **OPTIONS)
def _box(x0, x1, y0, y1, h, w):
    """Integer box (top, bottom, left, right) covering the span, clipped to the frame; empty
    when bottom <= top or right <= left."""
    return (max(0, math.floor(y0)), min(h, math.ceil(y1)), max(0, math.floor(x0)),
            min(w, math.ceil(x1)))


@njit(inline="always", **OPTIONS)
def _matrix(p, res, x_of_j, x_of_i, x_0, y_of_i, y_0):
    """paste._cutout_matrix: box-local (j, i) -> texel (u, v) = (a j + b i + c, d i + e)."""
    du = p[FLIP] * res / p[WIDTH]
    sv = res / p[HEIGHT]
    c = du * (x_0 - p[LEFT]) + (res if p[FLIP] < 0 else 0) - 0.5
    e = sv * (y_0 - (p[FOOT] - p[HEIGHT])) - 0.5
    return du * x_of_j, du * x_of_i, c, sv * y_of_i, e


@njit(**OPTIONS)
def _crop(b, photos, pick, crop, out):
    """out[b] = photos[pick[b]] resampled at (a j + c, d i + e) (crop[b] = a, c, d, e), bilinear
    with edges repeated (OpenCV BORDER_REPLICATE)."""
    h, w = out.shape[2], out.shape[3]
    a, c, d, e = crop[b, 0], crop[b, 1], crop[b, 2], crop[b, 3]
    n = pick[b]
    for i in range(h):
        sy = d * i + e
        y0 = math.floor(sy)
        fy = sy - y0
        ya, yb = min(max(y0, 0), h - 1), min(max(y0 + 1, 0), h - 1)
        for j in range(w):
            sx = a * j + c
            x0 = math.floor(sx)
            fx = sx - x0
            xa, xb = min(max(x0, 0), w - 1), min(max(x0 + 1, 0), w - 1)
            for ch in range(3):
                top = photos[n, ch, ya, xa] * (1 - fx) + photos[n, ch, ya, xb] * fx
                bottom = photos[n, ch, yb, xa] * (1 - fx) + photos[n, ch, yb, xb] * fx
                out[b, ch, i, j] = top * (1 - fy) + bottom * fy


@njit(**OPTIONS)
def _cast_shadow(p, soft, lit):
    """paste.cast_shadow: lit (H, W) *= 1 - darkness of the shadow of paste p (its soft alpha
    (S, S) squashed and sheared behind its foot, plus a contact shadow at the foot)."""
    h, w = lit.shape
    size = soft.shape[0]
    reach = p[HEIGHT] * p[SQUASH]
    lean = abs(p[SHEAR]) * reach
    spread = 0.5 * p[WIDTH] * 1.25
    centre = p[LEFT] + p[WIDTH] / 2
    top, bottom, left, right = _box(min(p[LEFT] - lean, centre - spread),
                                    max(p[LEFT] + p[WIDTH] + lean, centre + spread),
                                    p[FOOT] - reach, p[FOOT] + 0.05 * p[HEIGHT], h, w)
    y_c = top + 0.5
    a, b, c, d, e = _matrix(p, size, 1.0, p[SHEAR], left + 0.5 - p[SHEAR] * (p[FOOT] - y_c),
                            1 / p[SQUASH], p[FOOT] - (p[FOOT] - y_c) / p[SQUASH])
    for i in range(top, bottom):
        ys = i + 0.5
        dy = (ys - p[FOOT]) / (0.04 * p[HEIGHT])
        for j in range(left, right):
            cast = 0.0
            if ys < p[FOOT]:
                jl, il = j - left, i - top
                xa, ya, xb, yb, w00, w01, w10, w11 = zero_padded_taps(a * jl + b * il + c, d * il + e, size)
                cast = (soft[ya, xa] * w00 + soft[ya, xb] * w01 + soft[yb, xa] * w10
                        + soft[yb, xb] * w11)
            dx = (j + 0.5 - centre) / (0.5 * p[WIDTH])
            contact = max(1 - (dx * dx + dy * dy) / 1.5, 0.0)
            lit[i, j] *= 1 - p[SHADOW] * max(cast, 0.8 * contact * contact)


@njit(**OPTIONS)
def _paste(b, p, rgba, image, cover):
    """paste.paste_object: blend cut-out p (RGBA (S, S, 4)) into image[b] (3, H, W), with its
    colour jitter, and add its coverage to cover (H, W)."""
    h, w = cover.shape
    size = rgba.shape[0]
    top, bottom, left, right = _box(p[LEFT], p[LEFT] + p[WIDTH], p[FOOT] - p[HEIGHT], p[FOOT], h, w)
    a, _, c, d, e = _matrix(p, size, 1.0, 0.0, left + 0.5, 1.0, top + 0.5)
    saturation = p[SATURATION]
    for i in range(top, bottom):
        for j in range(left, right):
            xa, ya, xb, yb, w00, w01, w10, w11 = zero_padded_taps(a * (j - left) + c, d * (i - top) + e, size)
            alpha = rgba[ya, xa, 3] * w00 + rgba[ya, xb, 3] * w01 + rgba[yb, xa, 3] * w10 + rgba[yb, xb, 3] * w11
            if alpha == 0:
                continue
            red = rgba[ya, xa, 0] * w00 + rgba[ya, xb, 0] * w01 + rgba[yb, xa, 0] * w10 + rgba[yb, xb, 0] * w11
            green = rgba[ya, xa, 1] * w00 + rgba[ya, xb, 1] * w01 + rgba[yb, xa, 1] * w10 + rgba[yb, xb, 1] * w11
            blue = rgba[ya, xa, 2] * w00 + rgba[ya, xb, 2] * w01 + rgba[yb, xa, 2] * w10 + rgba[yb, xb, 2] * w11
            grey = (red + green + blue) / 3
            red = min(max((grey + (red - grey) * saturation) * p[GAIN_R], 0.0), 1.0)
            green = min(max((grey + (green - grey) * saturation) * p[GAIN_G], 0.0), 1.0)
            blue = min(max((grey + (blue - grey) * saturation) * p[GAIN_B], 0.0), 1.0)
            image[b, 0, i, j] += (red - image[b, 0, i, j]) * alpha
            image[b, 1, i, j] += (green - image[b, 1, i, j]) * alpha
            image[b, 2, i, j] += (blue - image[b, 2, i, j]) * alpha
            cover[i, j] += (1 - cover[i, j]) * alpha


@njit(**OPTIONS)
def compose_photos(first, stop, photos, pick, crop, rgba, soft, pastes, sprites,
                   image, background, mask, shadow):
    """Compose samples first .. stop - 1 of B (see PhotoCompositor.compose).

    pick: (B,) int64 photo ids; crop: (B, 4) float64 (a, c, d, e) of each crop; pastes: (B, K,
    PASTE_COLUMNS) float64, back to front; sprites: (B, K) int64 cut-out ids. Outputs: image,
    background (B, 3, H, W); mask (B, H, W) 0/1; shadow (B, H, W) in [0, 1] (0 under the mask).
    """
    h, w = mask.shape[1], mask.shape[2]
    for b in range(first, stop):
        _crop(b, photos, pick, crop, background)
        lit = np.ones((h, w), np.float32)
        for k in range(pastes.shape[1]):
            if pastes[b, k, PRESENT] != 0 and pastes[b, k, SHADOW] > 0:
                _cast_shadow(pastes[b, k], soft[sprites[b, k]], lit)
        for ch in range(3):
            for i in range(h):
                for j in range(w):
                    image[b, ch, i, j] = background[b, ch, i, j] * lit[i, j]
        cover = np.zeros((h, w), np.float32)
        for k in range(pastes.shape[1]):
            if pastes[b, k, PRESENT] != 0:
                _paste(b, pastes[b, k], rgba[sprites[b, k]], image, cover)
        for i in range(h):
            for j in range(w):
                inside = 1.0 if cover[i, j] > 0.5 else 0.0
                mask[b, i, j] = inside
                shadow[b, i, j] = (1 - lit[i, j]) * (1 - inside)
                for ch in range(3):
                    image[b, ch, i, j] = min(max(image[b, ch, i, j], 0.0), 1.0)

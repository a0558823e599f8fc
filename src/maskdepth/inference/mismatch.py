"""How well a background photo explains an image of the same scene: the mismatch score that
warns about a wrong (or unalignable) background, and the small image helpers alignment shares.

    score = mismatch_score(image, aligned_background)   # (H, W, 3) uint8 each -> [0, 1]
    if score > MISMATCH_WARNING: warn("is this the right background?")
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from maskdepth.io.resize import fit_within, shrink

# mismatch above this: the background probably shows another scene (or could not be aligned).
# On rendered rooms at 160x160 with capture effects, 95 % of right pairs score < 0.1 and unrelated
# rooms (which share walls, floors and a horizon) score > 0.6.
MISMATCH_WARNING = 0.5
MISMATCH_SIDE = 256  # mismatch_score works at this longer side (pixels)
LEVEL_MIN = 8  # pyramid levels keep at least this many pixels a side
TILE = 16  # ... in tiles of this size there
GRADIENT_SIGMA = 1.0  # ... on gradients blurred this much (pixels)
TEXTURE_FLOOR = 1.0  # a tile has texture when its RMS gradient exceeds this (grey levels / px)
NOISE_MARGIN = 9.0  # ... and 9x the gradient energy (3x the RMS) that sensor noise would give
# The score is 1 - this quantile of the voting tiles' correlations: up to 70 % of the textured
# tiles may be hidden by a large foreground. Measured on 200 composites of the training photos
# and 200 engine scenes (capture effects on), right pairs warned about / wrong pairs not warned
# about: median 32 % / 0 % and 4.5 % / 0.5 %; 0.7 quantile 14.5 % / 0 % and 2 % / 1 %.
VOTE_QUANTILE = 0.7


def mismatch_score(image: np.ndarray, background_aligned: np.ndarray) -> float:
    """How badly an aligned background (H, W, 3) uint8 RGB fits `image` (H, W, 3) uint8 RGB:
    float in [0, 1], 0 = same scene, 1 = unrelated. See `grey_mismatch`; compare with
    MISMATCH_WARNING."""
    check_rgb(image, "image")
    check_rgb(background_aligned, "background_aligned")
    if image.shape != background_aligned.shape:
        raise ValueError(f"image {image.shape} and background_aligned {background_aligned.shape} "
                         "differ in size; align the background first (align_background)")
    return grey_mismatch(to_grey(image), to_grey(background_aligned))


def grey_mismatch(grey: np.ndarray, background_grey: np.ndarray) -> float:
    """`mismatch_score` of two (H, W) uint8 greys: float in [0, 1].

    1 - the VOTE_QUANTILE quantile over tiles (TILE px at <= MISMATCH_SIDE px) of the
    correlation of blurred signed grey gradients, which ignores exposure changes. Only tiles where the background has
    texture vote (the foreground adds texture to flat walls, which is no sign of a wrong
    background); texture means gradient energy above TEXTURE_FLOOR and NOISE_MARGIN times what
    the photos' sensor noise alone would give (noise correlates with nothing). The quantile lets
    most of the voters (hidden by the foreground) differ without raising the score. With no
    textured background tile, tiles textured in the image (above its own noise) vote, so a
    background of pure noise scores near 1; two flat photos score 0.
    """
    small, background_small = (resize_to(a, MISMATCH_SIDE).astype(np.float32)
                               for a in (grey, background_grey))
    (ix, iy), (bx, by) = _gradients(small), _gradients(background_small)
    cross = _tile_sum(ix * bx + iy * by, TILE)
    energy, bg_energy = _tile_sum(ix**2 + iy**2, TILE), _tile_sum(bx**2 + by**2, TILE)
    image_noise, background_noise = _noise_sigma(small), _noise_sigma(background_small)
    voting = bg_energy > _texture_floor(max(image_noise, background_noise))
    if not voting.any():
        # Measured against the image's own noise: a background of pure noise has no texture,
        # but the image's texture then has nothing to match, which is a mismatch.
        voting = energy > _texture_floor(image_noise)
    if not voting.any():
        return 0.0
    correlation = cross[voting] / np.sqrt(energy[voting] * bg_energy[voting] + 1e-6)
    return float(np.clip(1.0 - np.quantile(correlation, VOTE_QUANTILE), 0.0, 1.0))


def _texture_floor(noise_sigma: float) -> float:
    """Tile gradient energy above which a tile has texture, for sensor noise of `noise_sigma`
    grey levels (see grey_mismatch)."""
    per_pixel = max(TEXTURE_FLOOR**2, NOISE_MARGIN * noise_sigma**2 * _gradient_noise_gain())
    return per_pixel * TILE * TILE


def _gradients(grey: np.ndarray) -> np.ndarray:
    """(h, w) float32 grey -> (2, h, w) float32 x/y gradients (grey levels per pixel) after a
    Gaussian blur of GRADIENT_SIGMA px."""
    blurred = cv2.GaussianBlur(grey, (0, 0), GRADIENT_SIGMA)
    return np.stack([cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3) / 8,
                     cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3) / 8])


def _noise_sigma(grey: np.ndarray) -> float:
    """Standard deviation (grey levels) of white noise in an (h, w) float32 grey, from the median
    absolute Laplacian (Immerkaer 1996, made robust): edges inflate it a little, flat areas rule."""
    laplacian = cv2.filter2D(grey, cv2.CV_32F, np.float32([[1, -2, 1], [-2, 4, -2], [1, -2, 1]]))
    return float(1.4826 * np.median(np.abs(laplacian[1:-1, 1:-1])) / 6.0)


@functools.cache
def _gradient_noise_gain() -> float:
    """Gradient energy per pixel (x plus y) that `_gradients` makes of unit-variance white noise:
    the squared norm of its two filter kernels."""
    impulse = np.zeros((31, 31), np.float32)
    impulse[15, 15] = 1.0
    return float((_gradients(impulse) ** 2).sum())


def _tile_sum(values: np.ndarray, tile: int) -> np.ndarray:
    """(h, w) -> (h // tile, w // tile) sums over non-overlapping tiles (a ragged edge dropped)."""
    rows, cols = max(1, values.shape[0] // tile), max(1, values.shape[1] // tile)
    values = values[: rows * tile, : cols * tile]
    return values.reshape(rows, values.shape[0] // rows, cols, -1).sum(axis=(1, 3))


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 luma."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def check_rgb(array: np.ndarray, name: str) -> None:
    """Raise ValueError unless `array` is a non-empty (H, W, 3) uint8 array."""
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.ndim != 3 \
            or array.shape[2] != 3 or 0 in array.shape:
        got = f"{array.dtype} {array.shape}" if isinstance(array, np.ndarray) else type(array)
        raise ValueError(f"{name} must be an (H, W, 3) uint8 RGB array, got {got}")


def resize_to(grey: np.ndarray, side: int) -> np.ndarray:
    """(H, W) array -> the pyramid level with longer side <= side (area averaging, never
    upscaled)."""
    return shrink(grey, fit_within(grey.shape[:2], side, minimum=LEVEL_MIN))


def level_size(shape, side) -> tuple[int, int]:
    """(width, height) of the pyramid level with longer side <= side (never upscaled)."""
    height, width = fit_within(shape[:2], side, minimum=LEVEL_MIN)
    return width, height

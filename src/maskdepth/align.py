"""Align a background photo to an image of the same scene: camera shift, exposure, white balance.

    result = align_background(image, background)    # (H, W, 3) uint8 each
    result.background                               # (H, W, 3) uint8, warped and colour-corrected
    if result.mismatch > MISMATCH_WARNING: warn("is this the right background?")

Real captures move the camera a few pixels (~1-2 degrees) and change exposure between the two
photos; the model was trained on nearly aligned pairs, so we undo both first:
1. geometry: ORB features + RANSAC homography (only trusted when it is small and well supported),
   refined with ECC (cv2.findTransformECC, an intensity method that is invariant to a global
   gain/bias) at <= 160 px, then again at <= 320 px with the foreground and other outliers of the
   first pass masked out, so a person in front does not pull the fit;
2. colour: per-channel gain and bias fitted by least squares on the 50 % of pixels that fit best
   (the foreground and specular changes are the other half at worst), refitted three times.
Runtime on 2 busy CPU cores is a few ms at 160x160 and tens of ms at 640x480 (see README).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MISMATCH_WARNING = 0.5  # mismatch above this: the background probably shows another scene
COARSE_SIDE = 160  # ECC's first pass works at this longer side (pixels): fast, wide basin
FINE_SIDE = 320  # its second, masked pass at this one: ~0.1 px there is ~0.2 px at 640x480
MAX_CORNER_SHIFT = 0.15  # homographies moving a corner further (share of the diagonal): rejected
MIN_INLIERS = 15  # RANSAC inliers needed before the ORB homography is trusted
GAIN_RANGE = (0.2, 5.0)  # the colour gain is clamped to this range
FIT_SAMPLES = 20000  # at most this many pixels take part in the colour fit
TILE = 16  # mismatch_score compares gradients in tiles of about this size at <= 256 px


@dataclass
class AlignResult:
    """What `align_background` found.

    background: (H, W, 3) uint8, the background warped onto the image and colour-corrected;
        the strip that the warp leaves empty repeats the nearest valid pixel (BORDER_REPLICATE).
    homography: (3, 3) float64, maps image pixel coordinates (x, y, 1) to background pixel
        coordinates (after resizing the background to the image's size):
        background_aligned(x) = background(homography @ x). Identity when nothing moved.
    gain, bias: (3,) float64 per RGB channel, corrected = gain * warped + bias in 0..255 units.
    mismatch: float in [0, 1], 0 = the background fits the image's scene perfectly, 1 = unrelated;
        compare with MISMATCH_WARNING.
    converged: True when ECC converged; False when it failed and the ORB estimate (or identity)
        was used instead.
    """

    background: np.ndarray
    homography: np.ndarray
    gain: np.ndarray
    bias: np.ndarray
    mismatch: float
    converged: bool


def align_background(image: np.ndarray, background: np.ndarray,
                     max_iterations: int = 100) -> AlignResult:
    """Warp and colour-correct `background` (Hb, Wb, 3) uint8 RGB onto `image` (H, W, 3) uint8 RGB.

    A background of another size is first resized to the image's size (cv2.INTER_AREA), so the
    two photos must show the same field of view up to a small camera motion. `max_iterations`
    bounds each ECC pass. See `AlignResult` for what comes back.
    """
    _check_rgb(image, "image")
    _check_rgb(background, "background")
    height, width = image.shape[:2]
    if background.shape[:2] != (height, width):
        background = cv2.resize(background, (width, height), interpolation=cv2.INTER_AREA)
    grey, background_grey = _grey(image), _grey(background)
    homography, converged = estimate_homography(grey, background_grey, max_iterations)
    warped = warp_to_image(background, homography)
    valid = warp_to_image(np.full((height, width), 255, np.uint8), homography,
                          border=cv2.BORDER_CONSTANT) == 255
    gain, bias = fit_gain_bias(image, warped, valid)
    corrected = np.clip(warped * gain.astype(np.float32) + bias.astype(np.float32), 0, 255)
    corrected = np.rint(corrected).astype(np.uint8)
    return AlignResult(corrected, homography, gain, bias, mismatch_score(image, corrected),
                       converged)


def estimate_homography(grey: np.ndarray, background_grey: np.ndarray,
                        max_iterations: int = 100) -> tuple[np.ndarray, bool]:
    """(H, W) uint8 image and background -> ((3, 3) float64 image->background homography,
    True when every ECC stage converged).

    ECC stages (see STAGES) start from identity; when ORB + RANSAC finds a plausible homography
    that disagrees with that result by more than a pixel, the stages run again from it and the
    start whose result leaves the smaller trimmed residual wins.
    """
    homography, converged = refine(grey, background_grey, np.eye(3), max_iterations)
    orb = orb_homography(*(_resize_to(a, FINE_SIDE) for a in (grey, background_grey)))
    if orb is None:
        return homography, converged
    orb = np.linalg.inv(_level_matrix(grey.shape, FINE_SIDE)) @ orb @ _level_matrix(
        grey.shape, FINE_SIDE)
    if _corner_shift(orb, homography, grey.shape) < 1.0:
        return homography, converged
    other, other_converged = refine(grey, background_grey, orb / orb[2, 2], max_iterations)
    if trimmed_residual(grey, background_grey, other) < trimmed_residual(
            grey, background_grey, homography):
        return other, other_converged
    return homography, converged


def refine(grey: np.ndarray, background_grey: np.ndarray, start: np.ndarray,
           max_iterations: int = 100) -> tuple[np.ndarray, bool]:
    """Run the ECC STAGES from `start` (3, 3); each stage after the first masks out the outliers
    (the foreground) of the previous one. A stage that fails, or moves a corner more than
    MAX_STAGE_STEP x diagonal away from the previous result, ends the cascade with that result.
    Returns ((3, 3) float64 homography, every stage converged)."""
    homography, inliers = start, None
    diagonal = np.hypot(*grey.shape[:2])
    for motion, side, share in STAGES:
        iterations = max(10, round(max_iterations * share))
        result = _ecc(grey, background_grey, homography, motion, side, iterations, inliers)
        if result is None or (inliers is not None and _corner_shift(
                result, homography, grey.shape) > MAX_STAGE_STEP * diagonal):
            return homography, False
        homography, inliers = result, _inlier_mask(grey, background_grey, result)
    return homography, True


def trimmed_residual(grey: np.ndarray, background_grey: np.ndarray,
                     homography: np.ndarray) -> float:
    """Mean of the best-fitting half of |standardised image - standardised warped background|
    (blurred greys at <= COARSE_SIDE px): how well a homography explains the scene, ignoring the
    foreground. 0 = perfect; about 1.1 for unrelated images."""
    scale = _level_matrix(grey.shape, COARSE_SIDE)
    small, background_small = (_resize_to(a, COARSE_SIDE) for a in (grey, background_grey))
    warped = warp_to_image(background_small, scale @ homography @ np.linalg.inv(scale))
    residual = _standardised_residual(small, warped).reshape(-1)
    return float(np.partition(residual, residual.size // 2)[: residual.size // 2].mean())


def orb_homography(grey: np.ndarray, background_grey: np.ndarray) -> np.ndarray | None:
    """ORB matches + RANSAC on (H, W) uint8 greys -> (3, 3) image->background homography, or None
    when there are fewer than MIN_INLIERS inliers or it moves a corner implausibly far."""
    orb = cv2.ORB_create(nfeatures=500, edgeThreshold=15, patchSize=15)
    points, descriptors = orb.detectAndCompute(grey, None)
    bg_points, bg_descriptors = orb.detectAndCompute(background_grey, None)
    if descriptors is None or bg_descriptors is None or min(len(points), len(bg_points)) < 4:
        return None
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(descriptors, bg_descriptors)
    if len(matches) < MIN_INLIERS:
        return None
    source = np.float32([points[m.queryIdx].pt for m in matches])
    target = np.float32([bg_points[m.trainIdx].pt for m in matches])
    homography, inliers = cv2.findHomography(source, target, cv2.RANSAC, 2.0)
    if homography is None or inliers.sum() < MIN_INLIERS:
        return None
    return homography if _plausible(homography, grey.shape) else None


def warp_to_image(background: np.ndarray, homography: np.ndarray,
                  border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """(H, W[, C]) array in background coordinates -> the same in image coordinates, bilinear."""
    height, width = background.shape[:2]
    return cv2.warpPerspective(background, homography, (width, height),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border)


def fit_gain_bias(image: np.ndarray, warped: np.ndarray, valid: np.ndarray,
                  rounds: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Robust per-channel fit image ~ gain * warped + bias on (H, W, 3) uint8 arrays.

    valid: (H, W) bool, pixels that may take part (not the warp's empty border). Each round
    keeps the 50 % of pixels with the smallest residual and refits. Returns (gain, bias), each
    (3,) float64, bias in 0..255 units; gain clamped to GAIN_RANGE.
    """
    stride = max(1, int(np.sqrt(image.shape[0] * image.shape[1] / FIT_SAMPLES)))
    keep = valid[::stride, ::stride].reshape(-1)
    y = image[::stride, ::stride].reshape(-1, 3)[keep].astype(np.float64)  # (N, 3)
    x = warped[::stride, ::stride].reshape(-1, 3)[keep].astype(np.float64)
    if len(x) < 16:
        return np.ones(3), np.zeros(3)
    chosen = np.ones(len(x), bool)
    for _ in range(rounds + 1):
        gain, bias = _line_fit(x[chosen], y[chosen])
        residual = np.abs(y - (x * gain + bias)).sum(axis=1)  # (N,)
        chosen = residual <= np.median(residual)
    return gain, bias


def mismatch_score(image: np.ndarray, background_aligned: np.ndarray) -> float:
    """How badly an aligned background (H, W, 3) uint8 fits `image` (H, W, 3) uint8: float in
    [0, 1], 0 = same scene, 1 = unrelated.

    1 - the median over tiles (about TILE px at <= 256 px) of the correlation of blurred signed
    grey gradients, which ignores exposure changes. Tiles flat in both photos do not vote, and the
    median lets up to half the textured tiles (a foreground) differ without raising the score.
    Two flat photos score 0.
    """
    _check_rgb(image, "image")
    _check_rgb(background_aligned, "background_aligned")
    gradients = [_gradients(_grey(a)) for a in (image, background_aligned)]  # 2 x (2, h, w)
    (ix, iy), (bx, by) = gradients
    tile = TILE
    cross = _tile_sum(ix * bx + iy * by, tile)
    energy, bg_energy = _tile_sum(ix**2 + iy**2, tile), _tile_sum(bx**2 + by**2, tile)
    textured = np.maximum(energy, bg_energy) > 1.0 * tile * tile  # > 1 grey level/px mean
    if not textured.any():
        return 0.0
    correlation = cross[textured] / np.sqrt(energy[textured] * bg_energy[textured] + 1e-6)
    return float(np.clip(1.0 - np.median(correlation), 0.0, 1.0))


def _ecc(grey, background_grey, homography, side, iterations, template_mask=None):
    """One ECC pass at a level whose longer side is <= `side`; full-resolution homographies in
    and out, None when ECC fails or lands on an implausible warp."""
    scale = _level_matrix(grey.shape, side)
    size = _level_size(grey.shape, side)
    small, background_small = (cv2.resize(a, size, interpolation=cv2.INTER_AREA)
                               for a in (grey, background_grey))
    warp = (scale @ homography @ np.linalg.inv(scale)).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, iterations, 1e-5)
    mask = np.full(small.shape, 255, np.uint8) if template_mask is None else cv2.resize(
        template_mask, size, interpolation=cv2.INTER_NEAREST)
    try:
        _, warp = cv2.findTransformECCWithMask(small, background_small, mask, None, warp,
                                               cv2.MOTION_HOMOGRAPHY, criteria, 5)
    except cv2.error:  # "The algorithm stopped before its convergence" and degenerate images
        return None
    result = np.linalg.inv(scale) @ warp.astype(np.float64) @ scale
    result /= result[2, 2]
    return result if _plausible(result, grey.shape) else None


def _inlier_mask(grey, background_grey, homography) -> np.ndarray:
    """(H, W) uint8, 255 where the warped background matches the image (both standardised after
    a blur) within 3 robust sigmas, 0 at outliers (the foreground) grown by a few pixels."""
    warped = warp_to_image(background_grey, homography)
    a, b = (cv2.GaussianBlur(g.astype(np.float32), (5, 5), 0) for g in (grey, warped))
    residual = np.abs((a - a.mean()) / (a.std() + 1e-3) - (b - b.mean()) / (b.std() + 1e-3))
    sigma = 1.4826 * np.median(residual) + 1e-3
    inliers = (residual < 3 * sigma).astype(np.uint8) * 255
    inliers = cv2.erode(inliers, np.ones((5, 5), np.uint8))
    return inliers if inliers.mean() > 0.3 * 255 else np.full_like(inliers, 255)


def _plausible(homography: np.ndarray, shape: tuple[int, ...]) -> bool:
    """True when the homography moves no image corner further than MAX_CORNER_SHIFT x diagonal."""
    height, width = shape[:2]
    corners = np.float64([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]]).T
    moved = homography @ corners
    if np.any(np.abs(moved[2]) < 1e-6) or not np.all(np.isfinite(moved)):
        return False
    shift = np.linalg.norm(moved[:2] / moved[2] - corners[:2], axis=0)
    return bool(shift.max() < MAX_CORNER_SHIFT * np.hypot(height, width))


def _level_size(shape, side) -> tuple[int, int]:
    """(width, height) of the pyramid level with longer side <= side (never upscaled)."""
    scale = min(1.0, side / max(shape[:2]))
    return max(8, round(shape[1] * scale)), max(8, round(shape[0] * scale))


def _level_matrix(shape, side) -> np.ndarray:
    """(3, 3) map from full-resolution to level pixel coordinates (pixel centres kept aligned)."""
    width, height = _level_size(shape, side)
    sx, sy = width / shape[1], height / shape[0]
    return np.array([[sx, 0, (sx - 1) / 2], [0, sy, (sy - 1) / 2], [0, 0, 1]])


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares y = gain * x + bias per column of (N, 3) arrays -> ((3,), (3,))."""
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    variance = ((x - x_mean) ** 2).mean(axis=0)
    covariance = ((x - x_mean) * (y - y_mean)).mean(axis=0)
    gain = np.where(variance > 1e-6, covariance / np.maximum(variance, 1e-6), 1.0)
    gain = np.clip(gain, *GAIN_RANGE)
    return gain, y_mean - gain * x_mean


def _gradients(grey: np.ndarray) -> np.ndarray:
    """(H, W) uint8 -> (2, h, w) float32 Sobel x/y of the grey image at <= 256 px, blurred."""
    width, height = _level_size(grey.shape, 256)
    small = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    small = cv2.GaussianBlur(small, (5, 5), 1.0)
    return np.stack([cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3) / 8,
                     cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3) / 8])


def _tile_sum(values: np.ndarray, tile: int) -> np.ndarray:
    """(h, w) -> (h // tile, w // tile) sums over non-overlapping tiles (a ragged edge dropped)."""
    rows, cols = max(1, values.shape[0] // tile), max(1, values.shape[1] // tile)
    values = values[: rows * tile, : cols * tile]
    return values.reshape(rows, values.shape[0] // rows, cols, -1).sum(axis=(1, 3))


def _grey(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 luma."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _check_rgb(array: np.ndarray, name: str) -> None:
    """Raise ValueError unless `array` is a non-empty (H, W, 3) uint8 array."""
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.ndim != 3 \
            or array.shape[2] != 3 or 0 in array.shape:
        got = f"{array.dtype} {array.shape}" if isinstance(array, np.ndarray) else type(array)
        raise ValueError(f"{name} must be an (H, W, 3) uint8 RGB array, got {got}")

"""Align a background photo to an image of the same scene: camera shift, exposure, white balance.

    result = align_background(image, background)    # (H, W, 3) uint8 each
    result.background                               # (H, W, 3) uint8, warped and colour-corrected
    if result.mismatch > MISMATCH_WARNING: warn(...)   # MISMATCH_WARNING: inference/mismatch.py

Real captures move the camera a few pixels (~1-2 degrees) and change exposure between the two
photos; the model was trained on nearly aligned pairs, so we undo both first:
1. geometry: phase correlation gives a starting shift (the whole spectrum votes, so a foreground
   barely moves it); ECC (cv2.findTransformECC, an intensity method blind to a global gain/bias)
   refines it in stages of growing freedom, translation and rotation at <= 160 px, then a
   homography at <= 320 px with the earlier stages' outliers (the foreground) masked out. Only
   when that fails or fits poorly do ORB features + RANSAC (cv2.findHomography) propose another
   start: on the nearly aligned pairs we expect, ECC alone is faster and more accurate.
2. colour: per-channel gain and bias fitted by least squares on the 50 % of pixels that fit best
   (the foreground and specular changes are the rest), refitted three times. A gamma change
   is not linear and leaves a small residual.
3. `mismatch_score` says how well the result explains the image, to warn about a wrong photo.
About 10 ms at 160x160 and 20 ms at 640x480 on 2 busy CPU cores; 2-3x more when ORB is tried.
Known failure: a mostly flat background whose little texture a large foreground hides; ECC then
locks onto the foreground, and the high mismatch warns the user.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskdepth.inference.colour_fit import fit_gain_bias
from maskdepth.inference.homography import corner_shift, plausible, warp_to_image
from maskdepth.inference.mismatch import (
    check_rgb,
    grey_mismatch,
    level_size,
    mismatch_score,
    resize_to,
    to_grey,
)
from maskdepth.inference.photometric import (
    clearly_better,
    photometric_error,
    plausible_colour,
)
from maskdepth.io.resize import shrink

COARSE_SIDE = 160  # ECC's first stages work at this longer side (pixels): fast, wide basin
FINE_SIDE = 320  # its last one at this one: 0.1 px there is 0.2 px at 640x480
# ECC stages: (motion model, longer side of the pyramid level, share of max_iterations, largest
# corner move as a share of the diagonal). Few parameters first: a translation is hard to pull
# off course by a foreground or a flat wall; the homography comes last, with the foreground
# masked out, and may only add a little to the rotation (a 2 degree pan bends the corners by
# ~0.8 % of the diagonal): with the texture on one side of the image (a tiled floor, a flat
# wall) its perspective terms are barely constrained and can drift much further.
STAGES = ((cv2.MOTION_TRANSLATION, COARSE_SIDE, 1.0, 0.15),
          (cv2.MOTION_EUCLIDEAN, COARSE_SIDE, 1.0, 0.08),
          (cv2.MOTION_HOMOGRAPHY, FINE_SIDE, 0.25, 0.025))
ECC_BLUR = 5  # ECC's Gaussian pre-blur (kernel size, pixels of the level it works on)
ECC_BORDER = 4  # pixels at each edge of a level that ECC ignores (see _ecc)
PHASE_MIN_RESPONSE = 0.05  # weaker phase-correlation peaks are ignored (identity start)
RETRY_MISMATCH = 0.1  # an ECC result that fits worse than this: ORB proposes another start
MIN_INLIERS = 15  # RANSAC inliers needed before the ORB homography is trusted


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
    converged: True when ECC converged at least up to a rigid motion (the final homography
        stage is kept only when it converges to a small correction); False when an earlier stage
        failed or jumped implausibly far and the stage before it (for the first, the phase
        correlation shift) was kept: the alignment is then doubtful. True does not prove it
        right either (ECC can lock onto a large foreground): `mismatch` is the check.
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

    A background of another size is first resized to the image's size (area averaging), so the
    two photos must show the same field of view up to a small camera motion. `max_iterations`
    bounds each ECC stage (the final homography stage gets a quarter of it). See `AlignResult`
    for what comes back.
    """
    check_rgb(image, "image")
    check_rgb(background, "background")
    height, width = image.shape[:2]
    if background.shape[:2] != (height, width):
        background = shrink(background, (height, width))
    grey, background_grey = to_grey(image), to_grey(background)
    homography, converged = estimate_homography(grey, background_grey, max_iterations)
    # The warp and the colour fit are each kept only when they clearly explain the image better
    # than doing without (inference/photometric.py): an aligned pair stays as it was taken.
    warped = warp_to_image(background, homography)
    valid = warp_to_image(np.full((height, width), 255, np.uint8), homography,
                          border=cv2.BORDER_CONSTANT) == 255
    fitted, gain, bias = _colour_fit(image, warped, valid)
    as_taken, plain_gain, plain_bias = _colour_fit(image, background, None)
    if not clearly_better(photometric_error(image, fitted, valid),
                          photometric_error(image, as_taken)):
        homography, warped, valid = np.eye(3), background, None
        fitted, gain, bias = as_taken, plain_gain, plain_bias
    if not clearly_better(photometric_error(image, fitted, valid),
                          photometric_error(image, warped, valid)):
        fitted, gain, bias = warped, np.ones(3), np.zeros(3)
    return AlignResult(fitted, homography, gain, bias, mismatch_score(image, fitted), converged)


def _colour_fit(image: np.ndarray, background: np.ndarray, valid: np.ndarray | None):
    """(background colour-fitted to the image, gain, bias), or the background as it is with the
    identity when the fit is not one an exposure change could give (`plausible_colour`)."""
    mask = valid if valid is not None else np.ones(image.shape[:2], bool)
    gain, bias = fit_gain_bias(image, background, mask)
    if not plausible_colour(gain):
        return background, np.ones(3), np.zeros(3)
    return _coloured(background, gain, bias), gain, bias


def _coloured(background: np.ndarray, gain: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 background * gain + bias per channel, rounded and clipped."""
    corrected = np.clip(background * gain.astype(np.float32) + bias.astype(np.float32), 0, 255)
    return np.rint(corrected).astype(np.uint8)


def estimate_homography(grey: np.ndarray, background_grey: np.ndarray,
                        max_iterations: int = 100) -> tuple[np.ndarray, bool]:
    """(H, W) uint8 image and background greys -> ((3, 3) float64 image->background homography,
    converged as in `refine`).

    The ECC STAGES start from `phase_shift`. Only when they fail or leave a mismatch above
    RETRY_MISMATCH (a larger motion, a repetitive texture) does ORB + RANSAC propose another start;
    its result wins when it fits better (`grey_mismatch`).
    """
    levels = _pyramid(grey, background_grey)
    homography, converged = refine(levels, phase_shift(levels), max_iterations)
    mismatch = _level_mismatch(levels, homography)
    if converged and mismatch < RETRY_MISMATCH:
        return homography, converged
    small, background_small, scale = levels[FINE_SIDE]
    orb = orb_homography(small, background_small)
    if orb is None:
        return homography, converged
    start = np.linalg.inv(scale) @ orb @ scale
    other, other_converged = refine(levels, start / start[2, 2], max_iterations)
    if _level_mismatch(levels, other) < mismatch:
        return other, other_converged
    return homography, converged


def phase_shift(levels: dict) -> np.ndarray:
    """(3, 3) full-resolution translation that phase correlation finds between the COARSE_SIDE
    levels of a `_pyramid`, identity when its peak is weak. The whole spectrum votes, so a
    foreground that would pull a least-squares fit off course only adds noise to the peak."""
    small, background_small, scale = levels[COARSE_SIDE]
    window = cv2.createHanningWindow(small.shape[::-1], cv2.CV_32F)
    (dx, dy), response = cv2.phaseCorrelate(small.astype(np.float32),
                                            background_small.astype(np.float32), window)
    if response < PHASE_MIN_RESPONSE:
        return np.eye(3)
    shift = np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]])  # level pixels
    if not plausible(shift, small.shape):
        return np.eye(3)
    return np.linalg.inv(scale) @ shift @ scale


def refine(levels: dict, start: np.ndarray, max_iterations: int = 100) -> tuple[np.ndarray, bool]:
    """Run the ECC STAGES from `start`, a (3, 3) full-resolution homography, on `_pyramid` levels.
    Each stage after the first ignores the outliers (the foreground) of the one before. A stage
    that fails, or moves a corner further than its share of the diagonal, ends the cascade.
    Returns ((3, 3) float64 homography, converged): converged when all stages up to the rigid
    (Euclidean) one succeeded; the last, the homography, only refines."""
    homography, inliers = start, None
    for done, (motion, side, share, max_step) in enumerate(STAGES):
        small, background_small, scale = levels[side]
        before = scale @ homography @ np.linalg.inv(scale)
        after = _ecc(small, background_small, before, motion,
                     max(10, round(max_iterations * share)), inliers)
        if after is None or corner_shift(after, before, small.shape) > max_step * np.hypot(
                *small.shape):
            return homography, done >= len(STAGES) - 1
        homography = np.linalg.inv(scale) @ after @ scale
        homography /= homography[2, 2]
        inliers = _inlier_mask(small, background_small, after)
    return homography, True


def _level_mismatch(levels: dict, homography: np.ndarray) -> float:
    """`grey_mismatch` at the FINE_SIDE level of a `_pyramid` for a (3, 3) full-res homography."""
    small, background_small, scale = levels[FINE_SIDE]
    return grey_mismatch(small, warp_to_image(background_small,
                                              scale @ homography @ np.linalg.inv(scale)))


def orb_homography(grey: np.ndarray, background_grey: np.ndarray) -> np.ndarray | None:
    """ORB matches + RANSAC on (H, W) uint8 greys -> (3, 3) image->background homography, or None
    when there are fewer than MIN_INLIERS inliers or it moves a corner implausibly far."""
    orb = cv2.ORB_create(nfeatures=500, edgeThreshold=15, patchSize=15)
    points, descriptors = orb.detectAndCompute(grey, None)
    bg_points, bg_descriptors = orb.detectAndCompute(background_grey, None)
    if descriptors is None or bg_descriptors is None or min(len(points), len(bg_points)) < 4:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(descriptors, bg_descriptors, k=2)
    # Lowe's ratio test drops ambiguous matches, e.g. on a checkerboard (any corner fits).
    matches = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(matches) < MIN_INLIERS:
        return None
    source = np.float32([points[m.queryIdx].pt for m in matches])
    target = np.float32([bg_points[m.trainIdx].pt for m in matches])
    homography, inliers = cv2.findHomography(source, target, cv2.RANSAC, 2.0)
    if homography is None or inliers.sum() < MIN_INLIERS:
        return None
    return homography if plausible(homography, grey.shape) else None


def _pyramid(grey: np.ndarray, background_grey: np.ndarray) -> dict:
    """side -> (image level, background level, (3, 3) map from full-resolution to level pixel
    coordinates) for COARSE_SIDE and FINE_SIDE; levels are (h, w) uint8, never upscaled."""
    return {side: (resize_to(grey, side), resize_to(background_grey, side),
                   _level_matrix(grey.shape, side)) for side in (COARSE_SIDE, FINE_SIDE)}


def _ecc(small, background_small, homography, motion, iterations, inliers=None):
    """One ECC pass of `motion` on (h, w) uint8 greys of one level, from a (3, 3) homography in
    that level's coordinates; returns the refined one, or None when ECC fails or lands on an
    implausible warp. inliers: (h', w') uint8 mask of any level, 0 at image pixels to ignore."""
    warp = homography.astype(np.float32)
    if motion != cv2.MOTION_HOMOGRAPHY:
        warp = warp[:2] / warp[2, 2]
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, iterations, 1e-5)
    # ECC blurs both images before warping: near the edges the blur reads padding, which the
    # warp then moves inside and which pulls the fit (a 0.5 % scale error for a 3 px shift).
    # Masking an ECC_BORDER-px band in both images removes that bias.
    band = np.zeros(small.shape, np.uint8)
    band[ECC_BORDER:-ECC_BORDER, ECC_BORDER:-ECC_BORDER] = 255
    mask = band if inliers is None else band & cv2.resize(
        inliers, small.shape[::-1], interpolation=cv2.INTER_NEAREST)
    try:
        _, warp = cv2.findTransformECCWithMask(small, background_small, mask, band, warp, motion,
                                               criteria, ECC_BLUR)
    except cv2.error:  # "Iterations do not converge", degenerate (flat) images
        return None
    warp = np.vstack([warp, [0, 0, 1]]) if warp.shape[0] == 2 else warp
    result = warp.astype(np.float64) / warp[2, 2]
    return result if plausible(result, small.shape) else None


def _inlier_mask(grey, background_grey, homography) -> np.ndarray:
    """(H, W) uint8, 255 where the warped background matches the image within 3 robust sigmas,
    0 at outliers (the foreground) grown by a few pixels; all 255 when under 30 % would be left."""
    residual = _standardised_residual(grey, warp_to_image(background_grey, homography))
    sigma = 1.4826 * np.median(residual) + 1e-3
    inliers = (residual < 3 * sigma).astype(np.uint8) * 255
    inliers = cv2.erode(inliers, np.ones((5, 5), np.uint8))
    return inliers if inliers.mean() > 0.3 * 255 else np.full_like(inliers, 255)


def _standardised_residual(grey: np.ndarray, warped: np.ndarray) -> np.ndarray:
    """|a - b| of two (H, W) uint8 greys after a 5x5 blur and scaling each to zero mean, unit
    standard deviation (which ignores exposure): (H, W) float32."""
    a, b = (cv2.GaussianBlur(g.astype(np.float32), (5, 5), 0) for g in (grey, warped))
    return np.abs((a - a.mean()) / (a.std() + 1e-3) - (b - b.mean()) / (b.std() + 1e-3))


def _level_matrix(shape, side) -> np.ndarray:
    """(3, 3) map from full-resolution to level pixel coordinates (pixel centres kept aligned)."""
    width, height = level_size(shape, side)
    sx, sy = width / shape[1], height / shape[0]
    return np.array([[sx, 0, (sx - 1) / 2], [0, sy, (sy - 1) / 2], [0, 0, 1]])

"""Where the foreground stands in the scene prior: its depth inside the mask, in metres at the
working size (inference/prior.py's fusion uses it). Torch-free.

    placed = place_foreground(net_depth, mask, prior)   # (h, w) metres

Each object stands upright on the surface the prior sees just below it (upright_depth); one
with none (cut off by the picture's bottom, floating) takes the network's depth times one scale
that meets the scene around the mask's lowest part (foreground_scale). docs/scene-prior.md
measures these rules against others on engine scenes with their exact empty-scene depth.
"""

from __future__ import annotations

import cv2
import numpy as np

FOREGROUND_RING = 3  # px at the working size: the scene around the mask that sets its scale
CONTACT_SHARE = 0.25  # ... around the lowest quarter of the mask's rows, where it meets the scene
# (on 256 engine validation scenes with their exact empty-scene depth, foreground delta1 0.600
# against 0.565 for the whole ring and 0.568 for the whole scene: docs/scene-prior.md)
# Upright placement (upright_depth): an object stands on the surface just below it.
SUPPORT_ROWS = 0.25  # share of the height below an object searched for the surface it stands on
SUPPORT_MIN_PIXELS = 6  # known prior pixels there needed to fit that surface
OBJECT_GAP = 0.1  # parts of the mask this share of the height apart (vertically) are one object
ASSUMED_FOV_DEG = 65.0  # horizontal field of view taken for the camera (typical indoor cameras)
MAX_TILT_DEG = 75.0  # a surface whose horizon says the camera looks down more steeply is no floor


def foreground_scale(net_depth: np.ndarray, mask: np.ndarray, prior: np.ndarray) -> float:
    """The scale that places the network's depth on the scene: the median of prior / network
    over the scene pixels where the foreground meets it, the ring (FOREGROUND_RING wide) around
    the mask's lowest CONTACT_SHARE of rows (a person's feet on the floor, a thing on a desk),
    else the whole ring, else the whole scene (an empty mask, or no prior around it).
    net_depth, prior: (h, w) metres at the working size (prior 0 = unknown); mask (h, w) bool."""
    known = (prior > 0) & (net_depth > 0)
    if mask.any():
        kernel = np.ones((2 * FOREGROUND_RING + 1,) * 2, np.uint8)
        ring = cv2.dilate(mask.view(np.uint8), kernel).astype(bool) & ~mask & known
        rows = np.flatnonzero(mask.any(axis=1))
        contact = ring.copy()
        contact[: rows[-1] - int(CONTACT_SHARE * (rows[-1] - rows[0]))] = False
        for region in (contact, ring):
            if region.sum() >= 4:
                return float(np.median(prior[region] / net_depth[region]))
    scene = known & ~mask
    return float(np.median(prior[scene] / net_depth[scene])) if scene.any() else 1.0


def _support(prior: np.ndarray, bottom: int, columns: np.ndarray) -> tuple[float, float] | None:
    """(a, b) of 1 / depth = a * row + b, the surface seen just below an object (rows after
    `bottom`, its lowest columns), fitted to the prior; None when it is no floor or table top
    seen from above (too few known pixels, or not nearer row by row towards the bottom)."""
    height = prior.shape[0]
    band = prior[bottom + 1 : bottom + 1 + max(2, int(SUPPORT_ROWS * height)), columns]
    known = band > 0
    if known.sum() < SUPPORT_MIN_PIXELS or len(np.unique(np.nonzero(known)[0])) < 2:
        return None
    rows = np.broadcast_to(np.arange(bottom + 1, bottom + 1 + band.shape[0])[:, None], band.shape)
    a, b = np.polyfit(rows[known].astype(np.float64), 1.0 / band[known], 1)
    if a <= 0 or a * (bottom + 0.5) + b <= 0:
        return None
    return float(a), float(b)


def upright_depth(mask: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """(h, w) float32 metres inside `mask`, 0 where an object's depth could not be placed.

    Each object (the mask's parts, joined when less than OBJECT_GAP of the height apart
    vertically) is taken to stand upright on the surface seen just below it: its depth at its
    lowest row is that surface's there (1 / depth fitted as a line over the rows below, as a
    floor or table top gives in a pinhole camera), and above it the depth of a vertical plane
    facing the camera, which nears the camera with height when the camera looks down (its
    tilt from where the fitted surface's horizon lies, for ASSUMED_FOV_DEG), also one pixel
    around it. An object touching the picture's bottom, or with no such surface below it (one
    whose horizon says a tilt over MAX_TILT_DEG is a wall or noise), is left at 0.
    mask: (h, w) bool; prior: (h, w) metres, 0 = unknown, both at the working size."""
    height, width = mask.shape
    out = np.zeros(mask.shape, np.float32)
    gap = max(3, int(OBJECT_GAP * height)) | 1
    joined = cv2.morphologyEx(mask.view(np.uint8), cv2.MORPH_CLOSE, np.ones((gap, 3), np.uint8))
    count, labels = cv2.connectedComponents(joined, connectivity=8)
    focal = (width / 2) / np.tan(np.radians(ASSUMED_FOV_DEG) / 2)
    focal2, highest_horizon = focal ** 2, (height - 1) / 2 - np.tan(np.radians(MAX_TILT_DEG)) * focal
    centre = (height - 1) / 2
    rows = np.arange(height, dtype=np.float64)
    for label in range(1, count):
        component = labels == label
        part = component & mask
        used = np.flatnonzero(part.any(axis=1))
        if used.size == 0 or used[-1] >= height - 1:
            continue
        top, bottom = used[0], used[-1]
        lowest = part[max(top, bottom - max(1, (bottom - top) // 8)) : bottom + 1].any(axis=0)
        surface = _support(prior, bottom, np.flatnonzero(lowest))
        if surface is None:
            continue
        a, b = surface
        contact = 1.0 / (a * (bottom + 0.5) + b)
        horizon = -b / a
        if horizon < highest_horizon:  # nearly level rows: a wall or noise, not a floor
            continue
        # Looking down, vertical lines meet below the horizon at the nadir's row, and a foot
        # on the floor is always above it; a fit that says otherwise gets a constant depth.
        vanishing = centre + focal2 / (centre - horizon) if horizon < centre - 1 else np.inf
        if np.isfinite(vanishing) and vanishing > bottom + 1:
            profile = contact * (vanishing - bottom) / np.maximum(vanishing - rows, 1e-3)
        else:
            profile = np.full(height, contact)
        # one pixel around the object too: the full-size mask's edge falls between working pixels
        region = cv2.dilate(component.view(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        region &= out == 0
        out[region] = np.broadcast_to(profile[:, None], mask.shape)[region]
    return out


def place_foreground(net_depth: np.ndarray, mask: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """(h, w) float32 metres: the foreground's depth in the scene at the working size, defined
    everywhere (the full-size mask's edge falls between working pixels). Objects standing on a
    surface the prior sees take their upright depth (upright_depth); the rest (cut off by the
    picture's bottom, floating, no surface below) the network's depth times foreground_scale.
    net_depth, prior: (h, w) metres (prior 0 = unknown); mask (h, w) bool."""
    upright = upright_depth(mask, prior)
    scaled = net_depth * np.float32(foreground_scale(net_depth, mask, prior))
    return np.where(upright > 0, upright, scaled)

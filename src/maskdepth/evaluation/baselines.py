"""Classical foreground extraction and trivial depth maps, to show what the network buys.

Mask baselines (BASELINES) take uint8 RGB arrays (H, W, 3) of the image and the background and
return a bool mask (H, W), True = foreground. Depth baselines (DEPTH_BASELINES) take the true
depth (B, 1, H, W) metres, 0 = unknown, and return a map of the same shape: what a model must
beat to know anything about a scene's depth.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch


def absdiff_otsu(image: np.ndarray, background: np.ndarray, blur: int = 5, kernel: int = 5) -> np.ndarray:
    """Blur both photos, take the per-pixel largest channel difference, threshold it with Otsu's
    method, then open (remove specks) and close (fill holes) with a `kernel` px ellipse."""
    a = cv2.GaussianBlur(image, (blur, blur), 0).astype(np.int16)
    b = cv2.GaussianBlur(background, (blur, blur), 0).astype(np.int16)
    difference = np.abs(a - b).max(axis=2).astype(np.uint8)
    _, mask = cv2.threshold(difference, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    shape = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, shape)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, shape)
    return mask > 0


def mog2(image: np.ndarray, background: np.ndarray, priming: int = 20) -> np.ndarray:
    """OpenCV's MOG2 background subtractor, primed with `priming` copies of the background, then
    applied to the image without learning; pixels it labels as shadow count as background."""
    subtractor = cv2.createBackgroundSubtractorMOG2(history=priming, detectShadows=True)
    bgr_background = cv2.cvtColor(background, cv2.COLOR_RGB2BGR)
    for _ in range(priming):
        subtractor.apply(bgr_background, learningRate=1.0 / priming)
    labels = subtractor.apply(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), learningRate=0.0)
    return labels == 255  # 127 = shadow, 0 = background


BASELINES = {"absdiff": absdiff_otsu, "mog2": mog2}


ROOM_DEPTH = 2.7  # metres: a room-scale guess, the median depth of typical indoor photos


def constant_depth(true: torch.Tensor) -> torch.Tensor:
    """ROOM_DEPTH everywhere: no scene knowledge at all (its rank correlation is 0)."""
    return torch.full_like(true, ROOM_DEPTH)


def median_plane(true: torch.Tensor) -> torch.Tensor:
    """Each image's true median depth (over known pixels) everywhere: a flat map at the right
    scale, which no model can know from one photo; median scaling makes the constant map this."""
    known = true > 0
    median = torch.where(known, true, torch.full_like(true, float("nan"))).flatten(1).nanmedian(1).values
    return torch.nan_to_num(median, nan=ROOM_DEPTH).view(-1, 1, 1, 1).expand_as(true).clone()


DEPTH_BASELINES = {"constant 2.7 m": constant_depth, "median plane": median_plane}

"""Pictures for people: colour-mapped depth, mask overlays and contact sheets.

Images here are uint8 numpy arrays (H, W, 3) RGB unless stated otherwise.
"""

from __future__ import annotations

import cv2
import numpy as np

from maskdepth.io.images import depth_to_millimetres
from maskdepth.io.resize import shrink


def colorize_depth(depth_m: np.ndarray, max_depth: float | None = None) -> np.ndarray:
    """Turbo colour map of a depth map (H, W) in metres: near = red, far = blue, unknown (0) = black.

    max_depth: the metres mapped to the far end (default: the 99th percentile of known depth,
    estimated on every 4th row and column, which is plenty and 16x cheaper).
    """
    return colorize_depth_mm(depth_to_millimetres(depth_m),
                             None if max_depth is None else max_depth * 1000)


def colorize_depth_mm(depth_mm: np.ndarray, max_mm: float | None = None) -> np.ndarray:
    """colorize_depth of depth in uint16 millimetres (H, W) (what depth PNGs and videos hold):
    the same picture, with OpenCV's saturating integer arithmetic (a third of the time)."""
    if max_mm is None:
        sample = depth_mm[::4, ::4]
        known = sample[sample > 0]
        max_mm = float(np.percentile(known, 99)) if known.size else 1000.0
    near = cv2.bitwise_not(cv2.multiply(depth_mm, 255 / max(max_mm, 1e-3), dtype=cv2.CV_8U))
    rgb = cv2.cvtColor(cv2.applyColorMap(near, cv2.COLORMAP_TURBO), cv2.COLOR_BGR2RGB)
    unknown = depth_mm == 0
    if unknown.any():
        rgb[unknown] = 0
    return rgb


def side_by_side(image: np.ndarray, mask: np.ndarray, depth_mm: np.ndarray,
                 max_width: int | None = None) -> np.ndarray:
    """(h, 3w, 3) uint8: the image, the mask over it and the colour depth side by side (the
    view of a prediction). image (H, W, 3) uint8, mask (H, W) bool, depth_mm (H, W) uint16.
    max_width: shrink the panels so that the three fit (with even sides, as H.264 needs);
    None keeps the image's size."""
    height, width = image.shape[:2]
    if max_width is not None and 3 * width > max_width:
        scale = max_width / (3 * width)
        size = (max(2, round(height * scale) // 2 * 2), max(2, round(width * scale) // 2 * 2))
        image = shrink(image, size, last=cv2.INTER_LINEAR)
        mask = cv2.resize(np.ascontiguousarray(mask).view(np.uint8), size[::-1],
                          interpolation=cv2.INTER_NEAREST).view(bool)
        depth_mm = cv2.resize(depth_mm, size[::-1], interpolation=cv2.INTER_NEAREST)
    return np.concatenate([image, overlay_mask(image, mask), colorize_depth_mm(depth_mm)], axis=1)


def grey_to_rgb(values: np.ndarray) -> np.ndarray:
    """(H, W) values in [0, 1] (mask, probability, shadow) -> (H, W, 3) uint8 grey."""
    grey = (np.clip(values, 0, 1) * 255).round().astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def overlay_mask(image: np.ndarray, mask: np.ndarray, colour=(0, 255, 120), opacity=0.5) -> np.ndarray:
    """Tint the foreground (mask (H, W) bool) of an image and outline it."""
    image = np.ascontiguousarray(image)
    mask = np.ascontiguousarray(mask, bool).view(np.uint8)
    tint = cv2.add(cv2.addWeighted(image, 1 - opacity, image, 0, 0),  # OpenCV: no float copies
                   (*(float(c) * opacity for c in colour), 0.0))
    out = image.copy()
    cv2.copyTo(tint, mask, out)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, colour, 1)
    return out


def label(tile: np.ndarray, text: str) -> np.ndarray:
    """Write a small caption in the tile's top-left corner (white on a dark band)."""
    tile = tile.copy()
    cv2.rectangle(tile, (0, 0), (min(tile.shape[1], 8 + 7 * len(text)), 14), (0, 0, 0), -1)
    cv2.putText(tile, text, (3, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def contact_sheet(rows: list[list[np.ndarray]], titles: list[str] | None = None, gap: int = 2) -> np.ndarray:
    """Grid of equally sized tiles: rows[i][j] (H, W, 3) uint8 -> one (H', W', 3) uint8 image.
    `titles` label each column on the first row."""
    h, w = rows[0][0].shape[:2]
    cols = max(len(r) for r in rows)
    sheet = np.full((len(rows) * (h + gap) + gap, cols * (w + gap) + gap, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            if i == 0 and titles:
                tile = label(tile, titles[j])
            y, x = gap + i * (h + gap), gap + j * (w + gap)
            sheet[y : y + h, x : x + w] = tile
    return sheet

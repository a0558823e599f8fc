"""Contact sheets of datasets on disk (what was actually written, read back)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskdepth.io import images as imageio
from maskdepth.io.layout import read_manifest, shadow_path
from maskdepth.io.viz import colorize_depth, contact_sheet, grey_to_rgb


def dataset_sheet(manifest: str | Path, limit: int = 8) -> np.ndarray:
    """Rows of image, background, mask, depth (colour-mapped; black = unknown) and shadow for the
    first `limit` samples of a dataset."""
    rows = []
    for sample in read_manifest(manifest)[:limit]:
        image = imageio.read_rgb(sample.image)
        depth = imageio.read_depth(sample.depth) if sample.depth else np.zeros(image.shape[:2], np.float32)
        shadow_file = shadow_path(manifest, sample.id)
        shadow = imageio.read_shadow(shadow_file) if shadow_file.exists() else np.zeros_like(depth)
        rows.append([
            image,
            imageio.read_rgb(sample.background),
            grey_to_rgb(imageio.read_mask(sample.mask).astype(np.float32)),
            colorize_depth(depth, max_depth=max(float(depth.max()), 1.0)),
            grey_to_rgb(shadow * 2),
        ])
    return contact_sheet(rows, ["image", "background", "mask", "depth", "shadow"])

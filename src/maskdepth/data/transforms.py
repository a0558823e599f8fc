"""Paired transforms: every map of a sample resized or flipped together, with the same
parameters."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from maskdepth.batch import MAP_KEYS, Batch, SampleTensors


def resize_sample(sample: SampleTensors, height: int, width: int) -> SampleTensors:
    """Resize every map of a sample: area/bilinear for images and shadow, nearest for mask and
    depth (so that masks stay binary and depth is never blended across edges)."""
    if sample["image"].shape[-2:] == (height, width):
        return sample
    out = {}
    for key, value in sample.items():
        if value.dim() != 3:
            out[key] = value
            continue
        mode = "nearest-exact" if key in ("mask", "depth") else "area"
        if mode == "area" and value.shape[-1] < width:
            mode = "bilinear"
        kwargs = {"align_corners": False} if mode == "bilinear" else {}
        out[key] = F.interpolate(value[None], size=(height, width), mode=mode, **kwargs)[0]
    return out


def random_flip(batch: Batch, g: torch.Generator) -> Batch:
    """Mirror each sample of a batch (B, C, H, W maps) left-right with probability 1/2, all of
    its maps together."""
    b = batch["image"].shape[0]
    flip = (torch.rand(b, generator=g) < 0.5).view(b, 1, 1, 1).to(batch["image"].device)
    out = dict(batch)
    for key in MAP_KEYS:
        if key in batch:
            out[key] = torch.where(flip, batch[key].flip(-1), batch[key])
    return out

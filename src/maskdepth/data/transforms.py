"""Paired transforms: the same random parameters for every map of a sample."""

from __future__ import annotations

import torch

from maskdepth.data.batch import MAP_KEYS, Batch


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

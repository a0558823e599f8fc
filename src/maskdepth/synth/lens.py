"""Wide lenses: the barrel distortion of security and conference cameras, applied to a rendered
batch.

The scene is ray-cast through a pinhole; a wide lens then bends straight lines outwards. Each
output pixel at radius r (in units of the half diagonal) shows what the pinhole saw at radius
r * (1 + k r^2) / (1 + k): the centre is magnified by 1 / (1 + k), the corners stay where they
were, so the field of view is the pinhole's and every output pixel has a source inside the
frame. Colours are sampled bilinearly; mask and depths take the nearest source pixel, all from
the same one, so the mask stays exactly where the image is nearer than the background and every
depth is one the scene has (z-depth of the point shown).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SMOOTH = ("image", "background", "shadow")  # sampled bilinearly
EXACT = ("mask", "depth", "background_depth")  # sampled at the nearest source pixel


def distortion_grid(k: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, H, W, 2) grid_sample coordinates (align_corners False) of each output pixel's source
    for strengths k (B,) >= 0 (0 = no distortion)."""
    half_diagonal = (height**2 + width**2) ** 0.5 / 2
    x = (torch.arange(width, device=k.device) + 0.5 - width / 2) / half_diagonal
    y = (torch.arange(height, device=k.device) + 0.5 - height / 2) / half_diagonal
    y, x = torch.meshgrid(y, x, indexing="ij")
    k = k.view(-1, 1, 1).float()
    scale = (1 + k * (x * x + y * y)) / (1 + k)  # (B, H, W)
    gx = x * scale * half_diagonal / (width / 2)
    gy = y * scale * half_diagonal / (height / 2)
    return torch.stack([gx, gy], dim=-1)


def distort(batch: dict[str, torch.Tensor], k: torch.Tensor) -> dict[str, torch.Tensor]:
    """The batch's maps (B, C, H, W) as a lens of strength k (B,) on the CPU, 0 = pinhole, would
    show them; scenes with k = 0 are left as they are (not resampled)."""
    chosen = (k > 0).nonzero().flatten()
    if len(chosen) == 0:
        return batch
    height, width = batch["image"].shape[-2:]
    device = batch["image"].device
    grid = distortion_grid(k[chosen].to(device), height, width)
    on_device = chosen.to(device)
    out = dict(batch)
    for key in (*SMOOTH, *EXACT):
        if key not in batch:
            continue
        mode = "bilinear" if key in SMOOTH else "nearest"
        maps = batch[key][on_device].float()
        warped = F.grid_sample(maps, grid, mode=mode, padding_mode="border", align_corners=False)
        out[key] = batch[key].clone()
        out[key][on_device] = warped.to(batch[key].dtype)
    return out

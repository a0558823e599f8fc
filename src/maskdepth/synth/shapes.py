"""Signed distance functions and small pattern helpers for procedural drawing.

All functions are pure and broadcast: points are tensors of any shape in the same units as the
shape parameters; a negative distance is inside the shape.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def uniform(shape, bounds: tuple[float, float], g: torch.Generator) -> torch.Tensor:
    """Samples uniform in [low, high] of the given shape (an int or a tuple)."""
    low, high = bounds
    return low + (high - low) * torch.rand(shape, generator=g)


def sdf_circle(x: torch.Tensor, y: torch.Tensor, cx, cy, radius) -> torch.Tensor:
    """Distance to a disc centred at (cx, cy)."""
    return torch.sqrt((x - cx) ** 2 + (y - cy) ** 2) - radius


def sdf_box(x: torch.Tensor, y: torch.Tensor, cx, cy, half_w, half_h, round_=0.0) -> torch.Tensor:
    """Distance to an axis-aligned rectangle (optionally with rounded corners of radius `round_`)."""
    qx = (x - cx).abs() - half_w + round_
    qy = (y - cy).abs() - half_h + round_
    outside = torch.sqrt(qx.clamp(min=0) ** 2 + qy.clamp(min=0) ** 2)
    inside = torch.maximum(qx, qy).clamp(max=0)
    return outside + inside - round_


def sdf_capsule(x: torch.Tensor, y: torch.Tensor, ax, ay, bx, by, radius) -> torch.Tensor:
    """Distance to a segment from (ax, ay) to (bx, by) thickened by `radius`."""
    px, py = x - ax, y - ay
    dx, dy = bx - ax, by - ay
    h = ((px * dx + py * dy) / (dx * dx + dy * dy + 1e-9)).clamp(0, 1)
    return torch.sqrt((px - h * dx) ** 2 + (py - h * dy) ** 2) - radius


def coverage(distance: torch.Tensor, pixel: float) -> torch.Tensor:
    """Anti-aliased coverage in [0, 1] of a shape whose signed distance is given, for a pixel size."""
    return (0.5 - distance / pixel).clamp(0, 1)


def periodic_noise(n: int, cells: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """Smooth value noise that tiles seamlessly: (n, 1, size, size) in [0, 1].

    `cells` random values per side are interpolated bicubically with wrap-around padding, so the
    left edge continues the right edge (textures repeat without seams).
    """
    values = torch.rand(n, 1, cells, cells, generator=generator)
    padded = F.pad(values, (2, 2, 2, 2), mode="circular")
    scale = size / cells
    up = F.interpolate(padded, scale_factor=scale, mode="bicubic", align_corners=False)
    start = round(2 * scale)
    return up[..., start : start + size, start : start + size].clamp(0, 1)


def box_blur(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Separable box blur of a (N, C, H, W) tensor with edge replication."""
    if radius <= 0:
        return x
    k = 2 * radius + 1
    x = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    x = F.avg_pool2d(x, (k, 1), stride=1)
    return F.avg_pool2d(x, (1, k), stride=1)


def random_colour(n: int, g: torch.Generator, lo=(0.05,) * 3, hi=(0.95,) * 3,
                  saturation: float = 0.75) -> torch.Tensor:
    """Random RGB colours (n, 3, 1, 1) drawn per channel between `lo` and `hi`, then pulled
    towards grey by a random factor so that most colours are as muted as real paint and cloth."""
    lo_t, hi_t = torch.tensor(lo).view(1, 3, 1, 1), torch.tensor(hi).view(1, 3, 1, 1)
    colour = lo_t + (hi_t - lo_t) * torch.rand(n, 3, 1, 1, generator=g)
    grey = colour.mean(dim=1, keepdim=True)
    return grey + (colour - grey) * saturation * torch.rand(n, 1, 1, 1, generator=g)


def contact_shadow(dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Darkness in [0, 0.8] of a soft contact shadow at offsets (dx, dy) from its centre, in
    units of its radii: darkest at the centre, gone beyond 1.5 radii (a cheap Gaussian look-alike)."""
    return 0.8 * (1 - (dx * dx + dy * dy) / 1.5).clamp(min=0) ** 2


@torch.compiler.disable
def sample_bilinear(image: torch.Tensor, grid: torch.Tensor, padding_mode: str = "zeros") -> torch.Tensor:
    """F.grid_sample, bilinear, align_corners=False: image (B, C, h, w), grid (B, H, W, 2) in
    [-1, 1] -> (B, C, H, W). Kept out of torch.compile graphs: the compiled form of grid_sample
    is several times slower on CPU than the eager kernel, while the code around it fuses well."""
    return F.grid_sample(image, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)

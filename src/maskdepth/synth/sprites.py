"""Foreground sprites: procedural people-like figures and furniture, and user RGBA cut-outs.

A sprite is an upright billboard with a physical size. Its image covers the billboard rectangle
`[-width/2, width/2] x [0, height]` metres (row 0 is the top), with channels
`SPRITE_CHANNELS`: colour (RGB in [0, 1]), alpha (coverage in [0, 1]), relief (0 at the outline,
1 at the thickest point; the surface bulges towards the camera by `relief * thickness`), and a
blurred alpha used to cast soft shadows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from maskdepth.synth.shapes import (
    box_blur,
    coverage,
    random_colour,
    sdf_box,
    sdf_capsule,
    sdf_circle,
    uniform,
)

SPRITE_CHANNELS = ("r", "g", "b", "alpha", "relief", "soft_alpha")


@dataclass
class SpriteBank:
    """A set of sprites.

    pixels: (N, 6, S, S) float, channels as in SPRITE_CHANNELS.
    size_m: (N, 2) float, billboard width and height in metres.
    thickness_m: (N,) float, how far the thickest point stands in front of the billboard plane.
    is_furniture: (N,) bool, furniture (also used as static clutter in backgrounds) vs people.
    """

    pixels: torch.Tensor
    size_m: torch.Tensor
    thickness_m: torch.Tensor
    is_furniture: torch.Tensor

    def __len__(self) -> int:
        return self.pixels.shape[0]

    @staticmethod
    def cat(banks: list[SpriteBank]) -> SpriteBank:
        return SpriteBank(*(torch.cat([getattr(b, f) for b in banks]) for f in
                            ("pixels", "size_m", "thickness_m", "is_furniture")))


def _colour(n: int, g: torch.Generator, lo=(0.05,) * 3, hi=(0.95,) * 3) -> torch.Tensor:
    return random_colour(n, g, lo, hi, saturation=0.75)


class _Canvas:
    """Paints parts of n sprites in metric coordinates, back to front."""

    def __init__(self, width: torch.Tensor, height: torch.Tensor, res: int):
        # width, height: (n, 1, 1, 1) metres. Texel centres in billboard metres.
        axis = (torch.arange(res) + 0.5) / res
        self.x = (axis.view(1, 1, 1, res) - 0.5) * width
        self.y = (1 - axis.view(1, 1, res, 1)) * height
        self.pixel = (torch.maximum(width, height) / res).clamp(min=1e-3)
        n = width.shape[0]
        self.rgb = torch.zeros(n, 3, res, res)
        self.alpha = torch.zeros(n, 1, res, res)
        self.relief = torch.zeros(n, 1, res, res)

    def paint(self, distance: torch.Tensor, colour: torch.Tensor, roundness) -> None:
        """Paint a part given its signed distance (n,1,S,S), colour (n,3,1,1), bulge radius."""
        cov = coverage(distance, self.pixel)
        bulge = (-distance / roundness).clamp(0, 1).sqrt()
        self.rgb = self.rgb + (colour * (0.6 + 0.4 * bulge) - self.rgb) * cov
        self.relief = torch.where(cov > 0.5, torch.maximum(self.relief, bulge), self.relief)
        self.alpha = torch.maximum(self.alpha, cov)


def _skin(n: int, g: torch.Generator) -> torch.Tensor:
    tone = torch.rand(n, 1, 1, 1, generator=g)
    dark, light = torch.tensor([0.25, 0.15, 0.1]), torch.tensor([0.95, 0.78, 0.65])
    return dark.view(1, 3, 1, 1) + (light - dark).view(1, 3, 1, 1) * tone


def people(n: int, res: int, g: torch.Generator) -> SpriteBank:
    """People-like figures: head, hair, torso, arms, legs and shoes, in varied poses and clothes."""
    H = uniform((n, 1, 1, 1), (1.1, 1.95), g)
    W = 0.85 * H
    c = _Canvas(W, H, res)
    x, y = c.x, c.y
    skin, shirt, trousers = _skin(n, g), _colour(n, g), _colour(n, g, hi=(0.6,) * 3)
    hair = _colour(n, g, (0.02, 0.02, 0.02), (0.5, 0.35, 0.2))
    spread = uniform((n, 1, 1, 1), (-0.01, 0.06), g) * H
    for side in (-1, 1):
        hip_x, foot_x = side * 0.055 * H, side * (0.055 * H + spread)
        c.paint(sdf_capsule(x, y, hip_x, 0.5 * H, foot_x, 0.06 * H, 0.05 * H), trousers, 0.05 * H)
        c.paint(sdf_box(x, y, foot_x + side * 0.01 * H, 0.02 * H, 0.05 * H, 0.02 * H, 0.015 * H),
                _colour(n, g, hi=(0.3,) * 3), 0.02 * H)
    dress = (torch.rand(n, 1, 1, 1, generator=g) < 0.25).float()
    skirt = sdf_box(x, y, 0.0, 0.42 * H, 0.15 * H, 0.12 * H, 0.04 * H) + (1 - dress) * 10
    c.paint(skirt, shirt, 0.1 * H)
    torso_w = uniform((n, 1, 1, 1), (0.1, 0.14), g) * H
    c.paint(sdf_box(x, y, 0.0, 0.65 * H, torso_w, 0.15 * H, 0.05 * H), shirt, 0.12 * H)
    for side in (-1, 1):
        angle = uniform((n, 1, 1, 1), (0.05, 0.5), g) + (torch.rand(n, 1, 1, 1, generator=g) < 0.15) * 0.5
        sx, sy = side * (torso_w - 0.02 * H), 0.77 * H
        hx = sx + side * torch.sin(angle) * 0.34 * H
        hy = sy - torch.cos(angle) * 0.34 * H
        c.paint(sdf_capsule(x, y, sx, sy, hx, hy, 0.035 * H), shirt * 0.9, 0.035 * H)
        c.paint(sdf_circle(x, y, hx, hy, 0.03 * H), skin, 0.03 * H)
    c.paint(sdf_capsule(x, y, 0.0, 0.79 * H, 0.0, 0.86 * H, 0.025 * H), skin, 0.025 * H)
    head_y = 0.925 * H
    c.paint(sdf_circle(x, y, 0.0, head_y, 0.068 * H), skin, 0.068 * H)
    cap = torch.maximum(sdf_circle(x, y, 0.0, head_y + 0.008 * H, 0.072 * H), head_y + 0.01 * H - y)
    c.paint(cap, hair, 0.07 * H)
    return _finish(c, W, H, torch.full((n,), 0.25), torch.zeros(n, dtype=torch.bool))


def _chairs(n, g, c, W, H):
    fabric, frame = _colour(n, g), _colour(n, g, hi=(0.5,) * 3)
    x, y = c.x, c.y
    c.paint(sdf_box(x, y, 0.0, 0.05 * H, 0.45 * W, 0.03 * H, 0.02 * H), frame, 0.05)
    c.paint(sdf_box(x, y, 0.0, 0.25 * H, 0.03 * W, 0.2 * H), frame, 0.03)
    c.paint(sdf_box(x, y, 0.0, 0.47 * H, 0.48 * W, 0.04 * H, 0.02 * H), fabric, 0.1)
    c.paint(sdf_box(x, y, 0.0, 0.74 * H, 0.42 * W, 0.24 * H, 0.06 * H), fabric, 0.15)


def _desks(n, g, c, W, H):
    top, legs = _colour(n, g, (0.3, 0.2, 0.1), (0.95, 0.9, 0.85)), _colour(n, g, hi=(0.6,) * 3)
    x, y = c.x, c.y
    for side in (-1, 1):
        c.paint(sdf_box(x, y, side * 0.46 * W, 0.48 * H, 0.025 * W, 0.48 * H), legs, 0.03)
    drawers = (torch.rand(n, 1, 1, 1, generator=g) < 0.5).float()
    unit = sdf_box(x, y, 0.3 * W, 0.48 * H, 0.15 * W, 0.45 * H, 0.01) + (1 - drawers) * 10
    c.paint(unit, top * 0.85, 0.05)
    c.paint(sdf_box(x, y, 0.0, 0.965 * H, 0.5 * W, 0.035 * H, 0.01), top, 0.03)


def _cabinets(n, g, c, W, H):
    body = _colour(n, g, (0.2, 0.2, 0.2), (0.95, 0.92, 0.88))
    x, y = c.x, c.y
    c.paint(sdf_box(x, y, 0.0, 0.5 * H, 0.5 * W, 0.5 * H, 0.01), body, 0.08)
    shelves = torch.randint(2, 6, (n, 1, 1, 1), generator=g).float()
    band = (y / H * shelves) % 1.0
    line = torch.where(band < 0.04, -1.0, 1.0) + sdf_box(x, y, 0, 0.5 * H, 0.47 * W, 0.47 * H).clamp(min=0) * 100
    c.paint(line, body * 0.55, 0.01)
    c.paint(sdf_box(x, y, 0.3 * W, 0.5 * H, 0.02 * W, 0.06 * H, 0.005), body * 0.4, 0.01)


def _plants(n, g, c, W, H):
    pot, leaf = _colour(n, g, (0.3, 0.2, 0.1), (0.9, 0.8, 0.7)), _colour(n, g, (0.05, 0.2, 0.05), (0.4, 0.7, 0.3))
    x, y = c.x, c.y
    c.paint(sdf_box(x, y, 0.0, 0.14 * H, 0.22 * W, 0.14 * H, 0.02), pot, 0.1)
    for _ in range(7):
        cx, cy = uniform((n, 1, 1, 1), (-0.3, 0.3), g) * W, uniform((n, 1, 1, 1), (0.45, 0.8), g) * H
        r = uniform((n, 1, 1, 1), (0.12, 0.2), g) * torch.minimum(W, H)
        c.paint(sdf_circle(x, y, cx, cy, r), leaf * uniform((n, 1, 1, 1), (0.7, 1.2), g), r)


def _sofas(n, g, c, W, H):
    fabric = _colour(n, g)
    x, y = c.x, c.y
    c.paint(sdf_box(x, y, 0.0, 0.68 * H, 0.45 * W, 0.3 * H, 0.08 * H), fabric * 0.9, 0.2)
    c.paint(sdf_box(x, y, 0.0, 0.3 * H, 0.5 * W, 0.22 * H, 0.05 * H), fabric, 0.2)
    for side in (-1, 1):
        c.paint(sdf_box(x, y, side * 0.45 * W, 0.4 * H, 0.05 * W, 0.3 * H, 0.04 * H), fabric * 1.05, 0.1)


FURNITURE = {  # kind: (painter, width range m, height range m)
    "chair": (_chairs, (0.45, 0.65), (0.8, 1.15)),
    "desk": (_desks, (0.9, 1.6), (0.7, 0.8)),
    "cabinet": (_cabinets, (0.4, 1.0), (0.8, 2.0)),
    "plant": (_plants, (0.4, 0.8), (0.6, 1.6)),
    "sofa": (_sofas, (1.4, 2.2), (0.75, 0.95)),
}


def furniture(n: int, res: int, g: torch.Generator) -> SpriteBank:
    """Furniture-like shapes (chairs, desks, cabinets, plants, sofas), about n in all."""
    per_kind = max(1, math.ceil(n / len(FURNITURE)))
    banks = []
    for paint, (w_lo, w_hi), (h_lo, h_hi) in FURNITURE.values():
        W, H = uniform((per_kind, 1, 1, 1), (w_lo, w_hi), g), uniform((per_kind, 1, 1, 1), (h_lo, h_hi), g)
        canvas = _Canvas(W, H, res)
        paint(per_kind, g, canvas, W, H)
        banks.append(_finish(canvas, W, H, torch.full((per_kind,), 0.3),
                             torch.ones(per_kind, dtype=torch.bool)))
    return SpriteBank.cat(banks)


def _finish(c: _Canvas, W, H, thickness, is_furniture) -> SpriteBank:
    res = c.alpha.shape[-1]
    soft = box_blur(c.alpha, max(1, res // 24))
    pixels = torch.cat([c.rgb.clamp(0, 1), c.alpha, c.relief, soft], dim=1)
    size = torch.stack([W.flatten(), H.flatten()], dim=1)
    return SpriteBank(pixels, size, thickness, is_furniture)


def load_cutouts(folder: str | Path, res: int, g: torch.Generator) -> SpriteBank:
    """Load RGBA cut-outs (PNG with transparency) from `folder` as sprites.

    Each is cropped to its alpha's bounding box and resized to res x res; its physical height is
    drawn between 0.9 and 1.9 m (the photo does not say), the width follows its aspect ratio.
    """
    from maskdepth.errors import UserError
    from maskdepth.io.images import read_rgba
    from maskdepth.tensors.convert import from_numpy_image

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".png", ".webp"))
    if not files:
        raise UserError(f"no RGBA cut-outs (.png with transparency) found in {folder}")
    pixels, sizes = [], []
    for path in files:
        rgba = from_numpy_image(read_rgba(path))  # (4, h, w)
        rows, cols = (rgba[3] > 0.5).any(1).nonzero(), (rgba[3] > 0.5).any(0).nonzero()
        if len(rows) == 0:
            raise UserError(f"{path}: the cut-out is fully transparent; remove it or fix its alpha")
        rgba = rgba[:, rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        aspect = rgba.shape[2] / rgba.shape[1]
        height = 0.9 + 1.0 * torch.rand((), generator=g).item()
        pixels.append(F.interpolate(rgba[None], size=(res, res), mode="area")[0])
        sizes.append((height * aspect, height))
    rgba = torch.stack(pixels)
    relief = box_blur(rgba[:, 3:4], max(1, res // 8)).clamp(0, 1).sqrt() * rgba[:, 3:4]
    soft = box_blur(rgba[:, 3:4], max(1, res // 24))
    bank_pixels = torch.cat([rgba, relief, soft], dim=1)
    n = len(files)
    return SpriteBank(bank_pixels, torch.tensor(sizes), torch.full((n,), 0.2),
                      torch.zeros(n, dtype=torch.bool))

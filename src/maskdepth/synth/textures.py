"""Procedural, seamlessly tiling surface textures for floors, walls and ceilings.

A texture is (3, T, T) float RGB in [0, 1] covering one tile of the surface; the renderer repeats
it every `tile_m` metres. Banks are made once per engine from its seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from maskdepth.synth.kernels.compiled import kernel_array
from maskdepth.synth.shapes import periodic_noise, random_colour, uniform


@dataclass
class TextureBanks:
    """Texture banks by surface: each (N, 3, T, T) float in [0, 1]."""

    floor: torch.Tensor
    wall: torch.Tensor
    ceiling: torch.Tensor

    def stacked(self) -> tuple[np.ndarray, torch.Tensor]:
        """All banks in one float32 array (floor, wall, ceiling rows) and the (3,) int64 offsets
        of the three banks in it, made once (and again only if a bank is replaced)."""
        banks = (self.floor, self.wall, self.ceiling)
        made_from = getattr(self, "_stacked_from", ())
        if len(made_from) != 3 or any(a is not b for a, b in zip(made_from, banks)):
            array = kernel_array(torch.cat(banks))
            offsets = torch.tensor([0, len(self.floor), len(self.floor) + len(self.wall)])
            self._stacked, self._stacked_from = (array, offsets), banks
        return self._stacked


def _colour(n: int, g: torch.Generator, lo=(0.05,) * 3, hi=(0.95,) * 3) -> torch.Tensor:
    return random_colour(n, g, lo, hi, saturation=0.45)


def _grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Texel-centre coordinates (1, 1, T, T) in [0, 1)."""
    axis = (torch.arange(size) + 0.5) / size
    return axis.view(1, 1, 1, size), axis.view(1, 1, size, 1)


def plaster(n: int, size: int, g: torch.Generator, lo: tuple, hi: tuple) -> torch.Tensor:
    """Painted plaster: a flat colour with faint low-frequency blotches."""
    base = _colour(n, g, lo, hi)
    blotch = periodic_noise(n, 4, size, g) - 0.5
    fine = periodic_noise(n, 16, size, g) - 0.5
    return base * (1 + 0.12 * blotch + 0.05 * fine)


def tiles(n: int, size: int, g: torch.Generator, lo: tuple, hi: tuple) -> torch.Tensor:
    """Square tiles with grout lines and a per-tile shade; 2 to 4 tiles per texture side."""
    x, y = _grid(size)
    per_side = torch.randint(2, 5, (n, 1, 1, 1), generator=g).float()
    tx, ty = x * per_side, y * per_side
    fx, fy = tx - tx.floor(), ty - ty.floor()
    grout_w = uniform((n, 1, 1, 1), (0.02, 0.07), g)
    grout = ((fx < grout_w) | (fy < grout_w)).float()
    tile_id = (tx.floor() * 7 + ty.floor() * 13) % 5 / 5.0
    base, grout_colour = _colour(n, g, lo, hi), _colour(n, g, (0.3,) * 3, (0.8,) * 3)
    checker = torch.rand(n, 1, 1, 1, generator=g) < 0.3
    alt = torch.where(checker, 1 - base, base)
    parity = ((tx.floor() + ty.floor()) % 2).bool()
    face = torch.where(parity & checker, alt, base) * (0.92 + 0.16 * tile_id)
    return face * (1 - grout) + grout_colour * grout


def wood(n: int, size: int, g: torch.Generator, lo: tuple, hi: tuple) -> torch.Tensor:
    """Wooden planks: stripes along x with per-plank shade and wavy grain."""
    x, y = _grid(size)
    planks = torch.randint(3, 7, (n, 1, 1, 1), generator=g).float()
    py = y * planks
    plank_id = py.floor()
    seam = ((py - plank_id) < 0.05).float()
    warp = periodic_noise(n, 4, size, g)
    grain_freq = torch.randint(3, 9, (n, 1, 1, 1), generator=g).float()
    grain = torch.sin(2 * math.pi * (grain_freq * x + 3 * warp + plank_id * 0.37))
    shade = 0.85 + 0.3 * ((plank_id * 0.618) % 1.0)
    base = _colour(n, g, lo, hi)
    return base * shade * (1 + 0.1 * grain) * (1 - 0.45 * seam)


def carpet(n: int, size: int, g: torch.Generator, lo: tuple, hi: tuple) -> torch.Tensor:
    """Carpet: a colour with dense speckle and a soft large-scale pattern."""
    base = _colour(n, g, lo, hi)
    speckle = periodic_noise(n, 32, size, g) - 0.5
    broad = periodic_noise(n, 3, size, g) - 0.5
    return base * (1 + 0.35 * speckle + 0.15 * broad)


def stripes(n: int, size: int, g: torch.Generator, lo: tuple, hi: tuple) -> torch.Tensor:
    """Wallpaper-like vertical stripes or soft dots on a base colour."""
    x, y = _grid(size)
    count = torch.randint(2, 8, (n, 1, 1, 1), generator=g).float()
    band = 0.5 + 0.5 * torch.sin(2 * math.pi * count * x)
    dots = ((torch.sin(2 * math.pi * count * x) * torch.sin(2 * math.pi * count * y)) > 0.7).float()
    use_dots = torch.rand(n, 1, 1, 1, generator=g) < 0.4
    pattern = torch.where(use_dots, dots, band)
    base, accent = _colour(n, g, lo, hi), _colour(n, g, lo, hi)
    return base + (accent - base) * pattern * uniform((n, 1, 1, 1), (0.2, 0.6), g)


def _mix(kinds, weights, n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """Draw `n` textures, choosing the generator of each from `kinds` with `weights`."""
    choice = torch.multinomial(torch.tensor(weights, dtype=torch.float), n, True, generator=g)
    out = torch.empty(n, 3, size, size)
    for k, (make, lo, hi) in enumerate(kinds):
        idx = (choice == k).nonzero().flatten()
        if len(idx):
            out[idx] = make(len(idx), size, g, lo, hi)
    return out.clamp(0, 1)


def make_texture_banks(n: int, size: int, g: torch.Generator) -> TextureBanks:
    """Make `n` textures per surface kind at `size` x `size` texels."""
    floor_kinds = [
        (wood, (0.35, 0.2, 0.1), (0.8, 0.6, 0.4)),
        (tiles, (0.4, 0.4, 0.4), (0.95, 0.92, 0.9)),
        (carpet, (0.15, 0.15, 0.15), (0.6, 0.55, 0.55)),
        (plaster, (0.3, 0.3, 0.3), (0.7, 0.7, 0.7)),
    ]
    wall_kinds = [
        (plaster, (0.6, 0.6, 0.6), (0.98, 0.97, 0.95)),
        (plaster, (0.3, 0.3, 0.35), (0.9, 0.85, 0.8)),
        (stripes, (0.5, 0.5, 0.5), (0.95, 0.95, 0.9)),
        (tiles, (0.6, 0.6, 0.6), (0.98, 0.98, 0.98)),
        (wood, (0.4, 0.25, 0.15), (0.8, 0.65, 0.5)),
    ]
    ceiling_kinds = [
        (plaster, (0.8, 0.8, 0.8), (1.0, 1.0, 1.0)),
        (tiles, (0.75, 0.75, 0.75), (0.98, 0.98, 0.98)),
    ]
    return TextureBanks(
        floor=_mix(floor_kinds, [3, 3, 2, 1], n, size, g),
        wall=_mix(wall_kinds, [4, 2, 1, 1, 1], n, size, g),
        ceiling=_mix(ceiling_kinds, [3, 1], n, size, g),
    )

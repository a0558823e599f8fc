"""Windows on a room's back wall: where they are and how they are painted over the room."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from maskdepth.synth.engine.room import BACK, Room, RoomHit
from maskdepth.synth.shapes import uniform


@dataclass
class Window:
    """A window on the back wall (room frame, metres); fields (B, 1, 1); half_width 0 = none."""

    centre_x: torch.Tensor
    centre_y: torch.Tensor
    half_width: torch.Tensor
    half_height: torch.Tensor
    sky: torch.Tensor  # (B, 3, 1, 1) colour of the view outside


def sample_windows(b: int, room: Room, present: torch.Tensor, g: torch.Generator) -> Window:
    """Windows on the back wall of the scenes where `present` (B,) is true."""
    centre_x = -room.left + (room.left + room.right) * uniform((b, 1, 1), (0.2, 0.8), g)
    half_w = uniform((b, 1, 1), (0.4, 1.2), g) * present.view(b, 1, 1)
    centre_y = room.ceiling * uniform((b, 1, 1), (0.5, 0.65), g)
    half_h = room.ceiling * uniform((b, 1, 1), (0.15, 0.3), g)
    sky = torch.tensor([0.75, 0.85, 1.0]).view(1, 3, 1, 1) * uniform((b, 1, 1), (0.85, 1.0), g).unsqueeze(1)
    return Window(centre_x, centre_y, half_w, half_h, sky)


def paint_windows(colour: torch.Tensor, hit: RoomHit, window: Window) -> torch.Tensor:
    """Paint the window (brighter at the bottom, like a sky over the horizon) over `colour`."""
    inside = ((hit.surface == BACK) & ((hit.x - window.centre_x).abs() < window.half_width)
              & (hit.beyond == 0)
              & ((hit.y - window.centre_y).abs() < window.half_height))
    rise = (hit.y - window.centre_y) / window.half_height.clamp(min=1e-3)
    glow = window.sky * (1.05 - 0.25 * rise).unsqueeze(1)
    return torch.lerp(colour, glow, inside.unsqueeze(1).float())

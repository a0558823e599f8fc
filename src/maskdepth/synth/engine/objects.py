"""Upright billboard objects standing on the floor: placement, rendering with occlusion, shadows.

An object is a sprite (see sprites.py) on a vertical plane facing the camera's heading, at
heading-frame position (x, z) with its bottom on the floor. Exact perspective comes from
intersecting each pixel's ray with that plane, so size falls with distance as it should.
Placement draws random numbers; drawing and shadows are pure functions of the placement.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from maskdepth.synth.engine.room import Lighting, Rays, Room
from maskdepth.synth.shapes import contact_shadow, sample_bilinear, uniform
from maskdepth.synth.sprites import SpriteBank


@dataclass
class Placement:
    """B objects, one per scene; fields (B, 1, 1) unless noted, heading frame, metres.

    bank: (N, 6, S, S) all sprites (channels as in sprites.SPRITE_CHANNELS), shared, not copied;
    sprite: (B,) int64 index of each object's sprite in it.
    present: (B, 1, 1) float, 1 where the scene has this object. flip: +1 or -1 (mirrored).
    """

    bank: torch.Tensor
    sprite: torch.Tensor
    x: torch.Tensor
    z: torch.Tensor
    width: torch.Tensor
    height: torch.Tensor
    thickness: torch.Tensor
    flip: torch.Tensor
    present: torch.Tensor

    @property
    def pixels(self) -> torch.Tensor:
        """(B, 6, S, S) the sprite of each object."""
        return self.bank[self.sprite]


def _placement(bank: SpriteBank, sprite: torch.Tensor, x, z, present, g) -> Placement:
    b = sprite.shape[0]
    jitter = uniform((b, 1, 1), (0.88, 1.12), g)
    size = bank.size_m[sprite].view(b, 2, 1)
    flip = torch.where(torch.rand(b, 1, 1, generator=g) < 0.5, -1.0, 1.0)
    return Placement(bank.pixels, sprite, x, z, size[:, :1] * jitter, size[:, 1:] * jitter,
                     bank.thickness_m[sprite].view(b, 1, 1), flip, present.view(b, 1, 1).float())


def _inside_room(x, z, room: Room, margin) -> tuple[torch.Tensor, torch.Tensor]:
    """Move heading-frame points into the room, `margin` metres from the walls."""
    rx, rz = room.to_room(x, z)
    rx = torch.maximum(torch.minimum(rx, room.right - margin), -room.left + margin)
    rz = torch.maximum(torch.minimum(rz, room.back - margin), -room.front + margin)
    return room.to_heading(rx, rz)


def place_foreground(bank: SpriteBank, sprite: torch.Tensor, rays: Rays, room: Room,
                     present: torch.Tensor, min_distance: float, g: torch.Generator,
                     close_min_distance: float | None = None) -> Placement:
    """Stand sprites (B,) (indices into bank) in view, inside the room, nearer ones more often:
    min_distance metres or more away (close_min_distance for close cameras, rays.close). For a
    camera mounted high and looking down, no nearer than where its view meets the floor."""
    b = present.shape[0]
    least = torch.full((b, 1, 1), float(min_distance))
    if rays.close is not None and close_min_distance is not None:
        least = torch.where(rays.close, float(close_min_distance), least)
    near = least
    if rays.corner is not None:
        half_vertical = torch.atan((rays.dy.shape[1] / 2) / rays.focal)
        floor_in_view = rays.camera_height / torch.tan(rays.pitch + half_vertical)
        near = torch.where(rays.corner, torch.clamp(floor_in_view, min=min_distance), near)
    z = near + torch.rand(b, 1, 1, generator=g) ** 2 * (room.back + 0.5)
    tan_half_fov = rays.dx.abs().amax(dim=2, keepdim=True)
    x = z * tan_half_fov * uniform((b, 1, 1), (-0.9, 0.9), g)
    margin = bank.size_m[sprite, 0].view(b, 1, 1) / 2 + 0.15
    x, z = _inside_room(x, z, room, margin)
    return _placement(bank, sprite, x, z, present.view(b, 1, 1) & (z > 0.6 * least), g)


def place_clutter(bank: SpriteBank, sprite: torch.Tensor, room: Room, present: torch.Tensor,
                  g: torch.Generator) -> Placement:
    """Stand sprites (B,) (furniture) against the back wall of the room."""
    b = present.shape[0]
    rz = room.back - uniform((b, 1, 1), (0.3, 0.8), g)
    rx = -room.left + (room.left + room.right) * torch.rand(b, 1, 1, generator=g)
    x, z = room.to_heading(rx, rz)
    x, z = _inside_room(x, z, room, bank.size_m[sprite, 0].view(b, 1, 1) / 2 + 0.1)
    return _placement(bank, sprite, x, z, present.view(b, 1, 1) & (z > 0.5), g)


def _sample_sprite(channels: torch.Tensor, p: Placement, px: torch.Tensor, py: torch.Tensor):
    """Sample sprite channels (B, C, S, S) at billboard points (px, py) in metres (heading-frame x,
    height above the floor); outside the sprite everything is 0."""
    gx = 2 * p.flip * (px - p.x) / p.width
    gy = 1 - 2 * py / p.height
    grid = torch.stack(torch.broadcast_tensors(gx, gy), dim=-1)
    return sample_bilinear(channels, grid)


def draw(colour, depth, p: Placement, rays: Rays, light_factor: torch.Tensor):
    """Draw objects over `colour` (B,3,H,W) with a depth test against `depth` (B,H,W) metres.

    light_factor: (B, 1, 1, 1) brightness of the object. Returns the new colour and depth and the
    object's visible hard mask (B, H, W) bool (alpha > 0.5 and in front of what was there).
    """
    t = p.z / rays.dz  # (B, H, 1): z-depth of the billboard plane along each row's rays
    px, py = t * rays.dx, rays.camera_height + t * rays.dy
    sampled = _sample_sprite(p.pixels[:, :5], p, px, py)  # (B, 5, H, W)
    rgb, alpha, relief = sampled[:, :3], sampled[:, 3], sampled[:, 4]
    obj_depth = t - relief * p.thickness
    alpha = alpha * ((obj_depth < depth) & (t > 0)) * p.present
    # torch.lerp with a 0/1 weight selects exactly, and is much faster on CPU than torch.where.
    colour = torch.lerp(colour, rgb * light_factor, alpha.unsqueeze(1))
    visible = alpha > 0.5
    return colour, torch.lerp(depth, obj_depth, visible.float()), visible


def light_at(light: Lighting, room: Room, p: Placement) -> torch.Tensor:
    """Brightness (B, 1, 1, 1) of an object from the room light, as for a surface facing it."""
    rx, rz = room.to_room(p.x, p.z)
    dist2 = (light.x - rx) ** 2 + (light.y - p.height / 2) ** 2 + (light.z - rz) ** 2
    return (light.ambient + 0.7 * light.power / dist2).clamp(max=1.4).unsqueeze(1)


def cast_shadow(p: Placement, rays: Rays, light: Lighting, strength: torch.Tensor) -> torch.Tensor:
    """Shadow of the object on the floor, (B, H, W) in [0, 1] = fraction of light removed.

    The floor point of each pixel is traced towards the shadow light (light.shadow_dir); where
    that path crosses the billboard, the sprite's soft alpha blocks the light. A soft contact
    shadow sits at its base. strength: (B, 1, 1), zero where the object casts no shadow.
    """
    below_horizon = rays.dy < 0  # (B, H, 1); a level ray (dy = +-0) never meets the floor
    t_floor = torch.where(below_horizon, -rays.camera_height / rays.dy, torch.zeros_like(rays.dy))
    fx, fz = t_floor * rays.dx, t_floor * rays.dz  # (B, H, W) and (B, H, 1)
    dir_x, dir_y, dir_z = light.shadow_dir
    dir_z = torch.where(dir_z.abs() < 0.05, torch.full_like(dir_z, 0.05), dir_z)
    s = (p.z - fz) / dir_z  # path length (in units of the light direction) to the plane
    sx, sy = fx + s * dir_x, s * dir_y
    blocked = _sample_sprite(p.pixels[:, 5:6], p, sx, sy)[:, 0] * (s > 0)
    contact = contact_shadow((fx - p.x) / (0.5 * p.width), (fz - p.z) / (0.5 * p.thickness + 0.15))
    return strength * torch.maximum(blocked, contact) * below_horizon * p.present

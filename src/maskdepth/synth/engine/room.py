"""Camera rays and the room: ray-cast floor, walls and ceiling of a box-shaped room.

Two frames share the camera as origin (metres, Y up): the *heading* frame has Z along the
camera's horizontal viewing direction; the *room* frame is the heading frame turned by the yaw,
with walls at X = -left, +right and Z = -front, +back, floor at Y = 0 and ceiling at Y = ceiling.
Camera coordinates are x right, y down, z forward; a ray through pixel (u, v) is
(dx, dy, 1) in camera coordinates, so the ray parameter t of a hit *is* its z-depth.

Per-sample parameters are (B, 1, 1) tensors so that they broadcast over (B, H, W) maps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from maskdepth.synth.config import SceneConfig
from maskdepth.synth.shapes import sample_bilinear, uniform


@dataclass
class Rays:
    """Ray directions of every pixel, in the heading frame.

    dx: (B, 1, W), dy: (B, H, 1), dz: (B, H, 1); a ray is origin + t * (dx, dy, dz) with origin
    (0, camera_height, 0) and t the z-depth in metres.
    """

    dx: torch.Tensor
    dy: torch.Tensor
    dz: torch.Tensor
    camera_height: torch.Tensor  # (B, 1, 1) metres
    focal: torch.Tensor  # (B, 1, 1) pixels
    pitch: torch.Tensor  # (B, 1, 1) radians of downward tilt
    corner: torch.Tensor | None = None  # (B, 1, 1) bool: mounted high in a corner (None = none)
    distortion: torch.Tensor | None = None  # (B,) barrel distortion k of a wide lens, 0 = none
    close: torch.Tensor | None = None  # (B, 1, 1) bool: a desk or video-call camera (None = none)


def sample_rays(b: int, height: int, width: int, cfg: SceneConfig, g: torch.Generator) -> Rays:
    """Random pinhole cameras (field of view, height, downward pitch) and their pixel rays: at
    eye level, or (a share cfg.corner_p) mounted high and looking steeply down, or (a share
    cfg.close_p of the others) a desk or video-call camera; a share cfg.wide_p has a wide lens
    whose barrel distortion the engine applies after rendering. With close_p 0 the random
    draws are those of an engine without close cameras (the same scenes for the same seed)."""
    fov = uniform((b, 1, 1), cfg.fov_deg, g) * math.pi / 180
    wide = torch.rand(b, 1, 1, generator=g) < cfg.wide_p
    fov = torch.where(wide, uniform((b, 1, 1), cfg.wide_fov_deg, g) * math.pi / 180, fov)
    distortion = uniform((b,), cfg.distortion, g) * wide.view(b)
    focal = (width / 2) / torch.tan(fov / 2)
    corner = torch.rand(b, 1, 1, generator=g) < cfg.corner_p
    pitch = torch.where(corner, uniform((b, 1, 1), cfg.corner_pitch_deg, g),
                        uniform((b, 1, 1), cfg.pitch_deg, g)) * math.pi / 180
    cam_height = torch.where(corner, uniform((b, 1, 1), cfg.corner_height, g),
                             uniform((b, 1, 1), cfg.camera_height, g))
    close = None
    if cfg.close_p > 0:
        close = (torch.rand(b, 1, 1, generator=g) < cfg.close_p) & ~corner
        pitch = torch.where(close, uniform((b, 1, 1), cfg.close_pitch_deg, g) * math.pi / 180, pitch)
        cam_height = torch.where(close, uniform((b, 1, 1), cfg.close_height, g), cam_height)
    u = torch.arange(width).view(1, 1, width) + 0.5 - width / 2
    v = torch.arange(height).view(1, height, 1) + 0.5 - height / 2
    dx, dy_cam = u / focal, v / focal
    dy = -dy_cam * torch.cos(pitch) - torch.sin(pitch)
    dz = -dy_cam * torch.sin(pitch) + torch.cos(pitch)
    return Rays(dx, dy, dz, cam_height, focal, pitch, corner, distortion, close)


@dataclass
class Room:
    """A box room around the camera, in the room frame; all fields (B, 1, 1)."""

    left: torch.Tensor
    right: torch.Tensor
    front: torch.Tensor
    back: torch.Tensor
    ceiling: torch.Tensor
    yaw: torch.Tensor  # radians, room frame = heading frame turned by yaw about Y

    def to_heading(self, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Room-frame (x, z) to heading-frame (x, z)."""
        c, s = torch.cos(self.yaw), torch.sin(self.yaw)
        return x * c - z * s, x * s + z * c

    def to_room(self, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Heading-frame (x, z) to room-frame (x, z)."""
        c, s = torch.cos(self.yaw), torch.sin(self.yaw)
        return x * c + z * s, -x * s + z * c


def sample_room(b: int, rays: Rays, cfg: SceneConfig, g: torch.Generator) -> Room:
    """Random room sizes with the camera inside, near the front wall, looking in. A corner
    camera sits 0.3-0.9 m from a side wall and 0.2-0.6 m from the front wall, just under the
    ceiling, turned away from that side wall (cfg.corner_yaw_deg). A close camera has the back
    wall cfg.close_wall metres ahead."""
    width, depth = uniform((b, 1, 1), cfg.room_width, g), uniform((b, 1, 1), cfg.room_depth, g)
    corner = rays.corner if rays.corner is not None else torch.zeros(b, 1, 1, dtype=torch.bool)
    headroom = torch.where(corner, 0.15, 0.3)
    ceiling = torch.maximum(uniform((b, 1, 1), cfg.room_height, g), rays.camera_height + headroom)
    left = width * uniform((b, 1, 1), (0.25, 0.75), g)
    front = uniform((b, 1, 1), (0.2, 1.0), g)
    yaw = uniform((b, 1, 1), cfg.yaw_deg, g) * math.pi / 180
    near_wall = uniform((b, 1, 1), (0.3, 0.9), g)
    on_left = torch.rand(b, 1, 1, generator=g) < 0.5
    corner_yaw = uniform((b, 1, 1), cfg.corner_yaw_deg, g) * math.pi / 180
    left = torch.where(corner, torch.where(on_left, near_wall, width - near_wall), left)
    front = torch.where(corner, uniform((b, 1, 1), (0.2, 0.6), g), front)
    # A positive yaw turns the view towards +x (the right wall): away from the left one.
    yaw = torch.where(corner, torch.where(on_left, corner_yaw, -corner_yaw), yaw)
    back = depth - front
    if rays.close is not None:
        back = torch.where(rays.close, uniform((b, 1, 1), cfg.close_wall, g), back)
    return Room(left, width - left, front, back, ceiling, yaw)


# Surface ids in RoomHit.surface.
FLOOR, CEILING, LEFT, RIGHT, FRONT, BACK = range(6)


@dataclass
class RoomHit:
    """Where each pixel's ray meets the room. Maps are (B, H, W).

    depth: z-depth in metres. x, y, z: the hit point in the room frame (metres).
    surface: int64 id of the surface hit (FLOOR, CEILING, LEFT, RIGHT, FRONT, BACK).
    """

    depth: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    z: torch.Tensor
    surface: torch.Tensor
    beyond: torch.Tensor  # float 0/1: seen through a doorway (lit by ambient light only)

    def per_surface(self, table: torch.Tensor) -> torch.Tensor:
        """Look up a per-scene, per-surface value: table (B, 6) -> map (B, H, W)."""
        b = table.shape[0]
        return table.gather(1, self.surface.view(b, -1)).view_as(self.depth)


@dataclass
class Doorway:
    """An opening in the back wall (room frame, metres) onto a space behind it: a passage
    x0 .. x1 wide, `top` high, reaching `far` metres behind the wall; fields (B, 1, 1), far 0 =
    no opening."""

    x0: torch.Tensor
    x1: torch.Tensor
    top: torch.Tensor
    far: torch.Tensor


def sample_doorways(b: int, room: Room, present: torch.Tensor, g: torch.Generator) -> Doorway:
    """Doors (0.8-1 m) and wider openings (up to 2.4 m), 2-2.6 m high, 1.5-6 m deep, where
    `present` (B,) is true and the back wall is wide enough."""
    width = torch.where(torch.rand(b, 1, 1, generator=g) < 0.5, uniform((b, 1, 1), (0.8, 1.0), g),
                        uniform((b, 1, 1), (1.2, 2.4), g))
    span = room.left + room.right - 0.4
    width = torch.minimum(width, span - 0.2)
    x0 = -room.left + 0.2 + (span - width) * torch.rand(b, 1, 1, generator=g)
    top = torch.minimum(uniform((b, 1, 1), (2.0, 2.6), g), room.ceiling - 0.1)
    fits = present.view(b, 1, 1) & (width > 0.5)
    return Doorway(x0, x0 + width, top, uniform((b, 1, 1), (1.5, 6.0), g) * fits)


def _through_doorway(hit: RoomHit, rays: Rays, room: Room, rdx: torch.Tensor, rdz: torch.Tensor,
                     door: Doorway) -> RoomHit:
    """Where back-wall hits inside the opening go on to: the passage behind it is a box the ray
    is inside once through, so (as in the room) it leaves through the nearest plane ahead."""
    inside = ((hit.surface == BACK) & (door.far > 0) & (hit.x > door.x0) & (hit.x < door.x1)
              & (hit.y < door.top))
    # Inside the passage, the larger plane distance per axis is the one ahead (as in cast_room).
    t_x = torch.maximum(door.x1 / rdx, door.x0 / rdx)
    t_y = torch.maximum((door.top - rays.camera_height) / rays.dy, -rays.camera_height / rays.dy)
    t_z = (room.back + door.far) / rdz
    t_side = torch.minimum(t_x, t_z)
    t = torch.minimum(t_side, t_y)
    side = torch.where(t_x <= t_z, LEFT + (rdx > 0).long(), torch.full_like(hit.surface, BACK))
    surface = torch.where(t_y <= t_side, CEILING - (rays.dy < 0).long(), side)
    depth = torch.where(inside, t, hit.depth)
    return RoomHit(depth, depth * rdx, rays.camera_height + depth * rays.dy, depth * rdz,
                   torch.where(inside, surface, hit.surface), inside.float())


def cast_room(rays: Rays, room: Room, door: Doorway | None = None) -> RoomHit:
    """Intersect every ray with the room box. The camera is inside, so each ray leaves the box
    through one plane per axis (the one it moves towards), and the nearest of those three is the
    visible surface. Rays through the doorway, if any, go on into the space behind it."""
    rdx, rdz = room.to_room(rays.dx, rays.dz)  # (B, H, W)
    # The larger of the two plane distances is the one ahead of the camera. Written as a maximum
    # it also stays right for rays parallel to a wall (direction +0.0 or -0.0 gives +inf).
    t_x = torch.maximum(room.right / rdx, -room.left / rdx)
    t_z = torch.maximum(room.back / rdz, -room.front / rdz)
    t_y = torch.maximum((room.ceiling - rays.camera_height) / rays.dy, -rays.camera_height / rays.dy)
    to_right, to_back = rdx > 0, rdz > 0
    looks_down = rays.dy < 0  # (B, H, 1)
    side = t_x <= t_z
    t_wall = torch.minimum(t_x, t_z)
    flat = t_y <= t_wall
    # torch.lerp with a 0/1 weight selects exactly, and is much faster on CPU than torch.where.
    wall_id = torch.lerp(FRONT + to_back.float(), LEFT + to_right.float(), side.float())
    surface = torch.lerp(wall_id, CEILING - looks_down.float(), flat.float()).long()
    depth = torch.minimum(t_wall, t_y)
    hit = RoomHit(depth, depth * rdx, rays.camera_height + depth * rays.dy, depth * rdz, surface,
                  torch.zeros_like(depth))
    return hit if door is None else _through_doorway(hit, rays, room, rdx, rdz, door)


def texture_room(hit: RoomHit, atlas: torch.Tensor, tile_m: torch.Tensor) -> torch.Tensor:
    """Colour (B, 3, H, W) of the room surfaces from a per-sample texture atlas.

    atlas: (B, 3, T, 3T), tiles for [floor | walls | ceiling]. tile_m: (B, 3) metres per tile
    on the floor, walls and ceiling.
    """
    slot_of_surface = torch.tensor([0, 2, 1, 1, 1, 1], device=hit.surface.device)
    scale = hit.per_surface((1 / tile_m)[:, slot_of_surface])
    slot = slot_of_surface[hit.surface]
    flat = (hit.surface <= CEILING).float()
    u = torch.lerp(hit.z, hit.x, flat + (hit.surface >= FRONT).float()) * scale
    v = torch.lerp(hit.y, hit.z, flat) * scale
    # Position inside the tile, kept half a texel from its edges so that bilinear filtering
    # never blends in the neighbouring tile of the atlas.
    half_texel = 0.5 / atlas.shape[2]
    fu = (u - u.floor()).clamp(half_texel, 1 - half_texel)
    fv = (v - v.floor()).clamp(half_texel, 1 - half_texel)
    gx = (slot + fu) * (2 / 3) - 1
    gy = fv * 2 - 1
    grid = torch.stack([gx, gy], dim=-1)
    return sample_bilinear(atlas, grid, "border")


@dataclass
class Lighting:
    """A point light under the ceiling (room frame, metres) plus ambient light; fields (B, 1, 1)."""

    x: torch.Tensor
    y: torch.Tensor
    z: torch.Tensor
    power: torch.Tensor
    ambient: torch.Tensor
    # Unit vector (heading frame) towards the light that casts the foreground's shadows: a lamp
    # or window, lower than the ceiling light, so that shadows are long enough to matter.
    shadow_dir: tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def sample_lighting(b: int, room: Room, g: torch.Generator) -> Lighting:
    """A light somewhere under the ceiling, bright enough that the floor below it is near 1."""
    x = -room.left + (room.left + room.right) * torch.rand(b, 1, 1, generator=g)
    z = 0.3 * room.back + 0.6 * room.back * torch.rand(b, 1, 1, generator=g)
    y = room.ceiling - 0.05
    power = uniform((b, 1, 1), (0.4, 0.9), g) * y**2
    elevation = uniform((b, 1, 1), (0.5, 1.3), g)  # radians above the horizon
    azimuth = uniform((b, 1, 1), (-math.pi, math.pi), g)
    shadow_dir = (torch.cos(elevation) * torch.sin(azimuth), torch.sin(elevation),
                  torch.cos(elevation) * torch.cos(azimuth))
    return Lighting(x, y, z, power, uniform((b, 1, 1), (0.2, 0.5), g), shadow_dir)


BEYOND_LIGHT = 0.8  # ambient light behind a doorway, as a share of the room's


def shade_room(hit: RoomHit, room: Room, light: Lighting) -> torch.Tensor:
    """Light reaching each room pixel, (B, 1, H, W): ambient + power * cos(angle) / distance^2.

    On a plane, the light's distance along the normal is the same for every point, so cos(angle)
    * distance is a per-surface constant and only the distance varies per pixel.
    """
    normal_distance = torch.cat([light.y, room.ceiling - light.y, light.x + room.left,
                                 room.right - light.x, light.z + room.front, room.back - light.z],
                                dim=1).view(-1, 6)
    lx, ly, lz = light.x - hit.x, light.y - hit.y, light.z - hit.z
    inv_dist = (lx * lx + ly * ly + lz * lz).rsqrt()
    direct = hit.per_surface(light.power.view(-1, 1) * normal_distance) * inv_dist**3
    # Behind a doorway the room light does not reach: a dimmer, ambient-lit space.
    return torch.where(hit.beyond > 0, BEYOND_LIGHT * light.ambient, light.ambient + direct).unsqueeze(1)

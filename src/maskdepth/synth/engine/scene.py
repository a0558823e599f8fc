"""One batch of procedural rooms: random parameters (`sample_rooms`) and two renderers of them.

`render_rooms` runs the compiled per-pixel kernel of kernels/room.py (what the engine uses);
`render_rooms_torch` is the same scene in batched PyTorch (room.py, objects.py), the readable
definition the kernels are tested against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from maskdepth.synth.config import SceneConfig
from maskdepth.synth.engine import furniture, objects, windows
from maskdepth.synth.engine import room as rooms
from maskdepth.synth.kernels import room as room_kernels
from maskdepth.synth.kernels import room_tables
from maskdepth.synth.kernels.compiled import in_threads, kernel_array
from maskdepth.synth.shapes import uniform
from maskdepth.synth.sprites import SpriteBank
from maskdepth.synth.textures import TextureBanks


@dataclass
class RoomScenes:
    """Everything random about a batch of room scenes (B of them)."""

    rays: rooms.Rays
    room: rooms.Room
    light: rooms.Lighting
    window: windows.Window
    doorway: rooms.Doorway
    boxes: furniture.Boxes  # solid furniture, in image and background
    textures: TextureBanks  # shared, not copied
    tiles: torch.Tensor  # (B, 3) int64 texture ids in the floor, wall and ceiling banks
    brightness: torch.Tensor  # (B, 3) factor on the floor, wall and ceiling textures
    tile_m: torch.Tensor  # (B, 3) metres per tile on floor, walls, ceiling
    clutter: list[objects.Placement]  # static furniture, in image and background
    foreground: list[objects.Placement]
    shadow_strength: list[torch.Tensor]  # per foreground object, (B, 1, 1), 0 = no shadow

    @property
    def atlas(self) -> torch.Tensor:
        """(B, 3, T, 3T) the scenes' texture tiles side by side: [floor | walls | ceiling]."""
        banks = (self.textures.floor, self.textures.wall, self.textures.ceiling)
        tiles = torch.stack([bank[self.tiles[:, k]] for k, bank in enumerate(banks)], dim=3)
        return (tiles * self.brightness.view(-1, 1, 1, 3, 1)).flatten(3, 4)

    @property
    def box_bank(self) -> torch.Tensor:
        """(N, 3, T, T) the textures furniture takes its surfaces from: floor, then wall bank."""
        return torch.cat([self.textures.floor, self.textures.wall])


@dataclass
class Pickers:
    """Which sprites may appear as what: index tensors into the engine's sprite bank."""

    people: torch.Tensor
    furniture: torch.Tensor
    cutouts: torch.Tensor | None


def pick(ids: torch.Tensor, b: int, g: torch.Generator) -> torch.Tensor:
    """b random entries of ids."""
    return ids[torch.randint(len(ids), (b,), generator=g)]


def shadow_strengths(b: int, cfg: SceneConfig, g: torch.Generator) -> torch.Tensor:
    """(B, 1, 1) shadow darkness, 0 for the scenes whose objects cast none."""
    has = torch.rand(b, 1, 1, generator=g) < cfg.capture.shadow_p
    return uniform((b, 1, 1), cfg.capture.shadow_strength, g) * has


def _tiles(textures: TextureBanks, b: int, g: torch.Generator):
    """Texture ids (B, 3), brightness (B, 3) and metres per tile (B, 3) of floor, walls, ceiling."""
    tiles = torch.stack([torch.randint(len(bank), (b,), generator=g)
                         for bank in (textures.floor, textures.wall, textures.ceiling)], dim=1)
    brightness = 0.8 + 0.3 * torch.rand(b, 3, generator=g)
    tile_m = torch.tensor([0.5, 0.8, 0.6]) * (1 + 2 * torch.rand(b, 3, generator=g))
    return tiles, brightness, tile_m


def _foreground_sprites(pickers: Pickers, b: int, cfg: SceneConfig, g) -> torch.Tensor:
    """Per scene, a person, a piece of furniture or (if given) a user cut-out."""
    person = torch.rand(b, generator=g) < cfg.person_p
    sprite = torch.where(person, pick(pickers.people, b, g), pick(pickers.furniture, b, g))
    if pickers.cutouts is not None:
        use_cutout = torch.rand(b, generator=g) < cfg.cutout_p
        sprite = torch.where(use_cutout, pick(pickers.cutouts, b, g), sprite)
    return sprite


def sample_rooms(b: int, cfg: SceneConfig, textures: TextureBanks, sprites: SpriteBank,
                 pickers: Pickers, g: torch.Generator) -> RoomScenes:
    """Draw the random parameters of b room scenes."""
    rays = rooms.sample_rays(b, cfg.height, cfg.width, cfg, g)
    room = rooms.sample_room(b, rays, cfg, g)
    light = rooms.sample_lighting(b, room, g)
    window = windows.sample_windows(b, room, torch.rand(b, generator=g) < cfg.window_p, g)
    doorway = rooms.sample_doorways(b, room, torch.rand(b, generator=g) < cfg.doorway_p, g)
    boxes = furniture.sample_furniture(room, cfg.max_furniture, len(textures.floor) + len(textures.wall), g,
                                       desk_ahead=_desk_ahead(rays, cfg), things_p=cfg.desk_things_p)
    tiles, brightness, tile_m = _tiles(textures, b, g)
    clutter = [objects.place_clutter(sprites, pick(pickers.furniture, b, g), room,
                                     torch.rand(b, generator=g) < 0.6, g)
               for _ in range(cfg.max_clutter)]
    count = torch.randint(1, cfg.max_foreground + 1, (b,), generator=g)
    count = count * (torch.rand(b, generator=g) >= cfg.empty_p)
    foreground = [objects.place_foreground(sprites, _foreground_sprites(pickers, b, cfg, g), rays,
                                           room, count > k, cfg.min_distance, g, cfg.close_min_distance)
                  for k in range(cfg.max_foreground)]
    shadows = [shadow_strengths(b, cfg, g) for _ in foreground]
    return RoomScenes(rays, room, light, window, doorway, boxes, textures, tiles, brightness,
                      tile_m, clutter, foreground, shadows)


def _desk_ahead(rays: rooms.Rays, cfg: SceneConfig) -> np.ndarray | None:
    """(B,) float: per scene, the chance that a desk stands right in front of the camera
    (cfg.close_desk_p for close cameras, else 0); None without close cameras."""
    if rays.close is None:
        return None
    return rays.close.view(-1).numpy() * float(cfg.close_desk_p)


def _scene_table(s: RoomScenes) -> np.ndarray:
    """(B, room_tables.SCENE_COLUMNS) float32: the per-scene numbers, in the kernels' column order."""
    rays, room, light, window = s.rays, s.room, s.light, s.window
    dir_x, dir_y, dir_z = light.shadow_dir
    dir_z = torch.where(dir_z.abs() < 0.05, torch.full_like(dir_z, 0.05), dir_z)
    columns = [rays.focal, torch.sin(rays.pitch), torch.cos(rays.pitch), rays.camera_height,
               room.left, room.right, room.front, room.back, room.ceiling,
               torch.cos(room.yaw), torch.sin(room.yaw),
               light.x, light.y, light.z, light.power, light.ambient, dir_x, dir_y, dir_z,
               window.centre_x, window.centre_y, window.half_width, window.half_height,
               *window.sky.unbind(1), *s.brightness.unbind(1), *(1 / s.tile_m).unbind(1),
               s.doorway.x0, s.doorway.x1, s.doorway.top, s.doorway.far]
    table = torch.stack([c.reshape(-1).float() for c in columns], dim=1)
    assert table.shape[1] == room_tables.SCENE_COLUMNS
    return np.ascontiguousarray(table.numpy())


def _object_table(s: RoomScenes) -> tuple[np.ndarray, np.ndarray]:
    """(B, K, room_tables.OBJECT_COLUMNS) float32 and sprite ids (B, K): clutter, then foreground."""
    rows, ids = [], []
    no_shadow = [torch.zeros_like(s.room.left)] * len(s.clutter)
    for place, strength in zip(s.clutter + s.foreground, no_shadow + s.shadow_strength):
        light = objects.light_at(s.light, s.room, place)
        fields = [place.x, place.z, place.width, place.height, place.thickness, place.flip,
                  place.present, light, strength]
        rows.append(torch.stack([f.reshape(-1).float() for f in fields], dim=1))
        ids.append(place.sprite)
    table = torch.stack(rows, dim=1)
    assert table.shape[2] == room_tables.OBJECT_COLUMNS
    return np.ascontiguousarray(table.numpy()), np.ascontiguousarray(torch.stack(ids, 1).numpy())


def _box_table(s: RoomScenes) -> np.ndarray:
    """(B, M, room_tables.BOX_COLUMNS) float32: the furniture boxes in the kernels' column order."""
    boxes = s.boxes
    table = torch.cat([boxes.lo, boxes.hi, boxes.tint, boxes.tile.unsqueeze(2).float(),
                       boxes.tiles_per_m.unsqueeze(2), boxes.present.unsqueeze(2),
                       boxes.emit.unsqueeze(2)], dim=2).float()
    assert table.shape[2] == room_tables.BOX_COLUMNS
    return np.ascontiguousarray(table.numpy())


def check_size(s: RoomScenes, height: int, width: int) -> None:
    """Refuse a render size other than the one the scenes' rays were drawn for (ValueError)."""
    drawn = (s.rays.dy.shape[1], s.rays.dx.shape[2])
    if drawn != (height, width):
        raise ValueError(f"render: {height}x{width} asked, the rays were drawn for "
                         f"{drawn[0]}x{drawn[1]}")


def render_rooms(s: RoomScenes, height: int, width: int) -> dict[str, torch.Tensor]:
    """Render the scenes with the compiled kernels: the same images, masks and depths as
    `render_rooms_torch` (to float rounding), several times faster. Outputs as in engine.py."""
    b = s.tiles.shape[0]
    check_size(s, height, width)  # the kernel trusts it
    image, background = np.empty((b, 3, height, width), np.float32), np.empty((b, 3, height, width), np.float32)
    mask = np.empty((b, height, width), np.bool_)
    depth, background_depth, shadow = (np.empty((b, height, width), np.float32) for _ in range(3))
    table, ids = _object_table(s)
    sprites = s.clutter[0].bank if s.clutter else s.foreground[0].bank
    stacked, offsets = s.textures.stacked()
    tiles = np.ascontiguousarray((s.tiles + offsets).numpy())
    in_threads(room_kernels.render_scenes, b, torch.get_num_threads(), _scene_table(s), tiles,
               table, ids, len(s.clutter), _box_table(s), stacked, kernel_array(sprites), image,
               background, mask, depth, background_depth, shadow)
    as_map = lambda x: torch.from_numpy(x).unsqueeze(1)
    return {"image": torch.from_numpy(image), "background": torch.from_numpy(background),
            "mask": as_map(mask).float(), "depth": as_map(depth),
            "background_depth": as_map(background_depth), "shadow": as_map(shadow)}


def render_rooms_torch(s: RoomScenes) -> dict[str, torch.Tensor]:
    """Render the scenes in batched PyTorch: a pure function of the parameters, the reference
    definition of `render_rooms` (see engine.py for the outputs)."""
    hit = rooms.cast_room(s.rays, s.room, s.doorway)
    colour = rooms.texture_room(hit, s.atlas, s.tile_m) * rooms.shade_room(hit, s.room, s.light)
    colour = windows.paint_windows(colour, hit, s.window)
    colour, depth = furniture.draw_boxes(colour, hit.depth, s.rays, s.room, s.light, s.boxes, s.box_bank)
    for place in s.clutter:
        light = objects.light_at(s.light, s.room, place)
        colour, depth, _ = objects.draw(colour, depth, place, s.rays, light)
    background, background_depth = colour, depth
    mask = torch.zeros_like(depth, dtype=torch.bool)
    for place in s.foreground:
        light = objects.light_at(s.light, s.room, place)
        colour, depth, visible = objects.draw(colour, depth, place, s.rays, light)
        mask = mask | visible
    lit = torch.ones_like(depth)
    for place, strength in zip(s.foreground, s.shadow_strength):
        lit = lit * (1 - objects.cast_shadow(place, s.rays, s.light, strength))
    floor_visible = (hit.surface == rooms.FLOOR) & (depth == hit.depth)
    shadow = (1 - lit) * floor_visible
    return {
        "image": (colour * (1 - shadow.unsqueeze(1))).clamp(0, 1),
        "background": background.clamp(0, 1),
        "mask": mask.unsqueeze(1).float(),
        "depth": depth.unsqueeze(1),
        "background_depth": background_depth.unsqueeze(1),
        "shadow": shadow.unsqueeze(1),
    }

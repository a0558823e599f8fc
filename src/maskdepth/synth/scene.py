"""One batch of procedural rooms: random parameters (`sample_rooms`) and the pure renderer
(`render_rooms`), kept apart so the renderer can be compiled into fused kernels."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from maskdepth.synth import objects
from maskdepth.synth import room as rooms
from maskdepth.synth.config import SceneConfig
from maskdepth.synth.shapes import uniform
from maskdepth.synth.sprites import SpriteBank
from maskdepth.synth.textures import TextureBanks


@dataclass
class RoomScenes:
    """Everything random about a batch of room scenes (B of them)."""

    rays: rooms.Rays
    room: rooms.Room
    light: rooms.Lighting
    window: rooms.Window
    atlas: torch.Tensor  # (B, 3, T, 3T) texture tiles [floor | walls | ceiling]
    tile_m: torch.Tensor  # (B, 3) metres per tile on floor, walls, ceiling
    clutter: list[objects.Placement]  # static furniture, in image and background
    foreground: list[objects.Placement]
    shadow_strength: list[torch.Tensor]  # per foreground object, (B, 1, 1), 0 = no shadow


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


def _atlas(textures: TextureBanks, b: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    tiles = [bank[torch.randint(len(bank), (b,), generator=g)]
             for bank in (textures.floor, textures.wall, textures.ceiling)]
    brightness = 0.8 + 0.3 * torch.rand(b, 1, 1, 3, 1, generator=g)
    atlas = (torch.stack(tiles, dim=3) * brightness).flatten(3, 4)  # (B, 3, T, 3 * T)
    tile_m = torch.tensor([0.5, 0.8, 0.6]) * (1 + 2 * torch.rand(b, 3, generator=g))
    return atlas, tile_m


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
    window = rooms.sample_windows(b, room, torch.rand(b, generator=g) < cfg.window_p, g)
    atlas, tile_m = _atlas(textures, b, g)
    clutter = [objects.place_clutter(sprites, pick(pickers.furniture, b, g), room,
                                     torch.rand(b, generator=g) < 0.6, g)
               for _ in range(cfg.max_clutter)]
    count = torch.randint(1, cfg.max_foreground + 1, (b,), generator=g)
    count = count * (torch.rand(b, generator=g) >= cfg.empty_p)
    foreground = [objects.place_foreground(sprites, _foreground_sprites(pickers, b, cfg, g), rays,
                                           room, count > k, cfg.min_distance, g)
                  for k in range(cfg.max_foreground)]
    shadows = [shadow_strengths(b, cfg, g) for _ in foreground]
    return RoomScenes(rays, room, light, window, atlas, tile_m, clutter, foreground, shadows)


def render_rooms(s: RoomScenes) -> dict[str, torch.Tensor]:
    """Render the scenes: a pure function of the parameters (see engine.py for the outputs)."""
    hit = rooms.cast_room(s.rays, s.room)
    colour = rooms.texture_room(hit, s.atlas, s.tile_m) * rooms.shade_room(hit, s.room, s.light)
    colour = rooms.paint_windows(colour, hit, s.window)
    depth = hit.depth
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

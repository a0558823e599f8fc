"""Solid furniture: desks, tables, chairs, cabinets, shelves, sofas, columns, partitions and
ceiling lamps built from axis-aligned boxes in the room frame (see room.py), textured and lit.

Furniture is static: it stands in both the image and the background. Sizes are those of real
furniture (a desk top 0.72-0.76 m high, a seat 0.42-0.48 m), so the boxes carry the scale cues
real rooms have. `sample_furniture` draws the pieces; `draw_boxes` is the PyTorch definition of
how they look, which the compiled kernel (kernels/room.py) is tested against.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from maskdepth.synth.engine.pieces import (
    PIECE_STANDS,
    PIECE_WEIGHTS,
    PIECES,
    Piece,
    desk,
    desk_things,
)
from maskdepth.synth.engine.room import Lighting, Rays, Room
from maskdepth.synth.shapes import sample_bilinear

BOX_SLOTS = 40  # boxes per scene, the unused ones absent
CLEARANCE = 0.7  # metres kept free around the camera (on the floor plan)
# Ambient light on a box face by the way it faces (x sides, top, bottom, z sides): a cheap
# stand-in for the light the rest of the room reflects, so that the faces of a box differ.
FACE_AMBIENT = {"x": 0.85, "top": 1.0, "bottom": 0.6, "z": 0.75}


@dataclass
class Boxes:
    """B scenes' boxes, room frame, metres.

    lo, hi: (B, M, 3) opposite corners (x, y, z), lo < hi. present, emit: (B, M) float 0/1;
    an emitting box (a lamp) shows its tint unlit. tile: (B, M) int64 index into the floor and
    wall texture banks concatenated (floor first); tint: (B, M, 3) colour factor; tiles_per_m:
    (B, M) texture repeats per metre.
    """

    lo: torch.Tensor
    hi: torch.Tensor
    present: torch.Tensor
    emit: torch.Tensor
    tile: torch.Tensor
    tint: torch.Tensor
    tiles_per_m: torch.Tensor


def _orient(piece: Piece, wall: str, along: float, out: float, room: dict) -> list[tuple]:
    """Piece boxes (a, y, c) to room-frame boxes (x0, y0, z0, x1, y1, z1): backed onto a wall
    ("back", "left", "right") at position `along` on it, or free-standing ("free_z" facing the
    camera's side, "free_x" turned), with its back `out` metres into the room."""
    boxes = []
    for a0, a1, y0, y1, c0, c1 in piece:
        if wall == "back":
            x0, x1, z0, z1 = along + a0, along + a1, room["back"] - out - c1, room["back"] - out - c0
        elif wall == "left":
            x0, x1, z0, z1 = -room["left"] + out + c0, -room["left"] + out + c1, along + a0, along + a1
        elif wall == "right":
            x0, x1, z0, z1 = room["right"] - out - c1, room["right"] - out - c0, along + a0, along + a1
        elif wall == "free_z":
            x0, x1, z0, z1 = along + a0, along + a1, out + c0, out + c1
        else:  # free_x
            x0, x1, z0, z1 = out + c0, out + c1, along + a0, along + a1
        boxes.append((x0, y0, z0, x1, y1, z1))
    return boxes


def _footprint(boxes: list[tuple]) -> tuple[float, float, float, float]:
    """(x0, z0, x1, z1) floor-plan bounds of boxes."""
    return (min(b[0] for b in boxes), min(b[2] for b in boxes), max(b[3] for b in boxes),
            max(b[5] for b in boxes))


def _clear(rect, others, room: dict) -> bool:
    """The rectangle is inside the room, keeps CLEARANCE from the camera (at the origin) and
    overlaps none of the others."""
    x0, z0, x1, z1 = rect
    if x0 < -room["left"] - 1e-6 or x1 > room["right"] + 1e-6 or z0 < -room["front"] or z1 > room["back"] + 1e-6:
        return False
    dx, dz = max(x0, 0.0, -x1), max(z0, 0.0, -z1)
    if dx * dx + dz * dz < CLEARANCE * CLEARANCE:
        return False
    return not any(x0 < b[2] and b[0] < x1 and z0 < b[3] and b[1] < z1 for b in others)


def _spot(rng: np.random.Generator, low: float, high: float) -> float | None:
    """A uniform position in [low, high], or None when the span is empty (it does not fit)."""
    return rng.uniform(low, high) if high >= low else None


def _place(kind: str, rng: np.random.Generator, room: dict,
           things_p: float = 0.0) -> list[list[tuple]] | None:
    """One piece of `kind` at a random spot, or None when it did not fit: room-frame box groups,
    the piece's first, then (a desk, with chance things_p) one per thing on its top."""
    piece, w, d = PIECES[kind](rng, room["ceiling"])
    stands = PIECE_STANDS[kind]
    if stands == "either":
        stands = "wall" if rng.random() < 0.5 else "free"
    if stands == "wall":
        wall = str(rng.choice(["back", "left", "right"]))
        out = 0.0 if kind == "partition" else rng.uniform(0.0, 0.05)
        if wall == "back":
            along = _spot(rng, -room["left"], room["right"] - w)
        else:
            along = _spot(rng, -room["front"] + 0.3, room["back"] - w)
    else:
        wall = "free_z" if rng.random() < 0.6 else "free_x"
        if wall == "free_z":
            along, out = _spot(rng, -room["left"], room["right"] - w), _spot(rng, 0.5, room["back"] - d)
        else:
            along, out = _spot(rng, 0.5, room["back"] - w), _spot(rng, -room["left"], room["right"] - d)
    if along is None or out is None:
        return None
    things = _things(kind, piece, w, d, rng, things_p)
    return [_orient(p, wall, along, out, room) for p in [piece, *things]]


def _things(kind: str, piece: Piece, w: float, d: float, rng: np.random.Generator,
            things_p: float) -> list[Piece]:
    """The things on a desk's top (pieces.desk_things) with chance things_p, else none; no draw
    at all when things_p is 0, so scenes without things are drawn exactly as before."""
    if kind != "desk" or things_p <= 0 or rng.random() >= things_p:
        return []
    return desk_things(rng, w, d, max(box[3] for box in piece))  # the top's height


def _lamp(rng: np.random.Generator, room: dict) -> tuple:
    """A flat ceiling light somewhere in the room (a glowing box)."""
    w, d = rng.uniform(0.3, 1.2), rng.uniform(0.3, 1.2)
    d = min(d, room["back"] - 0.6)  # in a shallow view (a close camera) it still ends in the room
    x = rng.uniform(-room["left"] + 0.2, max(room["right"] - 0.2 - w, -room["left"] + 0.2))
    z = rng.uniform(0.5, max(room["back"] - 0.2 - d, 0.5))
    drop = rng.uniform(0.02, 0.08)
    return (x, room["ceiling"] - drop, z, x + w, room["ceiling"] - 0.005, z + d)


def _desk_in_front(rng: np.random.Generator, room: dict,
                   things_p: float = 0.0) -> list[list[tuple]] | None:
    """A desk or table right in front of the camera, for a close camera looking down at it: its
    near edge 0.25-0.6 m ahead (inside CLEARANCE, which keeps the other pieces away), across
    the view's centre line (turned by the room's yaw); None when the wall ahead leaves no room
    for it. Box groups as `_place` gives them."""
    piece, w, d = desk(rng, room["ceiling"])
    out = min(rng.uniform(0.25, 0.6), room["back"] - d)
    if out < 0.2:
        return None
    centre = (out + d / 2) * math.tan(room["yaw"])  # where the view's centre line crosses it
    along = centre - rng.uniform(0.2, 0.8) * w
    if along < -room["left"] or along + w > room["right"]:
        return None
    things = _things("desk", piece, w, d, rng, things_p)
    return [_orient(p, "free_z", along, out, room) for p in [piece, *things]]


def _put(groups: list[list[tuple]], placed: list, footprints: list, rng: np.random.Generator,
         texture_count: int) -> bool:
    """Add a piece's box groups to `placed`, each group with one random material, as many as
    BOX_SLOTS leaves room for (the piece itself first, else nothing: returns False); the piece's
    floor plan to `footprints`."""
    if len(placed) + len(groups[0]) > BOX_SLOTS:
        return False
    footprints.append(_footprint(groups[0]))
    for boxes in groups:
        if len(placed) + len(boxes) > BOX_SLOTS:
            break
        material = (int(rng.integers(texture_count)), rng.uniform(0.4, 1.1),
                    rng.uniform(0.9, 1.1, 3), 1 / rng.uniform(0.4, 1.2))
        placed.extend((box, material, False) for box in boxes)
    return True


def sample_furniture(room: Room, max_pieces: int, texture_count: int, g: torch.Generator,
                     desk_ahead: np.ndarray | None = None, things_p: float = 0.0) -> Boxes:
    """Up to `max_pieces` furniture pieces per scene (and a ceiling lamp in half the scenes),
    none overlapping another or the space around the camera. texture_count: the number of floor
    and wall textures the boxes may take their surface from. desk_ahead: (B,) the chance that
    a scene first gets a desk right in front of the camera (close cameras); scenes with 0 draw
    exactly what they would without it. things_p: the chance that a desk has things on its top
    (books, mugs, screens; pieces.desk_things); 0 draws exactly what was drawn before."""
    b = room.left.shape[0]
    rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=g)))
    kinds = list(PIECE_WEIGHTS)
    weights = np.array([PIECE_WEIGHTS[k] for k in kinds], float)
    weights /= weights.sum()
    lo = np.zeros((b, BOX_SLOTS, 3), np.float32)
    hi = np.ones((b, BOX_SLOTS, 3), np.float32)
    present, emit = np.zeros((b, BOX_SLOTS), np.float32), np.zeros((b, BOX_SLOTS), np.float32)
    tile = np.zeros((b, BOX_SLOTS), np.int64)
    tint = np.ones((b, BOX_SLOTS, 3), np.float32)
    tiles_per_m = np.ones((b, BOX_SLOTS), np.float32)
    for i in range(b):
        geometry = {k: float(getattr(room, k)[i]) for k in ("left", "right", "front", "back", "ceiling", "yaw")}
        placed, footprints = [], []
        put = functools.partial(_put, placed=placed, footprints=footprints, rng=rng,
                                texture_count=texture_count)
        if desk_ahead is not None and desk_ahead[i] > 0 and rng.random() < desk_ahead[i]:
            groups = _desk_in_front(rng, geometry, things_p)
            if groups is not None:
                put(groups)
        for _ in range(int(rng.integers(0, max_pieces + 1))):
            kind = str(rng.choice(kinds, p=weights))
            for _try in range(4):
                groups = _place(kind, rng, geometry, things_p)
                if groups is not None and _clear(_footprint(groups[0]), footprints, geometry) \
                        and put(groups):
                    break
        if rng.random() < 0.5 and len(placed) < BOX_SLOTS:
            glow = rng.uniform(0.95, 1.2) * rng.uniform(0.95, 1.05, 3)
            placed.append((_lamp(rng, geometry), (0, 1.0, glow, 1.0), True))
        for m, (box, (texture, grey, colour, per_m), glows) in enumerate(placed):
            lo[i, m], hi[i, m] = box[:3], box[3:]
            present[i, m], emit[i, m] = 1.0, float(glows)
            tile[i, m], tint[i, m], tiles_per_m[i, m] = texture, grey * colour, per_m
    return Boxes(*(torch.from_numpy(a) for a in (lo, hi, present, emit, tile, tint, tiles_per_m)))


def _face_texture(bank: torch.Tensor, tile: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Colour (B, 3, H, W) of texture bank[tile] (B,) repeated over face coordinates (u, v)
    (B, H, W) in tiles, kept half a texel from the tile's edges as texture_room does."""
    half_texel = 0.5 / bank.shape[2]
    fu = (u - u.floor()).clamp(half_texel, 1 - half_texel)
    fv = (v - v.floor()).clamp(half_texel, 1 - half_texel)
    grid = torch.stack([fu * 2 - 1, fv * 2 - 1], dim=-1)
    return sample_bilinear(bank[tile], grid, "border")


def draw_boxes(colour: torch.Tensor, depth: torch.Tensor, rays: Rays, room: Room, light: Lighting,
               boxes: Boxes, bank: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw the boxes over `colour` (B, 3, H, W) where they are nearer than `depth` (B, H, W),
    metres; returns the new colour and depth. bank: (N, 3, T, T) floor and wall textures.

    Each ray (from (0, camera height, 0) along (rdx, dy, rdz), room frame) is clipped by the
    box's three slabs: it enters at the largest of the three near-plane distances and hits
    when that is before the smallest far-plane distance; the slab it entered last is the face
    it sees. A face is lit like the room's surfaces (ambient + power * cos / distance^2), with
    FACE_AMBIENT for its orientation.
    """
    rdx, rdz = room.to_room(rays.dx, rays.dz)  # (B, H, W)
    dy = rays.dy.expand_as(rdx)
    origin = (torch.zeros_like(room.left), rays.camera_height, torch.zeros_like(room.left))
    direction = (rdx, dy, rdz)
    view = lambda t: t.view(-1, 1, 1)
    for m in range(boxes.lo.shape[1]):
        near, far = [], []
        for axis in range(3):
            t0 = (view(boxes.lo[:, m, axis]) - origin[axis]) / direction[axis]
            t1 = (view(boxes.hi[:, m, axis]) - origin[axis]) / direction[axis]
            near.append(torch.minimum(t0, t1))
            far.append(torch.maximum(t0, t1))
        t_near = torch.maximum(torch.maximum(near[0], near[1]), near[2])
        t_far = torch.minimum(torch.minimum(far[0], far[1]), far[2])
        hit = (t_near <= t_far) & (t_near > 0) & (t_near < depth) & (view(boxes.present[:, m]) > 0)
        on_x = (near[0] >= near[1]) & (near[0] >= near[2])
        on_y = ~on_x & (near[1] >= near[2])
        px, py, pz = t_near * rdx, rays.camera_height + t_near * dy, t_near * rdz
        per_m = view(boxes.tiles_per_m[:, m])
        u = torch.where(on_x, pz, px) * per_m
        v = torch.where(on_y, pz, py) * per_m
        texel = _face_texture(bank, boxes.tile[:, m], u, v)
        # The face's outward normal points against the ray along the axis it entered by.
        lx, ly, lz = light.x - px, light.y - py, light.z - pz
        facing = torch.where(on_x, -torch.sign(rdx) * lx, torch.where(on_y, -torch.sign(dy) * ly,
                                                                       -torch.sign(rdz) * lz))
        inv_dist = (lx * lx + ly * ly + lz * lz).rsqrt()
        ambient = torch.where(on_x, FACE_AMBIENT["x"], torch.where(
            on_y, torch.where(dy < 0, FACE_AMBIENT["top"], FACE_AMBIENT["bottom"]), FACE_AMBIENT["z"]))
        shade = light.ambient * ambient + light.power * facing.clamp(min=0) * inv_dist**3
        tint = boxes.tint[:, m].view(-1, 3, 1, 1)
        lit = texel * shade.unsqueeze(1) * tint
        box_colour = torch.where(view(boxes.emit[:, m]).unsqueeze(1) > 0, tint.expand_as(lit), lit)
        colour = torch.where(hit.unsqueeze(1), box_colour, colour)
        depth = torch.where(hit, t_near, depth)
    return colour, depth

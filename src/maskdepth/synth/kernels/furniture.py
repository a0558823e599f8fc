"""The compiled renderer's furniture boxes and doorway (kernels/room.py calls them per pixel):
the same formulas as furniture.draw_boxes and room._through_doorway, tested with the rest of the
kernel against the PyTorch definition.

Arguments as in kernels/room.py: s is the per-scene table (room_tables' scene columns), b the
scene; (rdx, dy, rdz) a pixel's ray direction in the room frame, cam_h the camera height.
"""

from __future__ import annotations

import math

from numba import njit

from maskdepth.synth.kernels.compiled import OPTIONS, texel
from maskdepth.synth.kernels.room_tables import (
    AMBIENT,
    BACK,
    BOX_B,
    BOX_EMIT,
    BOX_G,
    BOX_PER_M,
    BOX_PRESENT,
    BOX_R,
    BOX_TILE,
    BOX_X0,
    BOX_X1,
    BOX_Y0,
    BOX_Y1,
    BOX_Z0,
    BOX_Z1,
    DOOR_FAR,
    DOOR_TOP,
    DOOR_X0,
    DOOR_X1,
    LIGHT_POWER,
    LIGHT_X,
    LIGHT_Y,
    LIGHT_Z,
    SURFACE_BACK,
    SURFACE_CEILING,
    SURFACE_FLOOR,
    SURFACE_LEFT,
    SURFACE_RIGHT,
)

# As furniture.FACE_AMBIENT.
_FACE_X, _FACE_TOP, _FACE_BOTTOM, _FACE_Z = 0.85, 1.0, 0.6, 0.75


@njit(inline="always", **OPTIONS)
def through_doorway(s, b, surface, depth, rdx, dy, rdz, cam_h):
    """(surface, depth, beyond) of a room hit: back-wall hits inside the opening go on into the
    passage behind it (room._through_doorway)."""
    if surface != SURFACE_BACK or not s[b, DOOR_FAR] > 0:
        return surface, depth, False
    x, y = depth * rdx, cam_h + depth * dy
    if not (x > s[b, DOOR_X0] and x < s[b, DOOR_X1] and y < s[b, DOOR_TOP]):
        return surface, depth, False
    t_x = max(s[b, DOOR_X1] / rdx, s[b, DOOR_X0] / rdx)
    t_y = max((s[b, DOOR_TOP] - cam_h) / dy, -cam_h / dy)
    t_z = (s[b, BACK] + s[b, DOOR_FAR]) / rdz
    t_side = min(t_x, t_z)
    if t_y <= t_side:
        surface = SURFACE_FLOOR if dy < 0 else SURFACE_CEILING
    elif t_x <= t_z:
        surface = SURFACE_RIGHT if rdx > 0 else SURFACE_LEFT
    else:
        surface = SURFACE_BACK
    return surface, min(t_side, t_y), True


@njit(inline="always", **OPTIONS)
def _sign(x):
    return (x > 0) - (x < 0)


@njit(inline="always", **OPTIONS)
def draw_boxes(s, b, boxes, textures, red, green, blue, depth, rdx, dy, rdz, cam_h):
    """Colour and depth after the scene's furniture boxes nearer than `depth` (furniture.draw_boxes)."""
    size = textures.shape[2]
    half = 0.5 / size
    for m in range(boxes.shape[1]):
        if boxes[b, m, BOX_PRESENT] == 0:
            continue
        t0, t1 = (boxes[b, m, BOX_X0] - 0.0) / rdx, (boxes[b, m, BOX_X1] - 0.0) / rdx
        near_x, far_x = min(t0, t1), max(t0, t1)
        t0, t1 = (boxes[b, m, BOX_Y0] - cam_h) / dy, (boxes[b, m, BOX_Y1] - cam_h) / dy
        near_y, far_y = min(t0, t1), max(t0, t1)
        t0, t1 = (boxes[b, m, BOX_Z0] - 0.0) / rdz, (boxes[b, m, BOX_Z1] - 0.0) / rdz
        near_z, far_z = min(t0, t1), max(t0, t1)
        t = max(max(near_x, near_y), near_z)
        if not (t <= min(min(far_x, far_y), far_z) and t > 0 and t < depth):
            continue
        on_x = near_x >= near_y and near_x >= near_z
        on_y = not on_x and near_y >= near_z
        px, py, pz = t * rdx, cam_h + t * dy, t * rdz
        if boxes[b, m, BOX_EMIT] > 0:
            red, green, blue = boxes[b, m, BOX_R], boxes[b, m, BOX_G], boxes[b, m, BOX_B]
            depth = t
            continue
        per_m = boxes[b, m, BOX_PER_M]
        u = (pz if on_x else px) * per_m
        v = (pz if on_y else py) * per_m
        fu = min(max(u - math.floor(u), half), 1 - half) * size - 0.5
        fv = min(max(v - math.floor(v), half), 1 - half) * size - 0.5
        lx, ly, lz = s[b, LIGHT_X] - px, s[b, LIGHT_Y] - py, s[b, LIGHT_Z] - pz
        if on_x:
            facing, ambient = -_sign(rdx) * lx, _FACE_X
        elif on_y:
            facing, ambient = -_sign(dy) * ly, (_FACE_TOP if dy < 0 else _FACE_BOTTOM)
        else:
            facing, ambient = -_sign(rdz) * lz, _FACE_Z
        inv_dist = 1 / math.sqrt(lx * lx + ly * ly + lz * lz)
        shade = s[b, AMBIENT] * ambient + s[b, LIGHT_POWER] * max(facing, 0.0) * inv_dist * inv_dist * inv_dist
        tile = int(boxes[b, m, BOX_TILE])
        red = texel(textures, tile, 0, fu, fv) * shade * boxes[b, m, BOX_R]
        green = texel(textures, tile, 1, fu, fv) * shade * boxes[b, m, BOX_G]
        blue = texel(textures, tile, 2, fu, fv) * shade * boxes[b, m, BOX_B]
        depth = t
    return red, green, blue, depth

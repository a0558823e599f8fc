"""The scene engine's per-pixel renderer, compiled by Numba.

The batched PyTorch renderer (`scene.render_rooms_torch`, with room.py and objects.py) is the
readable definition of a scene; it makes every pixel of every layer and blends them with
full-frame `grid_sample` calls, which leaves it bound by memory bandwidth (about 5 ms of CPU a
scene at 160 px). This kernel computes the same formulas one pixel at a time, skips objects
whose billboard a pixel's ray misses and computes what depends only on the row once per row;
the scenes of a batch run on threads (compiled.in_threads). Tests check it against the PyTorch
definition. Parameters come in as per-scene float32 tables whose columns are named in
kernels/room_tables.py (scene.py fills them); the furniture boxes and the doorway are drawn by
kernels/furniture.py.

Arrays are numpy float32 unless noted; images (B, 3, H, W) in [0, 1]; depth (B, H, W) metres.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from maskdepth.synth.kernels.compiled import OPTIONS, texel, zero_padded_taps
from maskdepth.synth.kernels.furniture import draw_boxes, through_doorway
from maskdepth.synth.kernels.room_tables import (
    AMBIENT,
    BACK,
    BRIGHT_FLOOR,
    CAMERA_HEIGHT,
    CEILING,
    FOCAL,
    FRONT,
    INV_TILE_FLOOR,
    LEFT,
    LIGHT_POWER,
    LIGHT_X,
    LIGHT_Y,
    LIGHT_Z,
    OBJ_FLIP,
    OBJ_HEIGHT,
    OBJ_LIGHT,
    OBJ_PRESENT,
    OBJ_SHADOW,
    OBJ_THICKNESS,
    OBJ_WIDTH,
    OBJ_X,
    OBJ_Z,
    PITCH_COS,
    PITCH_SIN,
    RIGHT,
    SHADOW_DX,
    SHADOW_DY,
    SHADOW_DZ,
    SKY_B,
    SKY_G,
    SKY_R,
    SURFACE_BACK,
    SURFACE_CEILING,
    SURFACE_FLOOR,
    SURFACE_FRONT,
    SURFACE_LEFT,
    SURFACE_RIGHT,
    WINDOW_HALF_H,
    WINDOW_HALF_W,
    WINDOW_X,
    WINDOW_Y,
    YAW_COS,
    YAW_SIN,
)

_BEYOND_LIGHT = 0.8  # as room.BEYOND_LIGHT


@njit(inline="always", **OPTIONS)
def _sprite_weights(size, gx, gy):
    """Taps of a zero-padded bilinear sample (grid_sample, align_corners False) at normalised
    (gx, gy): (xa, ya, xb, yb, w00, w01, w10, w11, any), any False (and the rest unused) when
    every corner is outside the sprite."""
    x = ((gx + 1) * size - 1) / 2
    y = ((gy + 1) * size - 1) / 2
    if not (x > -1 and x < size and y > -1 and y < size):  # also catches NaN
        return 0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0, False
    xa, ya, xb, yb, w00, w01, w10, w11 = zero_padded_taps(x, y, size)
    return xa, ya, xb, yb, w00, w01, w10, w11, True


@njit(inline="always", **OPTIONS)
def _sprite_channel(sprites, n, c, xa, ya, xb, yb, w00, w01, w10, w11):
    return (sprites[n, c, ya, xa] * w00 + sprites[n, c, ya, xb] * w01
            + sprites[n, c, yb, xa] * w10 + sprites[n, c, yb, xb] * w11)


@njit(inline="always", **OPTIONS)
def _room_colour(s, b, surface, x, y, z, beyond, textures, tiles):
    """Textured, lit colour (r, g, b) of a room hit point (room frame x, y, z) of scene b;
    `beyond`: seen through the doorway (ambient light only, no window)."""
    if surface == SURFACE_FLOOR:
        slot, u, v = 0, x, z
    elif surface == SURFACE_CEILING:
        slot, u, v = 2, x, z
    else:
        slot, v = 1, y
        u = z if surface <= SURFACE_RIGHT else x
    size = textures.shape[2]
    half = 0.5 / size
    u, v = u * s[b, INV_TILE_FLOOR + slot], v * s[b, INV_TILE_FLOOR + slot]
    fu = min(max(u - math.floor(u), half), 1 - half) * size - 0.5
    fv = min(max(v - math.floor(v), half), 1 - half) * size - 0.5
    # Light: ambient + power * (distance to the surface's plane) / distance^3.
    lx, ly, lz = s[b, LIGHT_X] - x, s[b, LIGHT_Y] - y, s[b, LIGHT_Z] - z
    if surface == SURFACE_FLOOR:
        normal = s[b, LIGHT_Y]
    elif surface == SURFACE_CEILING:
        normal = s[b, CEILING] - s[b, LIGHT_Y]
    elif surface == SURFACE_LEFT:
        normal = s[b, LIGHT_X] + s[b, LEFT]
    elif surface == SURFACE_RIGHT:
        normal = s[b, RIGHT] - s[b, LIGHT_X]
    elif surface == SURFACE_FRONT:
        normal = s[b, LIGHT_Z] + s[b, FRONT]
    else:
        normal = s[b, BACK] - s[b, LIGHT_Z]
    inv_dist = 1 / math.sqrt(lx * lx + ly * ly + lz * lz)
    if beyond:
        shade = _BEYOND_LIGHT * s[b, AMBIENT] * s[b, BRIGHT_FLOOR + slot]
    else:
        shade = (s[b, AMBIENT] + s[b, LIGHT_POWER] * normal * inv_dist * inv_dist * inv_dist) * s[b, BRIGHT_FLOOR + slot]
    tile = tiles[b, slot]
    if (surface == SURFACE_BACK and not beyond and abs(x - s[b, WINDOW_X]) < s[b, WINDOW_HALF_W]
            and abs(y - s[b, WINDOW_Y]) < s[b, WINDOW_HALF_H]):
        glow = 1.05 - 0.25 * (y - s[b, WINDOW_Y]) / max(s[b, WINDOW_HALF_H], 1e-3)
        return s[b, SKY_R] * glow, s[b, SKY_G] * glow, s[b, SKY_B] * glow
    return (texel(textures, tile, 0, fu, fv) * shade, texel(textures, tile, 1, fu, fv) * shade,
            texel(textures, tile, 2, fu, fv) * shade)


@njit(inline="always", **OPTIONS)
def _blend(c, alpha, target):
    return c + alpha * (target - c)


@njit(**OPTIONS)
def _render_scene(b, s, tiles, obj, ids, n_clutter, boxes, textures, sprites,
                  image, background, mask, depth, background_depth, shadow):
    """Render scene b. What depends only on the row (the billboards' depth and sprite row, the
    shadow paths) is computed once per row. No array views are made per pixel: Numba counts
    references to views with atomic operations, which the threads would contend for."""
    height, width = image.shape[2], image.shape[3]
    size = sprites.shape[2]
    count = obj.shape[1]
    cam_h, inv_focal = s[b, CAMERA_HEIGHT], 1 / s[b, FOCAL]
    yc, ys = s[b, YAW_COS], s[b, YAW_SIN]
    sdx, sdy, sdz = s[b, SHADOW_DX], s[b, SHADOW_DY], s[b, SHADOW_DZ]
    row_t, row_gy = np.zeros(count), np.zeros(count)  # per object: billboard depth, sprite y
    row_path, row_sgy, row_cz2 = np.zeros(count), np.zeros(count), np.zeros(count)  # shadows
    for i in range(height):
        dy_cam = (i + 0.5 - height / 2) * inv_focal
        dy = -dy_cam * s[b, PITCH_COS] - s[b, PITCH_SIN]
        dz = -dy_cam * s[b, PITCH_SIN] + s[b, PITCH_COS]
        t_y = max((s[b, CEILING] - cam_h) / dy, -cam_h / dy)
        t_floor = -cam_h / dy
        fz = t_floor * dz
        for k in range(count):
            row_t[k] = obj[b, k, OBJ_Z] / dz
            row_gy[k] = 1 - 2 * (cam_h + row_t[k] * dy) / obj[b, k, OBJ_HEIGHT]
            if obj[b, k, OBJ_PRESENT] == 0 or not row_t[k] > 0:
                row_t[k] = -1.0  # nothing of this object on this row
            row_path[k] = (obj[b, k, OBJ_Z] - fz) / sdz
            row_sgy[k] = 1 - 2 * (row_path[k] * sdy) / obj[b, k, OBJ_HEIGHT]
            cz = (fz - obj[b, k, OBJ_Z]) / (0.5 * obj[b, k, OBJ_THICKNESS] + 0.15)
            row_cz2[k] = cz * cz
        for j in range(width):
            dx = (j + 0.5 - width / 2) * inv_focal
            # The room box: the nearest of the planes the ray moves towards (room.cast_room).
            # A ray parallel to a wall (direction +-0) gets +inf from the reciprocal, as there.
            rdx, rdz = dx * yc + dz * ys, -dx * ys + dz * yc
            inv_x, inv_z = 1 / rdx, 1 / rdz
            t_x = max(s[b, RIGHT] * inv_x, -s[b, LEFT] * inv_x)
            t_z = max(s[b, BACK] * inv_z, -s[b, FRONT] * inv_z)
            t_wall = min(t_x, t_z)
            if t_y <= t_wall:
                surface = SURFACE_CEILING if dy >= 0 else SURFACE_FLOOR
            elif t_x <= t_z:
                surface = SURFACE_RIGHT if rdx > 0 else SURFACE_LEFT
            else:
                surface = SURFACE_BACK if rdz > 0 else SURFACE_FRONT
            room_depth = min(t_wall, t_y)
            surface, room_depth, beyond = through_doorway(s, b, surface, room_depth, rdx, dy, rdz, cam_h)
            red, green, blue = _room_colour(s, b, surface, room_depth * rdx, cam_h + room_depth * dy,
                                            room_depth * rdz, beyond, textures, tiles)
            red, green, blue, z_now = draw_boxes(s, b, boxes, textures, red, green, blue, room_depth,
                                             rdx, dy, rdz, cam_h)
            visible_any = False
            for k in range(count):
                if k == n_clutter:
                    background[b, 0, i, j] = min(max(red, 0.0), 1.0)
                    background[b, 1, i, j] = min(max(green, 0.0), 1.0)
                    background[b, 2, i, j] = min(max(blue, 0.0), 1.0)
                    background_depth[b, i, j] = z_now
                t = row_t[k]
                if t < 0:
                    continue
                gx = 2 * obj[b, k, OBJ_FLIP] * (t * dx - obj[b, k, OBJ_X]) / obj[b, k, OBJ_WIDTH]
                xa, ya, xb, yb, w00, w01, w10, w11, hit = _sprite_weights(size, gx, row_gy[k])
                if not hit:
                    continue
                n = ids[b, k]
                alpha = _sprite_channel(sprites, n, 3, xa, ya, xb, yb, w00, w01, w10, w11)
                if alpha == 0:
                    continue
                relief = _sprite_channel(sprites, n, 4, xa, ya, xb, yb, w00, w01, w10, w11)
                obj_depth = t - relief * obj[b, k, OBJ_THICKNESS]
                if not obj_depth < z_now:
                    continue
                light = obj[b, k, OBJ_LIGHT]
                red = _blend(red, alpha, _sprite_channel(sprites, n, 0, xa, ya, xb, yb, w00, w01, w10, w11) * light)
                green = _blend(green, alpha, _sprite_channel(sprites, n, 1, xa, ya, xb, yb, w00, w01, w10, w11) * light)
                blue = _blend(blue, alpha, _sprite_channel(sprites, n, 2, xa, ya, xb, yb, w00, w01, w10, w11) * light)
                if alpha > 0.5:
                    z_now = obj_depth
                    if k >= n_clutter:
                        visible_any = True
            if n_clutter >= count:
                background[b, 0, i, j] = min(max(red, 0.0), 1.0)
                background[b, 1, i, j] = min(max(green, 0.0), 1.0)
                background[b, 2, i, j] = min(max(blue, 0.0), 1.0)
                background_depth[b, i, j] = z_now
            # Foreground shadows on the visible floor (objects.cast_shadow).
            dark = 0.0
            if surface == SURFACE_FLOOR and z_now == room_depth and dy < 0:
                fx = t_floor * dx
                lit = 1.0
                for k in range(n_clutter, count):
                    strength = obj[b, k, OBJ_SHADOW]
                    if obj[b, k, OBJ_PRESENT] == 0 or strength == 0:
                        continue
                    half_width = 0.5 * obj[b, k, OBJ_WIDTH]
                    cx = (fx - obj[b, k, OBJ_X]) / half_width
                    contact = max(1 - (cx * cx + row_cz2[k]) / 1.5, 0.0)
                    blocked = 0.0
                    path = row_path[k]
                    if path > 0:
                        gx = obj[b, k, OBJ_FLIP] * (fx + path * sdx - obj[b, k, OBJ_X]) / half_width
                        xa, ya, xb, yb, w00, w01, w10, w11, hit = _sprite_weights(size, gx, row_sgy[k])
                        if hit:
                            blocked = _sprite_channel(sprites, ids[b, k], 5, xa, ya, xb, yb, w00, w01, w10, w11)
                    lit *= 1 - strength * max(blocked, 0.8 * contact * contact)
                dark = 1 - lit
            image[b, 0, i, j] = min(max(red * (1 - dark), 0.0), 1.0)
            image[b, 1, i, j] = min(max(green * (1 - dark), 0.0), 1.0)
            image[b, 2, i, j] = min(max(blue * (1 - dark), 0.0), 1.0)
            mask[b, i, j] = visible_any
            depth[b, i, j] = z_now
            shadow[b, i, j] = dark


@njit(**OPTIONS)
def render_scenes(first, stop, scene, tiles, objects, sprite_ids, n_clutter, boxes, textures,
                  sprites, image, background, mask, depth, background_depth, shadow):
    """Render scenes first .. stop - 1 of B into the given outputs (see compiled.in_threads).

    scene: (B, SCENE_COLUMNS); tiles: (B, 3) int64 ids into textures (N, 3, T, T) of the floor,
    wall and ceiling tiles; objects: (B, K, OBJECT_COLUMNS), the first n_clutter of them static
    (in the background too), the rest foreground, drawn in that order; sprite_ids: (B, K) int64
    into sprites (N, 6, S, S); boxes: (B, M, BOX_COLUMNS), static furniture whose BOX_TILE
    indexes the floor and wall rows of textures. Outputs: image, background (B, 3, H, W); mask
    (B, H, W) bool; depth, background_depth, shadow (B, H, W).
    """
    for b in range(first, stop):
        _render_scene(b, scene, tiles, objects, sprite_ids, n_clutter, boxes, textures, sprites,
                      image, background, mask, depth, background_depth, shadow)

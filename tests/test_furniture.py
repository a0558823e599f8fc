"""Solid furniture, doorways and corner cameras in the scene engine: depth against hand-computed
ray-box intersections, occlusion of the foreground, both renderers equal."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from conftest import small_config
from maskdepth.synth import SceneEngine
from maskdepth.synth.engine import room as rooms
from maskdepth.synth.engine.furniture import BOX_SLOTS, CLEARANCE, Boxes, sample_furniture
from maskdepth.synth.engine.pieces import desk, desk_things
from maskdepth.synth.engine.scene import render_rooms, render_rooms_torch, sample_rooms
from parity import assert_same_render

SIZE = 65  # odd: the middle pixel's ray runs exactly along the optical axis
CAMERA_HEIGHT = 1.5


@pytest.fixture(scope="module")
def engine() -> SceneEngine:
    return SceneEngine(small_config(), seed=0)


def _boxes(*corners, emit=()) -> Boxes:
    """One scene's boxes from (x0, y0, z0, x1, y1, z1) tuples (room frame, metres)."""
    lo, hi = torch.zeros(1, BOX_SLOTS, 3), torch.ones(1, BOX_SLOTS, 3)
    present, glows = torch.zeros(1, BOX_SLOTS), torch.zeros(1, BOX_SLOTS)
    for m, box in enumerate(corners):
        lo[0, m], hi[0, m], present[0, m] = torch.tensor(box[:3]), torch.tensor(box[3:]), 1
        glows[0, m] = float(m in emit)
    tint = torch.full((1, BOX_SLOTS, 3), 0.8)
    return Boxes(lo, hi, present, glows, torch.zeros(1, BOX_SLOTS, dtype=torch.long), tint,
                 torch.ones(1, BOX_SLOTS))


def _level_scene(engine: SceneEngine, boxes: Boxes, far: float = 0.0, person_at: float | None = None):
    """A level camera (no pitch or yaw, 60 degrees wide) 1.5 m up in a 6 x 6.5 x 3 m room, with
    the given boxes, a 1 m wide doorway 2.2 m high in the back wall reaching `far` metres behind
    it, and one person `person_at` metres straight ahead (or nobody)."""
    cfg = dataclasses.replace(engine.config, height=SIZE, width=SIZE, fov_deg=(60.0, 60.0),
                              pitch_deg=(0.0, 0.0), yaw_deg=(0.0, 0.0), corner_p=0.0,
                              camera_height=(CAMERA_HEIGHT, CAMERA_HEIGHT), max_foreground=1,
                              empty_p=0.0, person_p=1.0)
    s = sample_rooms(1, cfg, engine.textures, engine.sprites, engine.pickers, torch.Generator().manual_seed(0))
    one = torch.ones(1, 1, 1)
    room = rooms.Room(3 * one, 3 * one, 0.5 * one, 6 * one, 3 * one, 0 * one)
    door = rooms.Doorway(-0.5 * one, 0.5 * one, 2.2 * one, far * one)
    window = dataclasses.replace(s.window, half_width=0 * one)
    person = dataclasses.replace(s.foreground[0], x=0 * one, z=(person_at or 1.0) * one,
                                 present=float(person_at is not None) * one)
    clutter = [dataclasses.replace(p, present=0 * one) for p in s.clutter]
    return dataclasses.replace(s, room=room, doorway=door, window=window, boxes=boxes,
                               foreground=[person], clutter=clutter)


def _both(scenes):
    """Both renderers' maps of the scenes, checked equal (tests/parity.py's rule)."""
    fast, reference = render_rooms(scenes, SIZE, SIZE), render_rooms_torch(scenes)
    assert_same_render(fast, reference)
    return fast, reference


def _ray_grid(scenes):
    """Per pixel (H, W): the ray's x and y slopes (dx, dy), z slope 1 (level camera, no yaw)."""
    rays = scenes.rays
    return rays.dx[0].expand(SIZE, SIZE), rays.dy[0].expand(SIZE, SIZE)


@pytest.mark.kernel_parity
def test_a_box_face_is_at_its_exact_distance(engine):
    front = (-0.5, 0.0, 3.0, 0.5, 2.0, 3.4)
    scenes = _level_scene(engine, _boxes(front))
    dx, dy = _ray_grid(scenes)
    for render in _both(scenes):
        depth = render["depth"][0, 0]
        assert depth[SIZE // 2, SIZE // 2].item() == pytest.approx(3.0, abs=1e-5)
        # The front face: where the ray at z = 3 m is within the face (a margin from its edges).
        x, y = 3.0 * dx, CAMERA_HEIGHT + 3.0 * dy
        on_face = (x.abs() < 0.48) & (y > 0.02) & (y < 1.98)
        assert on_face.sum() > 50
        assert torch.allclose(depth[on_face], torch.full_like(depth[on_face], 3.0), atol=1e-5)
        # Elsewhere the ray passes the box and meets the room beyond it (the ceiling is at 3 m).
        off_face = ((x.abs() > 0.52) | (y > 2.02)) & (y > 0.02) & (y < 2.98)
        assert (depth[off_face] > 3.0 + 1e-3).all()


@pytest.mark.kernel_parity
def test_a_table_top_below_the_camera_is_hit_from_above(engine):
    # Corners off the pixel grid: a ray exactly along an edge may go either way by one ulp.
    top = (-1.03, 0.71, 1.52, 0.97, 0.75, 2.47)
    scenes = _level_scene(engine, _boxes(top))
    dx, dy = _ray_grid(scenes)
    t_top = (0.75 - CAMERA_HEIGHT) / dy  # ray parameter = z-depth where the ray meets y = 0.75
    on_top = (dy < 0) & (t_top > 1.55) & (t_top < 2.45) & ((t_top * dx).abs() < 0.94)
    assert on_top.sum() > 20
    for render in _both(scenes):
        depth = render["depth"][0, 0]
        assert torch.allclose(depth[on_top], t_top[on_top], rtol=1e-5)


@pytest.mark.kernel_parity
def test_a_lamp_glows_in_its_own_colour(engine):
    lamp = (-0.63, 2.91, 2.02, 0.57, 2.98, 3.03)
    scenes = _level_scene(engine, _boxes(lamp, emit=(0,)))
    dx, dy = _ray_grid(scenes)
    t_bottom = (2.91 - CAMERA_HEIGHT) / dy
    under = (dy > 0) & (t_bottom > 2.05) & (t_bottom < 3.0) & ((t_bottom * dx).abs() < 0.55)
    assert under.sum() > 5
    for render in _both(scenes):
        seen = render["image"][0][:, under]
        assert torch.allclose(seen, torch.full_like(seen, 0.8), atol=1 / 255)


@pytest.mark.kernel_parity
def test_a_doorway_shows_the_space_behind_the_back_wall(engine):
    scenes = _level_scene(engine, _boxes(), far=4.0)
    dx, dy = _ray_grid(scenes)
    for render in _both(scenes):
        depth = render["depth"][0, 0]
        assert depth[SIZE // 2, SIZE // 2].item() == pytest.approx(10.0, abs=1e-4)  # far wall
        # The passage floor: rays that pass the opening at z = 6 and reach y = 0 before z = 10.
        t_floor = -CAMERA_HEIGHT / dy
        through = (dy < 0) & (t_floor > 6.05) & (t_floor < 9.95) & ((t_floor * dx).abs() < 0.45)
        assert through.sum() > 5
        assert torch.allclose(depth[through], t_floor[through], rtol=1e-5)
        # Beside the opening the back wall stays where it was.
        beside = ((6.0 * dx).abs() > 0.55) & (CAMERA_HEIGHT + 6.0 * dy > 0.05) & (CAMERA_HEIGHT + 6.0 * dy < 2.95)
        assert torch.allclose(depth[beside & ((6.0 * dx).abs() < 2.9)], torch.tensor(6.0), atol=1e-4)
    closed = render_rooms(_level_scene(engine, _boxes(), far=0.0), SIZE, SIZE)["depth"][0, 0]
    assert closed[SIZE // 2, SIZE // 2].item() == pytest.approx(6.0, abs=1e-4)


@pytest.mark.kernel_parity
def test_furniture_hides_a_person_behind_it_and_is_not_foreground(engine):
    cabinet = (-0.5, 0.0, 3.0, 0.5, 2.0, 3.4)
    hidden = _both(_level_scene(engine, _boxes(cabinet), person_at=4.5))[0]
    seen = _both(_level_scene(engine, _boxes(), person_at=4.5))[0]
    scenes = _level_scene(engine, _boxes(cabinet))
    dx, dy = _ray_grid(scenes)
    x, y = 3.0 * dx, CAMERA_HEIGHT + 3.0 * dy
    behind = (x.abs() < 0.48) & (y > 0.02) & (y < 1.98)
    assert seen["mask"][0, 0][behind].sum() > 20  # without the cabinet the person is there
    assert hidden["mask"][0, 0][behind].sum() == 0
    assert torch.equal(hidden["background_depth"][0, 0][behind], hidden["depth"][0, 0][behind])
    assert torch.allclose(hidden["background_depth"][0, 0][behind], torch.tensor(3.0), atol=1e-5)


def test_sampled_furniture_stands_inside_the_room_clear_of_the_camera(engine):
    cfg = engine.config
    g = torch.Generator().manual_seed(3)
    rays = rooms.sample_rays(64, 16, 16, cfg, g)
    room = rooms.sample_room(64, rays, cfg, g)
    boxes = sample_furniture(room, 5, 10, g)
    present = boxes.present > 0
    assert present.sum(dim=1).float().mean() > 5  # several pieces of several boxes
    assert (boxes.hi > boxes.lo)[present].all()
    view = lambda t: t.view(-1, 1).expand_as(present)
    for axis, low, high in ((0, -room.left, room.right), (2, -room.front, room.back)):
        assert (boxes.lo[..., axis] >= view(low) - 1e-4)[present].all()
        assert (boxes.hi[..., axis] <= view(high) + 1e-4)[present].all()
    assert (boxes.hi[..., 1] <= view(room.ceiling) + 1e-4)[present].all()
    assert (boxes.lo[..., 1] >= 0)[present].all()
    # Floor-plan distance from the camera (at the origin) to each box.
    gap_x = torch.maximum(boxes.lo[..., 0], -boxes.hi[..., 0]).clamp(min=0)
    gap_z = torch.maximum(boxes.lo[..., 2], -boxes.hi[..., 2]).clamp(min=0)
    standing = present & (boxes.emit == 0)  # lamps hang from the ceiling, anywhere
    assert ((gap_x**2 + gap_z**2).sqrt() >= CLEARANCE - 1e-4)[standing].all()
    assert (boxes.tile[present] < 10).all()


def _cameras(count: int, seed: int, **shares):
    """(rays, room, generator) of `count` cameras at 16x16 drawn with small_config() and the
    given SceneConfig shares (corner_p, close_p), the generator left after the room."""
    cfg = dataclasses.replace(small_config(), **shares)
    g = torch.Generator().manual_seed(seed)
    rays = rooms.sample_rays(count, 16, 16, cfg, g)
    return rays, rooms.sample_room(count, rays, cfg, g), g


def test_corner_cameras_are_high_in_a_corner_looking_down_into_the_room():
    rays, room, _ = _cameras(256, seed=0, corner_p=1.0)
    assert rays.corner.all()
    height, pitch = rays.camera_height.flatten(), rays.pitch.flatten() * 180 / math.pi
    assert height.min() >= 2.2 and height.max() <= 3.5 and height.std() > 0.2
    assert pitch.min() >= 15 and pitch.max() <= 50
    nearer_side = torch.minimum(room.left, room.right).flatten()
    assert nearer_side.max() <= 0.9 and room.front.max() <= 0.6
    assert (room.ceiling >= rays.camera_height + 0.15 - 1e-6).all()
    # Turned away from the nearer side wall: positive yaw looks towards +x (the right wall).
    towards_right = (room.yaw > 0).flatten()
    assert torch.equal(towards_right, (room.left < room.right).flatten())
    yaw = room.yaw.abs().flatten() * 180 / math.pi
    assert yaw.min() >= 15 and yaw.max() <= 50


def test_foreground_of_corner_cameras_stands_where_the_view_meets_the_floor():
    cfg = small_config()
    cfg.corner_p, cfg.empty_p = 1.0, 0.0
    engine = SceneEngine(cfg, seed=0)
    batch = engine.render(32, seed=0)
    assert (batch["mask"].flatten(1).sum(1) > 0).float().mean() > 0.7


@pytest.mark.kernel_parity
@pytest.mark.parametrize("seed", range(3))
def test_compiled_renderer_matches_with_furniture_doorways_and_corner_cameras(seed):
    cfg = small_config(shadow_p=1.0)
    cfg.corner_p, cfg.doorway_p, cfg.max_furniture = 0.5, 1.0, 6
    engine = SceneEngine(cfg, seed=seed)
    scenes = sample_rooms(12, cfg, engine.textures, engine.sprites, engine.pickers,
                          torch.Generator().manual_seed(seed))
    assert scenes.boxes.present.sum() > 12 and (scenes.doorway.far > 0).sum() > 6
    fast, reference = render_rooms(scenes, 64, 64), render_rooms_torch(scenes)
    assert_same_render(fast, reference)


def test_close_cameras_sit_at_desk_height_facing_a_near_wall():
    rays, room, g = _cameras(256, seed=0, close_p=1.0)
    close = rays.close.flatten()
    assert torch.equal(close, ~rays.corner.flatten())  # corner cameras stay corner cameras
    assert 0.55 < close.float().mean() < 0.85
    height, pitch = rays.camera_height.flatten()[close], rays.pitch.flatten()[close] * 180 / math.pi
    assert height.min() >= 0.8 and height.max() <= 1.6 and pitch.min() >= 0 and pitch.max() <= 55
    back = room.back.flatten()[close]
    assert back.min() >= 0.9 and back.max() <= 3.0
    assert rooms.sample_rays(4, 16, 16, small_config(), g).close is None  # none by default


def test_a_desk_ahead_stands_right_in_front_of_a_close_camera():
    _, room, g = _cameras(64, seed=1, close_p=1.0, corner_p=0.0)
    state = g.get_state()
    boxes = sample_furniture(room, 3, 10, g, desk_ahead=np.ones(64))
    tops = (boxes.present > 0) & (boxes.hi[..., 1] - boxes.lo[..., 1] < 0.06) & \
        (boxes.hi[..., 1] > 0.7) & (boxes.hi[..., 1] < 0.77) & (boxes.emit == 0)
    far = torch.full_like(boxes.lo[..., 2], 99)
    first = torch.where(tops, torch.arange(BOX_SLOTS), BOX_SLOTS).amin(1)  # the desk ahead
    has = first < BOX_SLOTS
    assert has.float().mean() > 0.85  # it fits in front of the wall and inside the room
    k = first[has]
    lo, hi = boxes.lo[has, k], boxes.hi[has, k]
    assert (lo[:, 2] >= 0.2 - 1e-5).all() and (lo[:, 2] <= 0.6 + 1e-5).all()
    centre = (lo[:, 2] + hi[:, 2]) / 2 * torch.tan(room.yaw.flatten()[has])  # the view's centre line
    assert ((lo[:, 0] <= centre) & (centre <= hi[:, 0])).all()
    assert torch.where(tops, boxes.lo[..., 2], far).amin(1)[has].max() <= 0.6 + 1e-5
    assert (boxes.hi[..., 2] <= room.back.view(-1, 1) + 1e-4)[boxes.present > 0].all()
    # No desk asked for: exactly the furniture drawn without the argument.
    g.set_state(state)
    none = sample_furniture(room, 3, 10, g, desk_ahead=np.zeros(64))
    g.set_state(state)
    without = sample_furniture(room, 3, 10, g)
    assert all(torch.equal(a, b) for a, b in zip(dataclasses.astuple(none), dataclasses.astuple(without)))


def test_close_camera_scenes_are_mostly_within_arms_reach_and_have_foreground():
    cfg = small_config()
    cfg.close_p, cfg.corner_p, cfg.empty_p = 1.0, 0.0, 0.0
    batch = SceneEngine(cfg, seed=0).render(48, seed=0)
    medians = batch["depth"].flatten(1).median(dim=1).values
    assert medians.median() < 1.8 and (medians < 1.0).float().mean() > 0.15
    assert (batch["mask"].flatten(1).sum(1) > 0).float().mean() > 0.8


@pytest.mark.kernel_parity
def test_compiled_renderer_matches_with_close_cameras_and_desks_ahead():
    cfg = small_config(shadow_p=1.0)
    cfg.close_p, cfg.corner_p, cfg.desk_things_p = 1.0, 0.0, 1.0
    engine = SceneEngine(cfg, seed=5)
    scenes = sample_rooms(12, cfg, engine.textures, engine.sprites, engine.pickers,
                          torch.Generator().manual_seed(5))
    assert scenes.rays.close.all()
    fast, reference = render_rooms(scenes, 64, 64), render_rooms_torch(scenes)
    assert_same_render(fast, reference)


def test_things_on_a_desk_stand_on_its_top_inside_its_edges_apart_from_each_other():
    rng, counts = np.random.default_rng(0), []
    for _ in range(200):
        piece, w, d = desk(rng, 3.0)
        h = max(box[3] for box in piece)
        things = desk_things(rng, w, d, h)
        counts.append(len(things))
        boxes = [piece[0] for piece in things]
        assert all(len(piece) == 1 for piece in things)
        for a0, a1, y0, y1, c0, c1 in boxes:
            assert y0 == h and 0.005 <= y1 - h <= 0.4 and 0 < a0 < a1 < w and 0 < c0 < c1 < d
        for i, p in enumerate(boxes):
            for q in boxes[:i]:
                assert not (p[0] < q[1] and q[0] < p[1] and p[4] < q[5] and q[4] < p[5])
    assert min(counts) >= 1 and max(counts) <= 8 and np.mean(counts) > 3


def test_desks_ahead_carry_things_when_asked_and_draw_as_before_when_not():
    _, room, g = _cameras(64, seed=2, close_p=1.0, corner_p=0.0)
    state = g.get_state()
    boxes = sample_furniture(room, 3, 10, g, desk_ahead=np.ones(64), things_p=1.0)
    live = (boxes.present > 0) & (boxes.emit == 0)
    tops = live & (boxes.hi[..., 1] - boxes.lo[..., 1] < 0.06) & (boxes.hi[..., 1] > 0.7) & \
        (boxes.hi[..., 1] < 0.77)
    on_top = 0
    for i in range(64):
        for t in tops[i].nonzero().flatten().tolist():
            lo, hi = boxes.lo[i, t], boxes.hi[i, t]
            sits = live[i] & ((boxes.lo[i, :, 1] - hi[1]).abs() < 1e-5) & \
                (boxes.lo[i, :, 0] > lo[0]) & (boxes.hi[i, :, 0] < hi[0]) & \
                (boxes.lo[i, :, 2] > lo[2]) & (boxes.hi[i, :, 2] < hi[2])
            on_top += int(sits.sum())
    assert on_top > 64 * 2  # most desks ahead carry things, 2-8 each
    assert (boxes.present.sum(1) <= BOX_SLOTS).all()
    g.set_state(state)
    none = sample_furniture(room, 3, 10, g, desk_ahead=np.ones(64), things_p=0.0)
    g.set_state(state)
    without = sample_furniture(room, 3, 10, g, desk_ahead=np.ones(64))
    assert all(torch.equal(a, b) for a, b in zip(dataclasses.astuple(none), dataclasses.astuple(without)))


def test_default_furniture_is_what_the_engine_drew_before_desk_things_existed():
    """Figures of a fixed seed's furniture (close cameras and desks ahead included) as the code
    before desk_things_p drew them: a new option that is off must not change any scene (the
    validation sets and the shipped recipes depend on it)."""
    cfg = small_config()
    cfg.close_p = 0.5
    g = torch.Generator().manual_seed(11)
    rays = rooms.sample_rays(32, 16, 16, cfg, g)
    room = rooms.sample_room(32, rays, cfg, g)
    b = sample_furniture(room, 5, 20, g, desk_ahead=rays.close.view(-1).numpy() * 0.7)
    slot = torch.arange(1, BOX_SLOTS + 1).float()
    figures = [b.present.sum(), (b.lo.sum(2) * b.present).sum(), (b.hi.sum(2) * b.present * slot).sum(),
               (b.tile * b.present).sum(), (b.tint.sum(2) * b.present).sum(),
               (b.tiles_per_m * b.present).sum(), torch.rand(1, generator=g)]
    expected = [374.0, 1107.3035, 15272.4033, 3504.0, 881.6436, 478.2838, 0.9786]
    assert [float(f) for f in figures] == pytest.approx(expected, rel=2e-5, abs=1e-4)

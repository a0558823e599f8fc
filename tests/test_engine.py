"""The scene engine: determinism, exact and consistent ground truth, capture conditions."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from conftest import small_config
from maskdepth.synth import KEYS, SceneEngine
from maskdepth.synth.capture import apply_capture, apply_capture_torch, sample_capture
from maskdepth.synth.engine import objects
from maskdepth.synth.engine import room as rooms
from maskdepth.synth.engine.scene import render_rooms, render_rooms_torch, sample_rooms
from maskdepth.synth.sprites import furniture, people
from parity import assert_same_capture, assert_same_render


def dilate(mask: torch.Tensor, px: int = 1) -> torch.Tensor:
    return F.max_pool2d(mask, 2 * px + 1, stride=1, padding=px)


def test_outputs_have_documented_shapes_and_ranges(clean_engine):
    batch = clean_engine.render(6, seed=1)
    assert set(batch) == set(KEYS)
    for key in ("image", "background"):
        assert batch[key].shape == (6, 3, 64, 64) and batch[key].dtype == torch.float32
        assert 0 <= batch[key].min() and batch[key].max() <= 1
        assert torch.equal(batch[key], torch.round(batch[key] * 255) / 255), "8-bit levels"
    for key in ("mask", "depth", "background_depth", "shadow"):
        assert batch[key].shape == (6, 1, 64, 64)
    assert set(batch["mask"].unique().tolist()) <= {0.0, 1.0}
    assert batch["depth"].min() > 0 and batch["depth"].max() < 30  # metres, rooms are <= 10 m
    assert batch["mask"].sum() > 0


def test_same_seed_same_batch_and_other_seed_other_batch():
    a = SceneEngine(small_config(noise_p=1, jpeg_p=1, exposure_p=1, misalign_p=1, shadow_p=1), seed=3)
    b = SceneEngine(small_config(noise_p=1, jpeg_p=1, exposure_p=1, misalign_p=1, shadow_p=1), seed=3)
    first, again = a.render(4, seed=7), b.render(4, seed=7)
    for key in KEYS:
        assert torch.equal(first[key], again[key]), key
    other = a.render(4, seed=8)
    assert not torch.equal(first["image"], other["image"])


def test_mask_is_exactly_where_the_image_is_nearer_than_the_background(clean_engine):
    batch = clean_engine.render(16, seed=2)
    nearer = batch["depth"] < batch["background_depth"]
    assert torch.equal(batch["mask"].bool(), nearer)
    outside = batch["mask"] == 0
    assert torch.equal(batch["depth"][outside], batch["background_depth"][outside])


def test_clean_image_equals_background_away_from_the_foreground(clean_engine):
    batch = clean_engine.render(16, seed=4)
    # Anti-aliased outlines blend colour up to about one sprite texel outside the hard mask, and
    # a wide lens's bilinear resampling (synth/lens.py) about one pixel more; at the frame's edge
    # the hard part of an outline may lie outside the frame, so a 3 px border is left out.
    away = dilate(batch["mask"], 3).expand(-1, 3, -1, -1) == 0
    away[..., :3, :] = away[..., -3:, :] = away[..., :, :3] = away[..., :, -3:] = False
    assert torch.equal(batch["image"][away], batch["background"][away])
    inside = batch["mask"].expand(-1, 3, -1, -1) == 1
    assert (batch["image"][inside] - batch["background"][inside]).abs().mean() > 0.02


def _flat_scene(distance: float, size: int = 128):
    """A level camera (no pitch, no yaw) 1 m above the floor, and one person `distance` away."""
    cfg = small_config()
    cfg.pitch_deg = cfg.yaw_deg = (0.0, 0.0)
    cfg.fov_deg, cfg.camera_height = (60.0, 60.0), (1.0, 1.0)
    g = torch.Generator().manual_seed(0)
    rays = rooms.sample_rays(1, size, size, cfg, g)
    bank = people(1, 64, g)
    one = torch.ones(1, 1, 1)
    width, height = bank.size_m[0].tolist()
    place = objects.Placement(bank.pixels, torch.tensor([0]), 0 * one, distance * one, width * one,
                              height * one, 0.25 * one, one, one)
    colour = torch.zeros(1, 3, size, size)
    depth = torch.full((1, size, size), 50.0)
    _, depth, mask = objects.draw(colour, depth, place, rays, torch.ones(1, 1, 1, 1))
    return depth[0], mask[0], height, rays.focal.item()


@pytest.mark.parametrize("distance", [2.0, 3.0, 5.0, 9.0])
def test_apparent_height_is_focal_length_times_height_over_distance(distance):
    _, mask, height, focal = _flat_scene(distance)
    rows = mask.any(dim=1).sum().item()
    assert rows == pytest.approx(height * focal / distance, abs=2.0)


def test_object_depth_is_its_distance_minus_its_relief():
    depth, mask, _, _ = _flat_scene(3.0)
    seen = depth[mask]
    assert seen.max() <= 3.0 + 1e-5 and seen.min() >= 3.0 - 0.25 - 1e-5
    assert seen.min() < 3.0 - 0.1  # rounded: the middle of the body is nearer than its outline


def _variant(**capture):
    return SceneEngine(small_config(**capture), seed=0).render(8, seed=11)


@pytest.fixture(scope="module")
def reference():
    return _variant()


@pytest.mark.parametrize("effect, image_changes, background_changes", [
    ({"exposure_p": 1.0}, True, False),
    ({"misalign_p": 1.0}, False, True),
    ({"noise_p": 1.0}, True, True),
    ({"jpeg_p": 1.0}, True, True),
])
def test_each_capture_condition_changes_only_what_it_should(reference, effect, image_changes,
                                                           background_changes):
    batch = _variant(**effect)
    assert (not torch.equal(batch["image"], reference["image"])) == image_changes
    assert (not torch.equal(batch["background"], reference["background"])) == background_changes
    for key in ("mask", "depth", "background_depth", "shadow"):
        assert torch.equal(batch[key], reference[key]), key


def test_shadows_darken_the_floor_but_are_not_foreground(reference):
    batch = _variant(shadow_p=1.0)
    assert torch.equal(batch["background"], reference["background"])
    assert torch.equal(batch["mask"], reference["mask"])
    shadow = batch["shadow"] > 0.05
    assert shadow.sum() > 20
    assert not (shadow & (batch["mask"] > 0)).any()
    darker = batch["image"].mean(1, keepdim=True) < reference["image"].mean(1, keepdim=True)
    assert darker[shadow].float().mean() > 0.9
    untouched = (batch["shadow"] == 0).expand(-1, 3, -1, -1)
    assert torch.equal(batch["image"][untouched], reference["image"][untouched])


def test_photo_scenes_have_exact_masks_and_unknown_depth(photo_folders):
    backgrounds, cutouts = photo_folders
    cfg = small_config()
    cfg.photo_p = 1.0
    engine = SceneEngine(cfg, seed=0, foregrounds=cutouts, backgrounds=backgrounds)
    batch = engine.render(6, seed=1)
    assert batch["depth"].abs().sum() == 0 and batch["background_depth"].abs().sum() == 0
    assert (batch["mask"].sum(dim=(1, 2, 3)) > 0).all()
    away = dilate(batch["mask"], 2).expand(-1, 3, -1, -1) == 0
    assert torch.equal(batch["image"][away], batch["background"][away])


def test_backgrounds_without_foregrounds_is_refused(photo_folders):
    from maskdepth.errors import UserError

    with pytest.raises(UserError, match="--foregrounds"):
        SceneEngine(small_config(), backgrounds=photo_folders[0])


def test_cutouts_appear_in_rooms(photo_folders):
    cfg = small_config()
    cfg.cutout_p = 1.0
    engine = SceneEngine(cfg, seed=0, foregrounds=photo_folders[1])
    assert engine.pickers.cutouts is not None and len(engine.pickers.cutouts) == 2
    assert engine.render(4, seed=0)["mask"].sum() > 0


def test_procedural_sprites_fill_their_billboards():
    g = torch.Generator().manual_seed(0)
    for bank, most in ((people(6, 32, g), 0.6), (furniture(10, 32, g), 1.0)):
        alpha = bank.pixels[:, 3]
        assert (alpha.amax(dim=(1, 2)) == 1).all()
        coverage = alpha.mean(dim=(1, 2))
        assert (coverage > 0.05).all() and (coverage <= most).all()
        assert math.isclose(bank.pixels[:, 4].max().item(), 1.0, abs_tol=0.05)


def test_rays_parallel_to_walls_floor_or_ceiling_stay_finite():
    """Directions of exactly +0.0 or -0.0 along an axis once gave -inf depth (and NaN losses)."""
    zero = torch.tensor([0.0, -0.0, 0.3, -0.3])
    rays = rooms.Rays(dx=zero.view(1, 1, 4), dy=zero.view(1, 4, 1), dz=torch.ones(1, 4, 1),
                      camera_height=torch.full((1, 1, 1), 1.2), focal=torch.full((1, 1, 1), 50.0),
                      pitch=torch.zeros(1, 1, 1))
    one = torch.ones(1, 1, 1)
    for yaw in (0.0, math.pi / 2, -math.pi / 2):
        room = rooms.Room(2 * one, 3 * one, 1 * one, 5 * one, 2.8 * one, yaw * one)
        hit = rooms.cast_room(rays, room)
        assert torch.isfinite(hit.depth).all() and (hit.depth > 0).all()
    light = rooms.Lighting(one, 2.7 * one, 2 * one, one, 0.3 * one, (0.3 * one, 0.8 * one, 0.5 * one))
    place = objects.Placement(torch.rand(1, 6, 8, 8), torch.tensor([0]), 0 * one, 3 * one, one, 1.7 * one, 0.2 * one,
                              one, one)
    assert torch.isfinite(objects.cast_shadow(place, rays, light, 0.5 * one)).all()


def test_many_batches_are_finite():
    engine = SceneEngine(small_config(noise_p=0.5, jpeg_p=0.3, exposure_p=0.5, misalign_p=0.3,
                                      shadow_p=0.5), seed=0)
    for seed in range(40):
        for key, value in engine.render(16, seed=seed).items():
            assert torch.isfinite(value).all(), (seed, key)


def _scenes(engine: SceneEngine, b: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    return sample_rooms(b, engine.config, engine.textures, engine.sprites, engine.pickers, g)


@pytest.mark.kernel_parity
def test_compiled_renderer_matches_the_torch_definition():
    engine = SceneEngine(small_config(shadow_p=1.0), seed=2)
    for seed in range(3):
        scenes = _scenes(engine, 12, seed)
        assert_same_render(render_rooms(scenes, 64, 64), render_rooms_torch(scenes))


@pytest.mark.kernel_parity
def test_compiled_renderer_matches_on_rays_parallel_to_the_walls():
    """Odd sizes put a pixel ray exactly on the optical axis; with no yaw it runs parallel to the
    side walls (direction +-0), where the plane distances are infinite."""
    config = small_config(shadow_p=1.0)
    config.height = config.width = 65
    config.yaw_deg = config.pitch_deg = (0.0, 0.0)
    engine = SceneEngine(config, seed=1)
    scenes = _scenes(engine, 4, 0)
    fast = render_rooms(scenes, 65, 65)
    assert all(torch.isfinite(fast[key]).all() for key in KEYS)
    assert_same_render(fast, render_rooms_torch(scenes))


@pytest.mark.kernel_parity
def test_compiled_capture_matches_the_torch_definition():
    """Every effect on every scene; the kernel may land on the neighbouring 8-bit level where
    the exact value sits on a rounding boundary (float order of operations), nothing more."""
    config = small_config(noise_p=1, exposure_p=1, misalign_p=0.5)
    engine = SceneEngine(config, seed=0)
    clean = render_rooms(_scenes(engine, 16, 5), 64, 64)
    capture = sample_capture(16, 64, 64, engine.noise_bank, config.capture, torch.Generator().manual_seed(1))
    assert 0 < capture.misaligned.sum() < 16
    fast = apply_capture(clean["image"], clean["background"], capture)
    reference = apply_capture_torch(clean["image"], clean["background"], capture)
    for a, b in zip(fast, reference):
        assert_same_capture(a, b)

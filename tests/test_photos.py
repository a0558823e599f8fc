"""The photos source: cut-outs over background photos, and `maskdepth build`."""

from __future__ import annotations

import filecmp
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from maskdepth.cli import main
from maskdepth.data.config import DataConfig, SourceConfig
from maskdepth.data.sources import TrainStream
from maskdepth.errors import UserError
from maskdepth.io.atomic import atomic_write_bytes
from maskdepth.io.images import write_rgb
from maskdepth.io.journal import JOURNAL_NAME
from maskdepth.io.layout import read_manifest
from maskdepth.io.validate import validate
from maskdepth.synth import CaptureConfig
from maskdepth.synth.export import export_dataset
from maskdepth.synth.photos.build import build_renderer
from maskdepth.synth.photos.compositor import PhotoCompositor, PhotoConfig
from parity import assert_same_render

GREY = 128


@pytest.fixture()
def flat_photos(tmp_path):
    """Flat grey backgrounds and opaque cut-outs with no green (an L shape and a bar), so that
    each pixel's coverage can be read back from the green channel of a clean composite."""
    backgrounds, cutouts = tmp_path / "bg", tmp_path / "fg"
    for i in range(2):
        write_rgb(backgrounds / f"room{i}.png", np.full((80, 100, 3), GREY, np.uint8))
    shapes = [np.zeros((60, 40), np.uint8), np.zeros((50, 20), np.uint8)]
    shapes[0][:, :12] = 255
    shapes[0][45:, :] = 255  # an L: not symmetric, so a mirror shows
    shapes[1][:, :] = 255
    for i, alpha in enumerate(shapes):
        bgra = np.zeros((*alpha.shape, 4), np.uint8)
        bgra[..., 2 - i * 2] = 255  # red and blue, green stays 0
        bgra[..., 3] = alpha
        atomic_write_bytes(cutouts / f"thing{i}.png", cv2.imencode(".png", bgra)[1].tobytes())
    return backgrounds, cutouts


def compositor(folders, **changes) -> PhotoCompositor:
    config = PhotoConfig(height=64, width=64, brightness=(1, 1), channel=(1, 1), saturation=(1, 1),
                         cutout_res=48, capture=CaptureConfig.clean())
    for key, value in changes.items():
        setattr(config, key, value)
    return PhotoCompositor(*folders, config, seed=0)


def coverage_from_green(batch) -> torch.Tensor:
    """(B, H, W) coverage read back from a clean composite over flat grey: image green =
    grey * (1 - coverage), since no cut-out has green."""
    return 1 - batch["image"][:, 1] / (GREY / 255)


@pytest.mark.kernel_parity
def test_compiled_compositing_matches_the_opencv_definition(photo_folders):
    """Crops (zoomed, mirrored), shadows and jittered cut-outs: the kernels give what paste.py's
    OpenCV warps and numpy blends give."""
    capture = CaptureConfig.clean()
    capture.shadow_p = 1.0
    config = PhotoConfig(height=64, width=80, cutout_res=48, capture=capture)
    photos = PhotoCompositor(*photo_folders, config, seed=0)
    fast = photos.compose(12, torch.Generator().manual_seed(4))
    reference = photos.compose_opencv(12, torch.Generator().manual_seed(4))
    assert fast["mask"].sum() > 0 and fast["shadow"].sum() > 0
    assert_same_render(fast, reference)


@pytest.mark.parametrize("flip", [False, True])
def test_mask_is_exact_under_flips_and_occlusion(flat_photos, flip):
    source = compositor(flat_photos, objects=(2, 3), empty_p=0.0)
    flips = torch.full((16,), flip)
    batch = source.render(16, seed=5, flips=flips)
    cover = coverage_from_green(batch)
    decided = (cover - 0.5).abs() > 0.01  # 8-bit rounding leaves a hair's width around 0.5
    assert torch.equal(batch["mask"][:, 0][decided], (cover > 0.5)[decided])
    assert batch["mask"].sum() > 0 and (cover > 0.5).float().mean() < 0.9
    # Outside every cut-out the image is the background, to the level.
    outside = (cover == 0).unsqueeze(1).expand_as(batch["image"])
    assert torch.equal(batch["image"][outside], batch["background"][outside])


def test_first_cut_out_and_flip_follow_the_plan(flat_photos):
    source = compositor(flat_photos, objects=(1, 1), empty_p=0.0)
    g = torch.Generator().manual_seed(0)
    a = source.place(8, g, cutout_ids=torch.zeros(8, dtype=torch.long), flips=torch.ones(8).bool())
    assert torch.equal(a.sprite[:, 0], torch.zeros(8, dtype=torch.long))
    assert torch.equal(a.flip[:, 0], -torch.ones(8))


def test_depth_is_unknown_everywhere(flat_photos):
    batch = compositor(flat_photos).render(8, seed=1)
    assert batch["depth"].abs().sum() == 0 and batch["background_depth"].abs().sum() == 0


def test_same_seed_same_batch_and_other_seed_another(flat_photos):
    source = compositor(flat_photos, capture=CaptureConfig())
    a, b, c = source.render(6, seed=3), source.render(6, seed=3), source.render(6, seed=4)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["image"], c["image"])


CONDITIONS = {  # capture setting -> (image changes, background changes)
    "exposure_p": (True, False),
    "misalign_p": (False, True),
    "noise_p": (True, True),
    "jpeg_p": (True, True),
}


@pytest.mark.parametrize("condition", sorted(CONDITIONS))
def test_each_capture_condition_changes_only_its_own_outputs(photo_folders, condition):
    clean = compositor(photo_folders).render(8, seed=2)
    capture = CaptureConfig.clean()
    setattr(capture, condition, 1.0)
    changed = compositor(photo_folders, capture=capture).render(8, seed=2)
    image_changes, background_changes = CONDITIONS[condition]
    assert (not torch.equal(clean["image"], changed["image"])) == image_changes
    assert (not torch.equal(clean["background"], changed["background"])) == background_changes
    for key in ("mask", "depth", "shadow"):
        assert torch.equal(clean[key], changed[key]), key


def test_shadows_darken_the_background_only_outside_the_mask(photo_folders):
    clean = compositor(photo_folders).render(8, seed=2)
    capture = CaptureConfig.clean()
    capture.shadow_p = 1.0
    shaded = compositor(photo_folders, capture=capture).render(8, seed=2)
    assert torch.equal(clean["background"], shaded["background"])
    assert torch.equal(clean["mask"], shaded["mask"])
    assert shaded["shadow"].max() > 0.1 and (shaded["shadow"] * shaded["mask"]).max() == 0
    darker = shaded["image"].sum(1, keepdim=True) < clean["image"].sum(1, keepdim=True) - 1e-6
    outside = shaded["mask"] == 0  # (edge pixels under half covered may show the shadow too)
    assert darker.any() and not (darker & outside & (shaded["shadow"] == 0)).any()


def test_photos_source_trains_with_a_weighted_mix(photo_folders):
    backgrounds, cutouts = (str(p) for p in photo_folders)
    data = DataConfig(sources=[SourceConfig(kind="photos", backgrounds=backgrounds, foregrounds=cutouts)],
                      batch_size=3, sizes=[32], size_steps=[0])
    batch = next(iter(TrainStream(data, seed=0, stop=1)))
    assert batch["image"].shape == (3, 3, 32, 32) and batch["depth"].abs().sum() == 0
    with pytest.raises(UserError, match="foregrounds"):
        TrainStream(DataConfig(sources=[SourceConfig(kind="photos")]), seed=0).build()


def _build(folders, out: Path, fail_at: int | None = None):
    source = compositor(folders, capture=CaptureConfig(), objects=(1, 2))
    render = build_renderer(source, count=22, placements=3, seed=7, batch_size=5)

    def interrupted(k):
        if k == fail_at:
            raise KeyboardInterrupt
        return render(k)

    return export_dataset(interrupted, out, 22, 5, settings={"seed": 7}, progress=False)


def test_build_interrupted_and_resumed_equals_one_uninterrupted_build(tmp_path, photo_folders):
    whole = _build(photo_folders, tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        _build(photo_folders, tmp_path / "resumed", fail_at=2)
    assert (tmp_path / "resumed" / JOURNAL_NAME).exists()
    assert not (tmp_path / "resumed" / "manifest.csv").exists()
    resumed = _build(photo_folders, tmp_path / "resumed")
    assert whole.read_text() == resumed.read_text()
    files = sorted(p.relative_to(whole.parent) for p in whole.parent.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(resumed.parent) for p in resumed.parent.rglob("*") if p.is_file())
    match, mismatch, errors = filecmp.cmpfiles(whole.parent, resumed.parent, [str(f) for f in files],
                                               shallow=False)
    assert not mismatch and not errors and len(match) == len(files)
    assert [s.id for s in read_manifest(resumed)] == [f"{i:06d}" for i in range(22)]


def test_build_refuses_other_settings_and_foreign_folders(tmp_path, photo_folders):
    with pytest.raises(KeyboardInterrupt):
        _build(photo_folders, tmp_path / "run", fail_at=1)
    source = compositor(photo_folders)
    render = build_renderer(source, count=22, placements=3, seed=8, batch_size=5)
    with pytest.raises(UserError, match="other settings"):
        export_dataset(render, tmp_path / "run", 22, 5, settings={"seed": 8}, progress=False)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="not empty"):
        export_dataset(render, tmp_path / "mine", 22, 5, progress=False)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_build_command_writes_every_combination_and_a_contact_sheet(tmp_path, photo_folders, capsys):
    backgrounds, cutouts = photo_folders
    args = ["build", "--backgrounds", str(backgrounds), "--foregrounds", str(cutouts),
            "--out", str(tmp_path / "ds"), "--placements", "2", "--size", "48"]
    assert main(args) == 0
    assert "2 backgrounds x 2 cut-outs x 2 flips x 2 placements = 16" in capsys.readouterr().out
    manifest = tmp_path / "ds" / "manifest.csv"
    assert validate(manifest) == [] and len(read_manifest(manifest)) == 16
    assert (tmp_path / "ds" / "contact_sheet.png").exists()
    assert main(args) == 2  # a finished dataset is never overwritten
    assert "not empty" in capsys.readouterr().err
    assert main(["build", "--backgrounds", str(tmp_path / "none"), "--foregrounds", str(cutouts),
                 "--out", str(tmp_path / "x")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_bench_build_measures_both_rates(tmp_path, photo_folders):
    import json

    backgrounds, cutouts = photo_folders
    result = tmp_path / "bench.json"
    args = ["bench", "build", "--backgrounds", str(backgrounds), "--foregrounds", str(cutouts),
            "--size", "48", "--seconds", "0.2", "--export-n", "8", "--batch-size", "4",
            "--export-dir", str(tmp_path), "--json", str(result)]
    assert main(args) == 0
    numbers = json.loads(result.read_text())
    assert numbers["in_memory_scenes_per_s"] > 0 and numbers["to_disk_scenes_per_s"] > 0
    assert main(["bench", "build", "--size", "48"]) == 2


def test_surface_textures_are_small_patches_and_room_textures_keep_whole_photos(tmp_path):
    """A photo whose red rises from 0 to 255 across it: a whole-photo tile spans most of it, a
    surface crop (6-20 % of a side) only a fifth of it at most."""
    from maskdepth.synth.photos.compositor import texture_crops

    ramp = np.zeros((120, 160, 3), np.uint8)
    ramp[..., 0] = np.linspace(0, 255, 160).round().astype(np.uint8)
    for i in range(2):
        write_rgb(tmp_path / f"room{i}.png", ramp)
    spans = lambda tiles: tiles[:, 0].amax((1, 2)) - tiles[:, 0].amin((1, 2))
    rooms = texture_crops(tmp_path, 16, torch.Generator().manual_seed(0))
    surfaces = texture_crops(tmp_path, 16, torch.Generator().manual_seed(0), surfaces=True)
    assert rooms.shape == (2 * 4, 3, 16, 16) and surfaces.shape == (2 * 8, 3, 16, 16)
    assert (spans(rooms[:2]) > 0.6).all()  # the whole (square-cropped) photos come first
    assert (spans(surfaces) < 0.25).all() and (spans(surfaces) > 0.01).all()


def test_room_textures_are_what_the_engine_cut_before_surface_textures_existed(tmp_path):
    """Figures of a fixed seed's room textures as the code before photo_textures cut them."""
    from maskdepth.synth.photos.compositor import texture_crops

    rng = np.random.default_rng(0)
    for i in range(3):
        write_rgb(tmp_path / f"p{i}.png", rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    g = torch.Generator().manual_seed(3)
    tiles = texture_crops(tmp_path, 16, g)
    assert tiles.shape == (12, 3, 16, 16)
    figures = [tiles.sum(), (tiles * torch.arange(16).float()).sum(), tiles[::2].sum(), torch.rand(1, generator=g)]
    assert [float(f) for f in figures] == pytest.approx([4621.6406, 34710.6953, 2320.4592, 0.3686], rel=2e-5, abs=1e-4)

"""Tests for maskdepth.io.layout and `maskdepth validate`: the dataset contract."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from maskdepth import cli
from maskdepth.errors import UserError
from maskdepth.io import layout, validate
from maskdepth.io.images import write_depth, write_mask, write_rgb
from maskdepth.io.layout import HEADER, LayoutError, Sample

SIZE = 16


def make_dataset(folder: Path, n: int = 2) -> Path:
    """A valid dataset of `n` 16x16 samples; only s0 has depth; backgrounds are JPEG."""
    rng = np.random.default_rng(0)
    mask = np.zeros((SIZE, SIZE), bool)
    mask[4:12, 4:12] = True
    rows = []
    for i in range(n):
        sid = f"s{i}"
        write_rgb(folder / "images" / f"{sid}.png", rng.integers(0, 256, (SIZE, SIZE, 3), np.uint8))
        write_rgb(folder / "backgrounds" / f"{sid}.jpg", np.full((SIZE, SIZE, 3), 90, np.uint8))
        write_mask(folder / "masks" / f"{sid}.png", mask)
        depth = ""
        if i == 0:
            depth = "depths/s0.png"
            write_depth(folder / depth, np.full((SIZE, SIZE), 2.5))
        rows.append({"id": sid, "image": f"images/{sid}.png", "background": f"backgrounds/{sid}.jpg",
                     "mask": f"masks/{sid}.png", "depth": depth})
    layout.write_manifest(folder, rows)
    return folder


def edit_cell(folder: Path, row: int, column: str, value: str) -> None:
    """Set one cell of manifest row `row` (0-based, after the header), bypassing write_manifest."""
    path = folder / layout.MANIFEST_NAME
    lines = list(csv.reader(path.open(newline="")))
    lines[row + 1][HEADER.index(column)] = value
    with path.open("w", newline="") as file:
        csv.writer(file, lineterminator="\n").writerows(lines)


@pytest.fixture
def data(tmp_path) -> Path:
    return make_dataset(tmp_path / "data")


def test_write_then_read_manifest_round_trip(data):
    text = (data / "manifest.csv").read_text()
    assert text.splitlines()[:2] == [
        "id,image,background,mask,depth",
        "s0,images/s0.png,backgrounds/s0.jpg,masks/s0.png,depths/s0.png",
    ]
    samples = layout.read_manifest(data)
    root = data.resolve()
    assert samples == [
        Sample("s0", root / "images/s0.png", root / "backgrounds/s0.jpg", root / "masks/s0.png",
               root / "depths/s0.png"),
        Sample("s1", root / "images/s1.png", root / "backgrounds/s1.jpg", root / "masks/s1.png",
               None),
    ]
    # Samples (absolute paths) written back give the same relative manifest.
    layout.write_manifest(data, samples)
    assert (data / "manifest.csv").read_text() == text
    assert layout.read_manifest(data / "manifest.csv") == samples


@pytest.mark.bad_input
def test_write_manifest_refuses_outside_paths_and_unknown_keys(tmp_path, data):
    outside = {"id": "x", "image": tmp_path / "elsewhere.png", "background": "b.png"}
    with pytest.raises(LayoutError, match="elsewhere.png"):
        layout.write_manifest(data, [outside])
    with pytest.raises(ValueError, match="bg"):
        layout.write_manifest(data, [{"id": "x", "image": "a.png", "bg": "b.png"}])


def test_manifest_path_accepts_folder_or_file(data):
    assert layout.manifest_path(data) == data / "manifest.csv"
    assert layout.manifest_path(data / "manifest.csv") == data / "manifest.csv"


def test_prediction_and_shadow_paths(tmp_path, data):
    assert layout.prediction_paths(tmp_path / "out", "s0") == (
        tmp_path / "out" / "s0_mask.png", tmp_path / "out" / "s0_depth.png")
    assert layout.shadow_path(data / "manifest.csv", "s1") == data / "shadows" / "s1.png"
    with pytest.raises(UserError, match="plain file name"):
        layout.prediction_paths(tmp_path, "../evil")


def test_valid_dataset_has_no_problems_and_check_returns_samples(data):
    assert validate.validate(data) == []
    assert [sample.id for sample in validate.check(data)] == ["s0", "s1"]


def test_read_manifest_allows_empty_mask_but_validate_reports_it(data):
    edit_cell(data, 1, "mask", "")
    assert layout.read_manifest(data)[1].mask is None
    problems = validate.validate(data)
    assert len(problems) == 1 and "row 's1'" in problems[0] and "mask is empty" in problems[0]


@pytest.mark.bad_input
def test_read_manifest_raises_on_wrong_header(data):
    path = data / "manifest.csv"
    path.write_text(path.read_text().replace("background", "bg", 1))
    with pytest.raises(LayoutError, match="id,image,bg,mask,depth") as error:
        layout.read_manifest(data)
    assert "make it exactly id,image,background,mask,depth" in error.value.problems[0]


# Each breaks a valid dataset in exactly one way; validate must report exactly one problem
# naming the row (or manifest) and the file.
def _remove_image(d): os.remove(d / "images/s1.png")
def _small_background(d): write_rgb(d / "backgrounds/s0.jpg", np.zeros((20, SIZE, 3), np.uint8))
def _rgb_mask(d): write_rgb(d / "masks/s0.png", np.zeros((SIZE, SIZE, 3), np.uint8))
def _mask_16bit(d): cv2.imwrite(str(d / "masks/s0.png"), np.zeros((SIZE, SIZE), np.uint16))
def _mask_small(d): write_mask(d / "masks/s1.png", np.zeros((8, 8), bool))
def _depth_small(d): write_depth(d / "depths/s0.png", np.ones((SIZE, 8)))
def _duplicate_id(d): edit_cell(d, 1, "id", "s0")
def _empty_id(d): edit_cell(d, 0, "id", "")
def _slash_id(d): edit_cell(d, 0, "id", "a/b")
def _absolute(d): edit_cell(d, 0, "image", str((d / "images/s0.png").resolve()))
def _junk_image(d): (d / "images/s0.png").write_bytes(b"junk")
def _rgb16_image(d): cv2.imwrite(str(d / "images/s0.png"), np.zeros((SIZE, SIZE, 3), np.uint16))
def _no_manifest(d): os.remove(d / "manifest.csv")
def _header_only(d): (d / "manifest.csv").write_text(",".join(HEADER) + "\n")
def _extra_field(d): (d / "manifest.csv").write_text(
    (d / "manifest.csv").read_text() + "s2,a.png,b.png,m.png,,extra\n")


def _mask_values(d):
    values = np.array([0, 128, 255, 7], np.uint8).repeat(SIZE // 4)  # (16,)
    Image.fromarray(np.tile(values, (SIZE, 1))).save(d / "masks/s0.png")


def _depth_8bit(d):
    Image.fromarray(np.full((SIZE, SIZE), 9, np.uint8)).save(d / "depths/s0.png")


def _rgba_image(d):
    Image.fromarray(np.zeros((SIZE, SIZE, 4), np.uint8)).save(d / "images/s1.png")


def _dotdot_escape(d):
    write_rgb(d.parent / "outside.png", np.zeros((SIZE, SIZE, 3), np.uint8))
    edit_cell(d, 0, "image", "../outside.png")


def _symlink_escape(d):
    write_rgb(d.parent / "outside.png", np.zeros((SIZE, SIZE, 3), np.uint8))
    (d / "images/link.png").symlink_to(d.parent / "outside.png")
    edit_cell(d, 0, "image", "images/link.png")


def _exif_rotated(d):
    exif = Image.Exif()
    exif[validate.EXIF_ORIENTATION] = 6
    Image.new("RGB", (SIZE, SIZE)).save(d / "backgrounds/s1.jpg", exif=exif)


BREAKAGES = {
    "missing file": (_remove_image, ["row 's1'", "images/s1.png", "not found"]),
    "background size": (_small_background, ["row 's0'", "backgrounds/s0.jpg", "16x20", "16x16"]),
    "mask not single-channel": (_rgb_mask, ["row 's0'", "masks/s0.png", "single-channel 8-bit"]),
    "mask 16-bit": (_mask_16bit, ["row 's0'", "masks/s0.png", "16-bit", "single-channel 8-bit"]),
    "mask values": (_mask_values, ["row 's0'", "masks/s0.png", "other than 0 and 255", "7, 128"]),
    "mask size": (_mask_small, ["row 's1'", "masks/s1.png", "8x8"]),
    "depth 8-bit": (_depth_8bit, ["row 's0'", "depths/s0.png", "8-bit depth", "16-bit"]),
    "depth size": (_depth_small, ["row 's0'", "depths/s0.png", "8x16"]),
    "duplicate id": (_duplicate_id, ["row 's0' (line 3)", "duplicate id", "line 2"]),
    "empty id": (_empty_id, ["row '' (line 2)", "empty id"]),
    "id with slash": (_slash_id, ["row 'a/b'", "plain file name"]),
    "absolute path": (_absolute, ["row 's0'", "images/s0.png", "absolute path"]),
    "dotdot escape": (_dotdot_escape, ["row 's0'", "../outside.png", "leaves the dataset folder"]),
    "symlink escape": (_symlink_escape, ["row 's0'", "images/link.png", "leaves the dataset"]),
    "unreadable image": (_junk_image, ["row 's0'", "images/s0.png", "not a readable image"]),
    "16-bit image": (_rgb16_image, ["row 's0'", "images/s0.png", "16-bit", "8-bit RGB"]),
    "RGBA image": (_rgba_image, ["row 's1'", "images/s1.png", "RGBA", "without alpha"]),
    "EXIF rotation": (_exif_rotated, ["row 's1'", "backgrounds/s1.jpg", "EXIF orientation 6"]),
    "missing manifest": (_no_manifest, ["manifest.csv", "not found"]),
    "header only": (_header_only, ["manifest.csv", "no samples"]),
    "field count": (_extra_field, ["manifest.csv", "line 4", "6 fields"]),
}


@pytest.mark.bad_input
@pytest.mark.parametrize("name", BREAKAGES)
def test_each_breakage_is_reported_once_with_row_and_file(data, name):
    breakage, expected = BREAKAGES[name]
    breakage(data)
    problems = validate.validate(data)
    assert len(problems) == 1, problems
    for text in expected:
        assert text in problems[0], (text, problems[0])


@pytest.mark.bad_input
def test_several_problems_are_all_reported(data):
    _remove_image(data)
    _mask_values(data)
    _depth_8bit(data)
    _duplicate_id(data)
    problems = validate.validate(data)
    assert len(problems) == 4, problems
    with pytest.raises(LayoutError) as error:
        validate.check(data)
    assert error.value.problems == problems
    assert all(problem in str(error.value) for problem in problems)


def test_no_images_mode_skips_pixel_checks(data):
    _mask_values(data)
    _remove_image(data)
    problems = validate.validate(data, check_images=False)
    assert len(problems) == 1 and "images/s1.png" in problems[0]


def test_layout_error_message_caps_the_list():
    error = LayoutError([f"problem {i}" for i in range(60)], "data/manifest.csv")
    message = str(error)
    assert message.startswith("60 problem(s) in data/manifest.csv:")
    assert "  - problem 49" in message and "problem 50" not in message
    assert "... and 10 more" in message
    assert isinstance(error, UserError) and len(error.problems) == 60


def test_cli_validate_good_and_bad(tmp_path, monkeypatch, capsys):
    # Only `validate` is registered so this test does not depend on other commands existing.
    monkeypatch.setattr(cli, "COMMANDS", ("validate",))
    good = make_dataset(tmp_path / "good")
    bad = make_dataset(tmp_path / "bad")
    _mask_values(bad)
    _remove_image(bad)
    assert cli.main(["validate", str(good)]) == 0
    assert "OK: 2 samples" in capsys.readouterr().out
    assert cli.main(["validate", str(good), str(bad / "manifest.csv")]) == 1
    out = capsys.readouterr().out
    assert "OK: 2 samples" in out and "FAILED: 2 problem(s)" in out
    assert "masks/s0.png" in out and "images/s1.png" in out


def test_cli_validate_help_has_example(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", ("validate",))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["validate", "--help"])
    assert exit_info.value.code == 0
    assert "maskdepth validate data/train" in capsys.readouterr().out

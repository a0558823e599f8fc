"""Tests for maskdepth.io.images: array <-> file round trips, units, refusals, atomic writes."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from PIL import Image

from maskdepth.errors import UserError
from maskdepth.io.images import (
    atomic_write_bytes,
    png_bit_depth,
    read_depth,
    read_mask,
    read_rgb,
    read_rgba,
    write_depth,
    write_mask,
    write_rgb,
    write_shadow,
)

RNG = np.random.default_rng(0)


def random_rgb(height: int = 16, width: int = 24) -> np.ndarray:
    return RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_rgb_png_round_trip_is_exact_and_rgb_ordered(tmp_path):
    image = random_rgb()
    image[0, 0] = (255, 0, 0)
    path = write_rgb(tmp_path / "a.png", image)
    np.testing.assert_array_equal(read_rgb(path), image)
    # Another reader sees red as red: the cv2 BGR order is handled inside write_rgb.
    assert Image.open(path).getpixel((0, 0)) == (255, 0, 0)


def test_rgb_jpeg_is_written_for_jpg_suffix(tmp_path):
    image = np.full((16, 16, 3), (200, 100, 50), np.uint8)
    path = write_rgb(tmp_path / "a.jpg", image)
    assert Image.open(path).format == "JPEG"
    assert np.abs(read_rgb(path).astype(int) - image).max() <= 3


def test_read_rgb_converts_grey_and_rgba(tmp_path):
    Image.fromarray(np.full((8, 8), 77, np.uint8)).save(tmp_path / "grey.png")
    rgba = np.dstack([random_rgb(8, 8), np.full((8, 8), 10, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    grey = read_rgb(tmp_path / "grey.png")
    assert grey.shape == (8, 8, 3) and grey.dtype == np.uint8 and (grey == 77).all()
    np.testing.assert_array_equal(read_rgb(tmp_path / "rgba.png"), rgba[..., :3])


def test_read_rgba_keeps_alpha_or_adds_opaque_alpha(tmp_path):
    rgba = np.dstack([random_rgb(8, 8), RNG.integers(0, 256, (8, 8), dtype=np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "cut.png")
    np.testing.assert_array_equal(read_rgba(tmp_path / "cut.png"), rgba)
    opaque = read_rgba(write_rgb(tmp_path / "rgb.png", random_rgb(8, 8)))
    assert opaque.shape == (8, 8, 4) and (opaque[..., 3] == 255).all()


def test_mask_written_as_0_255_and_read_with_threshold(tmp_path):
    mask = np.zeros((16, 16), bool)
    mask[2:9, 3:7] = True
    for name, given in (("bool.png", mask), ("uint8.png", mask.astype(np.uint8) * 7)):
        path = write_mask(tmp_path / name, given)
        stored = Image.open(path)
        assert stored.mode == "L"
        assert set(np.unique(np.asarray(stored))) == {0, 255}
        np.testing.assert_array_equal(read_mask(path), mask)
    Image.fromarray(np.array([[0, 127, 128, 255]], np.uint8)).save(tmp_path / "grey.png")
    assert read_mask(tmp_path / "grey.png").tolist() == [[False, False, True, True]]


def test_depth_round_trip_has_millimetre_precision(tmp_path):
    depth = RNG.uniform(0.1, 20.0, (16, 16))
    path = write_depth(tmp_path / "d.png", depth)
    assert Image.open(path).mode == "I;16" and png_bit_depth(path) == 16
    back = read_depth(path)
    assert back.dtype == np.float32 and back.shape == (16, 16)
    assert np.abs(back - depth).max() <= 0.0005 + 1e-6
    np.testing.assert_allclose(back, np.rint(depth * 1000) / 1000, atol=1e-6)


def test_depth_unknown_and_out_of_range_values(tmp_path):
    depth = np.array([[np.nan, -1.0, np.inf, 0.0, 70.0, 1.2344, 1.2346]])
    path = write_depth(tmp_path / "d.png", depth)
    millimetres = np.asarray(Image.open(path))
    assert millimetres.tolist() == [[0, 0, 0, 0, 65535, 1234, 1235]]


@pytest.mark.bad_input
def test_read_depth_refuses_8_bit(tmp_path):
    Image.fromarray(np.full((8, 8), 100, np.uint8)).save(tmp_path / "d8.png")
    with pytest.raises(UserError, match=r"d8\.png.*8-bit.*16-bit"):
        read_depth(tmp_path / "d8.png")


@pytest.mark.bad_input
def test_write_depth_refuses_jpeg(tmp_path):
    with pytest.raises(UserError, match=r"d\.jpg"):
        write_depth(tmp_path / "d.jpg", np.ones((4, 4)))


def test_shadow_is_8_bit_strength(tmp_path):
    shadow = np.array([[0.0, 0.5, 1.0, np.nan, 3.0, -1.0]])
    path = write_shadow(tmp_path / "s.png", shadow)
    stored = Image.open(path)
    assert stored.mode == "L"
    assert np.asarray(stored).tolist() == [[0, 128, 255, 0, 255, 0]]


@pytest.mark.bad_input
def test_missing_and_unreadable_files_name_the_file(tmp_path):
    with pytest.raises(UserError, match=r"nope\.png.*not found"):
        read_rgb(tmp_path / "nope.png")
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    with pytest.raises(UserError, match=r"junk\.png.*not a readable image"):
        read_mask(tmp_path / "junk.png")


@pytest.mark.bad_input
def test_truncated_png_is_a_user_error(tmp_path):
    path = write_rgb(tmp_path / "cut.png", random_rgb(64, 64))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(UserError, match=r"cut\.png"):
        read_rgb(path)


@pytest.mark.bad_input
def test_wrong_shapes_and_suffixes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        write_rgb(tmp_path / "a.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        write_rgb(tmp_path / "a.png", np.zeros((4, 4, 3), np.float32))
    with pytest.raises(UserError, match=r"\.bmp"):
        write_mask(tmp_path / "a.bmp", np.zeros((4, 4), bool))


def test_png_bit_depth(tmp_path):
    assert png_bit_depth(write_mask(tmp_path / "m.png", np.zeros((4, 4), bool))) == 8
    cv2.imwrite(str(tmp_path / "rgb16.png"), np.zeros((4, 4, 3), np.uint16))
    assert png_bit_depth(tmp_path / "rgb16.png") == 16
    assert png_bit_depth(write_rgb(tmp_path / "a.jpg", random_rgb(8, 8))) is None


def test_atomic_write_creates_parents_and_leaves_no_temp_files(tmp_path):
    path = atomic_write_bytes(tmp_path / "new" / "deeper" / "f.bin", b"abc")
    assert path.read_bytes() == b"abc"
    write_mask(tmp_path / "new" / "m.png", np.ones((4, 4), bool))
    assert sorted(p.name for p in (tmp_path / "new").rglob("*")) == ["deeper", "f.bin", "m.png"]


@pytest.mark.bad_input
def test_failed_atomic_write_keeps_old_file_and_removes_temp(tmp_path, monkeypatch):
    path = atomic_write_bytes(tmp_path / "f.bin", b"old")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_a_png_with_a_truncated_header_is_refused_naming_the_file(tmp_path):
    """PIL raises ValueError (not OSError) for an IHDR chunk shorter than 13 bytes."""
    path = tmp_path / "cut.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x00IHDR")
    for reader in (read_rgb, read_mask, read_depth):
        with pytest.raises(UserError, match="cut.png: not a readable image"):
            reader(path)


def test_progress_off_a_terminal_is_whole_lines_and_a_final_one():
    """`evaluate ... > log 2>&1`: no carriage returns, one line at the start, at most one per
    interval, one at the end."""
    import io

    from maskdepth.io.progress import LineProgress, progress

    log = io.StringIO()
    with progress(total=500, unit="sample", desc="clean", stream=log) as bar:
        assert isinstance(bar, LineProgress)
        for _ in range(500):
            bar.update(1)
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("clean: done: 500 samples in ")  # under 10 s
    quiet = io.StringIO()
    with progress(total=3, desc="x", stream=quiet, disable=True) as bar:
        bar.update(3)
    assert quiet.getvalue() == ""
    ticking = io.StringIO()
    with LineProgress(total=3, unit="frame", desc="video", every=0.0, stream=ticking) as bar:
        bar.update(2)
        bar.update(1)
    lines = ticking.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines[:2]] == ["video: 2/3 frames", "video: 3/3 frames"]
    failing = io.StringIO()
    with pytest.raises(ValueError), LineProgress(total=3, unit="x", desc="d", stream=failing) as bar:
        bar.update(1)
        raise ValueError("disk full")
    assert failing.getvalue() == ""  # the error is the one line


def test_fit_within_is_the_one_size_rule():
    from maskdepth.io.resize import fit_within

    assert fit_within((720, 1280), max_side=160) == (90, 160)
    assert fit_within((100, 50), max_side=160) == (100, 50)  # never scaled up
    assert fit_within((4000, 3000), max_pixels=1_000_000) == (1155, 866)
    assert fit_within((4000, 3000), max_side=1000, max_pixels=1_000_000) == (1000, 750)
    assert fit_within((2000, 10), max_side=100, minimum=32) == (100, 32)

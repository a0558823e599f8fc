"""The Python API and `maskdepth predict` in every mode, on tiny generated inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from maskdepth import MaskDepth
from maskdepth.cli import main
from maskdepth.errors import UserError
from maskdepth.io import images as imageio
from maskdepth.io.layout import prediction_paths, read_manifest
from maskdepth.models import build_model
from maskdepth.synth import CaptureConfig, SceneConfig, SceneEngine


@pytest.fixture(scope="module")
def scene():
    batch = SceneEngine(SceneConfig(height=72, width=100, capture=CaptureConfig.clean()), seed=0).render(1, 5)
    to_uint8 = lambda t: (t[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return to_uint8(batch["image"]), to_uint8(batch["background"])


def test_predict_accepts_paths_pil_and_numpy_and_keeps_the_size(weights, scene, tmp_path):
    image, background = scene
    imageio.write_rgb(tmp_path / "i.png", image)
    imageio.write_rgb(tmp_path / "b.png", background)
    model = MaskDepth.load(weights)
    from_paths = model.predict(tmp_path / "i.png", str(tmp_path / "b.png"), align=False)
    from_pil = model.predict(Image.fromarray(image), Image.fromarray(background), align=False)
    from_float = model.predict(image / 255.0, background.astype(np.float32) / 255, align=False)
    for result in (from_paths, from_pil, from_float):
        assert result.mask.shape == result.depth.shape == result.probability.shape == (72, 100)
        assert result.mask.dtype == bool and result.depth.dtype == np.float32
        assert (result.depth > 0).all() and 0 <= result.probability.min() <= result.probability.max() <= 1
    assert np.allclose(from_paths.probability, from_pil.probability, atol=1e-6)
    assert np.allclose(from_paths.depth, from_float.depth, atol=2e-3)


def test_batched_predictions_equal_single_ones_at_odd_and_large_sizes(weights, scene):
    image, background = scene
    model = MaskDepth.load(weights, max_side=64)
    big = np.kron(image, np.ones((5, 5, 1), np.uint8))  # 360 x 500: processed at 46 x 64
    big_bg = np.kron(background, np.ones((5, 5, 1), np.uint8))
    single = [model.predict(i, b, align=False) for i, b in ((image, background), (big, big_bg))]
    batched = model.predict([image, big, image], [background, big_bg, background], align=False)
    assert batched[1].mask.shape == (360, 500)
    for a, b in zip(single + [single[0]], batched):
        assert np.allclose(a.probability, b.probability, atol=1e-5)


def test_bad_inputs_get_clear_errors(weights, scene):
    image, background = scene
    model = MaskDepth.load(weights)
    with pytest.raises(UserError, match="background"):
        model.predict(image, background[:40], align=False)
    with pytest.raises(UserError, match="RGB"):
        model.predict(np.zeros((4, 4, 7)), background, align=False)
    with pytest.raises(UserError, match="no such model"):
        MaskDepth.load("missing.safetensors")


def _pair_files(tmp_path, scene):
    image, background = scene
    imageio.write_rgb(tmp_path / "shot.png", image)
    imageio.write_rgb(tmp_path / "room.png", background)
    return tmp_path / "shot.png", tmp_path / "room.png"


def test_predict_pair_writes_mask_depth_colour_and_view(weights, scene, tmp_path):
    image, background = _pair_files(tmp_path, scene)
    out = tmp_path / "out"
    assert main(["predict", "--image", str(image), "--background", str(background), "--out", str(out),
                 "--checkpoint", str(weights)]) == 0
    mask_path, depth_path = prediction_paths(out, "shot")
    assert set(np.unique(np.asarray(Image.open(mask_path)))) <= {0, 255}
    assert imageio.read_depth(depth_path).shape == (72, 100)
    assert imageio.read_rgb(out / "shot_view.png").shape == (72, 300, 3)
    assert (out / "shot_depth_color.png").exists()


def test_predict_manifest_and_folder(weights, scene, tmp_path):
    data = tmp_path / "data"
    assert main(["synth", "--out", str(data), "--n", "3", "--size", "48"]) == 0
    assert main(["predict", "--data", str(data), "--out", str(tmp_path / "p"), "--checkpoint", str(weights)]) == 0
    for sample in read_manifest(data):
        mask_path, depth_path = prediction_paths(tmp_path / "p", sample.id)
        assert mask_path.exists() and depth_path.exists()
    folder = tmp_path / "shots"
    image, background = _pair_files(tmp_path, scene)
    folder.mkdir()
    for name in ("a", "b"):
        imageio.write_rgb(folder / f"{name}.png", imageio.read_rgb(image))
    assert main(["predict", "--images", str(folder), "--background", str(background),
                 "--out", str(tmp_path / "f"), "--checkpoint", str(weights)]) == 0
    assert sorted(p.name for p in (tmp_path / "f").glob("*_mask.png")) == ["a_mask.png", "b_mask.png"]


def test_predict_refuses_inconsistent_flags(weights, tmp_path, capsys):
    assert main(["predict", "--image", "x.png", "--out", str(tmp_path)]) == 2
    assert "--background" in capsys.readouterr().err
    assert main(["predict", "--image", str(weights), "--background", str(weights), "--out",
                 str(tmp_path / "o"), "--engine", "onnx", "--device", "cuda"]) == 2
    assert "onnx" in capsys.readouterr().err


def test_onnx_engine_runs_any_model_file_through_a_cached_export(weights, scene, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setenv("MASKDEPTH_CACHE", str(tmp_path / "cache"))
    image, background = _pair_files(tmp_path, scene)
    first = MaskDepth.load(weights, engine="onnx").predict(image, background, align=False)
    (cached,) = (tmp_path / "cache").glob("*.onnx")
    stamp = cached.stat().st_mtime_ns
    again = MaskDepth.load(weights, engine="onnx").predict(image, background, align=False)
    assert cached.stat().st_mtime_ns == stamp  # exported once
    torch_result = MaskDepth.load(weights).predict(image, background, align=False)
    assert np.array_equal(first.mask, again.mask)
    assert np.abs(first.depth - torch_result.depth).max() <= 0.0015
    assert (first.mask == torch_result.mask).mean() > 0.999


def test_onnx_engine_matches_torch(weights, scene, tmp_path):
    image, background = _pair_files(tmp_path, scene)
    onnx_file = tmp_path / "m.onnx"
    assert main(["export", "--checkpoint", str(weights), "--out", str(onnx_file), "--size", "64"]) == 0
    assert main(["predict", "--image", str(image), "--background", str(background), "--out",
                 str(tmp_path / "o"), "--engine", "onnx", "--checkpoint", str(onnx_file), "--no-align"]) == 0
    torch_result = MaskDepth.load(weights).predict(image, background, align=False)
    onnx_depth = imageio.read_depth(prediction_paths(tmp_path / "o", "shot")[1])
    assert np.abs(onnx_depth - torch_result.depth).max() <= 0.0015


def test_predict_video_with_and_without_a_background(weights, tmp_path):
    from maskdepth.io.layout import prediction_paths
    from maskdepth.io.video import VideoWriter, read_frames
    from maskdepth.io.video_out import read_video

    batch = SceneEngine(SceneConfig(height=64, width=96, capture=CaptureConfig.clean()), seed=1).render(1, 2)
    room = (batch["background"][0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    video = tmp_path / "walk.mp4"
    with VideoWriter(video, 10.0) as writer:
        for t in range(12):
            frame = room.copy()
            frame[20:50, 5 + 6 * t : 20 + 6 * t] = (200, 40, 40)
            writer.write(frame)
    imageio.write_rgb(tmp_path / "room.png", room)
    for extra, out in (([], tmp_path / "plate"), (["--background", str(tmp_path / "room.png")], tmp_path / "bg")):
        assert main(["predict", "--video", str(video), "--out", str(out), "--checkpoint", str(weights),
                     "--batch-size", "5", "--frames", "--segment-frames", "5", *extra]) == 0
        masks = list(read_video(out / "walk_mask.mkv", "mask"))
        depths = list(read_video(out / "walk_depth.mkv", "depth"))
        assert len(masks) == len(depths) == 12 and masks[0].dtype == np.uint8
        for index, (mask, depth) in enumerate(zip(masks, depths)):  # lossless: the PNGs' values
            mask_png, depth_png = prediction_paths(out / "walk_frames", f"{index:06d}")
            assert np.array_equal(mask, imageio.read_grey(mask_png))
            assert np.array_equal(depth, imageio.depth_to_millimetres(imageio.read_depth(depth_png)))
        view = list(read_frames(out / "walk_view.mp4"))
        assert len(view) == 12 and view[0].shape == (64, 288, 3)
        assert sorted(p.name for p in out.iterdir() if p.name.startswith("walk_")) == [
            *(["walk_clean_plate.png"] if not extra else []), "walk_depth.mkv", "walk_frames",
            "walk_mask.mkv", "walk_view.mp4"]  # the segments joined, their folders gone
    plate = imageio.read_rgb(tmp_path / "plate" / "walk_clean_plate.png")
    assert np.abs(plate.astype(int) - room.astype(int)).mean() < 12


def test_a_video_too_short_for_a_clean_plate_is_warned_about(weights, tmp_path):
    """One frame and no --background: the plate is the frame itself (nothing can be
    foreground), which a warning says, as the CDnet path does."""
    from maskdepth.io.video import VideoWriter

    video = tmp_path / "one.mp4"
    with VideoWriter(video, 10.0) as writer:
        writer.write(np.full((64, 96, 3), 120, np.uint8))
    with pytest.warns(UserWarning, match="only 1 frame"):
        assert main(["predict", "--video", str(video), "--out", str(tmp_path / "out"),
                     "--checkpoint", str(weights)]) == 0


def test_demo_runs_on_the_shipped_model(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--n", "3", "--size", "64"]) == 0
    sheet = imageio.read_rgb(tmp_path / "contact_sheet.png")
    assert sheet.shape[0] > 3 * 64 and sheet.shape[1] > 6 * 64
    text = capsys.readouterr().out
    assert "mask_iou" in text and "depth_rmse" in text


@pytest.mark.bad_input
def test_sixteen_bit_grey_pil_images_are_scaled_not_clipped_to_white():
    from maskdepth.inference.api import to_rgb_array

    ramp = (np.arange(64, dtype=np.uint16) * 1000).reshape(8, 8)  # 0 .. 63,000 of 65,535
    image = Image.fromarray(ramp)
    assert image.mode == "I;16"
    rgb = to_rgb_array(image)
    assert rgb.shape == (8, 8, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == round(63000 * 255 / 65535)
    assert len(np.unique(rgb)) > 50  # a ramp, not all white
    with pytest.raises(UserError, match="integer images must be 0..255"):
        to_rgb_array(Image.fromarray(np.full((4, 4), 70000, np.int32)))


@pytest.mark.bad_input
def test_an_empty_array_is_refused_as_empty():
    from maskdepth.inference.api import to_rgb_array

    with pytest.raises(UserError, match=r"image: the image is empty \(0x0 pixels\)"):
        to_rgb_array(np.zeros((0, 0, 3), np.uint8), "image")


@pytest.mark.bad_input
def test_a_swapped_or_damaged_cached_export_is_made_again(weights, tmp_path, monkeypatch):
    """The cache names its source's SHA-256: an export of other weights put in its place, or a
    damaged file, is never run; it is exported again from the right weights."""
    import shutil

    from maskdepth.runtime.export import export_onnx
    from maskdepth.runtime.loader import onnx_cache_dir
    from maskdepth.runtime.onnx_runner import SOURCE_KEY

    monkeypatch.setenv("MASKDEPTH_CACHE", str(tmp_path / "cache"))
    right = MaskDepth.load(weights, engine="onnx").runner
    (cached,) = onnx_cache_dir().glob("*.onnx")
    torch.manual_seed(9)
    export_onnx(build_model(variant="fast").eval(), tmp_path / "other.onnx", 32, 32)
    shutil.copy(tmp_path / "other.onnx", cached)  # another model under the cache's name
    swapped = MaskDepth.load(weights, engine="onnx").runner
    assert swapped.metadata[SOURCE_KEY] == right.metadata[SOURCE_KEY]
    cached.write_bytes(b"not an onnx file")
    damaged = MaskDepth.load(weights, engine="onnx").runner
    assert damaged.metadata[SOURCE_KEY] == right.metadata[SOURCE_KEY]

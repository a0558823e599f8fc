"""Video files: write, read back, info, clean plate, atomic writing and errors a user can act on."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskdepth.errors import UserError
from maskdepth.io.video import VideoWriter, clean_plate, read_frames, video_info
from maskdepth.io.video_out import read_video

HEIGHT, WIDTH, COUNT, FPS = 64, 96, 20, 10.0
SQUARE = 16


def static_background() -> np.ndarray:
    """(H, W, 3) uint8 smooth colour texture that mp4v compresses well."""
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.normal(size=(HEIGHT, WIDTH, 3)).astype(np.float32), (0, 0), 4)
    return np.clip(128 + 60 * noise / noise.std(), 0, 255).astype(np.uint8)


def moving_square(background: np.ndarray) -> list[np.ndarray]:
    """COUNT frames: a red square crossing the static background from left to right."""
    frames = []
    for index in range(COUNT):
        frame = background.copy()
        left = index * (WIDTH - SQUARE) // (COUNT - 1)
        frame[24:24 + SQUARE, left:left + SQUARE] = (230, 30, 30)
        frames.append(frame)
    return frames


@pytest.fixture()
def video(tmp_path):
    """(path, background, frames) of a written test video."""
    background = static_background()
    frames = moving_square(background)
    path = tmp_path / "walk.mp4"
    with VideoWriter(path, fps=FPS) as writer:
        for frame in frames:
            writer.write(frame)
    return path, background, frames


def test_round_trip_keeps_count_size_and_content(video):
    path, _, frames = video
    assert video_info(path) == (FPS, COUNT, WIDTH, HEIGHT)
    decoded = list(read_frames(path))
    assert len(decoded) == COUNT
    assert all(f.shape == (HEIGHT, WIDTH, 3) and f.dtype == np.uint8 for f in decoded)
    # RGB order survives: the square is red, not blue.
    assert decoded[0][28:36, 4:12].mean(axis=(0, 1)).argmax() == 0
    errors = [np.abs(a.astype(int) - b).mean() for a, b in zip(decoded, frames)]
    assert max(errors) < 8.0  # mp4v compression only


def test_max_frames(video):
    assert len(list(read_frames(video[0], max_frames=7))) == 7


def test_clean_plate_removes_the_moving_square(video):
    path, background, _ = video
    decoded = list(read_frames(path))
    compression = np.abs(decoded[0].astype(int) - background)[:, SQUARE + 8:].mean()
    plate = clean_plate(decoded)
    assert plate.shape == background.shape and plate.dtype == np.uint8
    error = np.abs(plate.astype(int) - background)
    assert error.mean() < compression + 1.0
    # where the square passed, the plate shows the background, not red
    assert error[24:24 + SQUARE].mean() < compression + 2.0
    assert np.abs(decoded[0].astype(int) - background)[24:24 + SQUARE, :SQUARE].mean() > 50


def test_clean_plate_spreads_samples_over_a_list_and_a_stream():
    frames = [np.full((4, 5, 3), i, np.uint8) for i in range(101)]
    # 5 evenly spread samples of 0..100 are 0, 25, 50, 75, 100: median 50
    assert (clean_plate(frames, samples=5) == 50).all()
    # a generator is read once with bounded memory; the samples are still evenly spread
    assert abs(int(clean_plate(iter(frames), samples=5)[0, 0, 0]) - 50) <= 10
    assert (clean_plate(frames[:1], samples=40) == 0).all()
    with pytest.raises(ValueError, match="at least one"):
        clean_plate([])
    with pytest.raises(ValueError, match="one size"):
        clean_plate([frames[0], np.zeros((4, 6, 3), np.uint8)])


def test_writer_leaves_no_temporary_file(video, tmp_path):
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk.mp4"]


def test_writer_removes_its_file_when_the_block_raises(tmp_path):
    path = tmp_path / "broken.mp4"
    with pytest.raises(RuntimeError), VideoWriter(path) as writer:
        writer.write(static_background())
        raise RuntimeError("crash while writing")
    assert list(tmp_path.iterdir()) == []


def test_writer_keeps_the_old_file_on_error(video):
    path = video[0]
    before = path.read_bytes()
    with pytest.raises(ValueError, match="resize"), VideoWriter(path) as writer:
        writer.write(static_background())
        writer.write(np.zeros((HEIGHT + 2, WIDTH, 3), np.uint8))
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["walk.mp4"]


def test_writer_rejects_other_suffixes_and_empty_videos(tmp_path):
    with pytest.raises(UserError, match="out.mp4"):
        VideoWriter(tmp_path / "out.gif")
    with pytest.raises(ValueError, match="no frames"), VideoWriter(tmp_path / "empty.mp4"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_unreadable_paths_raise_user_errors_naming_the_file(tmp_path):
    missing = tmp_path / "missing.mp4"
    with pytest.raises(UserError, match="missing.mp4"):
        read_frames(missing)
    with pytest.raises(UserError, match="missing.mp4"):
        video_info(missing)
    junk = tmp_path / "notes.mp4"
    junk.write_text("not a video")
    with pytest.raises(UserError, match="notes.mp4"):
        read_frames(junk)


def test_odd_sizes_are_padded_not_cropped(tmp_path):
    """MPEG-4 needs even sizes: the writer adds a copy of the last row and column."""
    frame = static_background()[:63, :95]
    with VideoWriter(tmp_path / "odd.mp4") as writer:
        writer.write(frame)
        writer.write(frame)
    assert writer.size == (96, 64)
    (decoded, _) = list(read_frames(tmp_path / "odd.mp4"))
    assert decoded.shape == (64, 96, 3)
    assert np.abs(decoded[:63, :95].astype(int) - frame).mean() < 8.0


def test_a_static_camera_is_aligned_once(video, tmp_path, monkeypatch):
    from maskdepth.inference import static
    from maskdepth.inference.api import MaskDepth
    from maskdepth.inference.video import predict_video
    from maskdepth.inference.video_settings import VideoSettings
    from maskdepth.io.images import write_rgb
    from maskdepth.io.journal import Journal

    path, background, _ = video
    calls = []
    real = static.align_background
    monkeypatch.setattr(static, "align_background",
                        lambda image, photo: calls.append(1) or real(image, photo))
    write_rgb(tmp_path / "bg.png", background)
    model = MaskDepth.load(max_side=64)
    assert predict_video(model, path, tmp_path / "bg.png", tmp_path / "out", Journal.untracked(),
                         VideoSettings(batch_size=4, max_side=64)) == COUNT
    assert len(calls) == 1  # 20 frames of a static camera: one alignment, not 20
    tracker = static.StaticBackground(background, every=8)
    for index in range(COUNT):
        tracker.for_frame(background, index)
    assert tracker.alignments == 3 and tracker.realigned == 0  # checked at frames 0, 8 and 16


def test_webcam_mode_with_a_video_file_standing_in_for_the_camera(video, tmp_path, capsys):
    from maskdepth.cli import main
    from maskdepth.io.images import write_rgb

    path, background, _ = video
    write_rgb(tmp_path / "empty.png", background)
    out = tmp_path / "live"
    assert main(["predict", "--webcam", str(path), "--background", str(tmp_path / "empty.png"),
                 "--out", str(out), "--max-frames", "6", "--no-align"]) == 0
    assert "frames/s" in capsys.readouterr().err
    assert sum(1 for _ in read_frames(out / "camera_view.mp4")) == 6
    assert sum(1 for _ in read_video(out / "camera_mask.mkv", "mask")) == 6
    assert sum(1 for _ in read_video(out / "camera_depth.mkv", "depth")) == 6
    assert main(["predict", "--webcam", str(tmp_path / "no-such-camera.mp4"), "--background",
                 str(tmp_path / "empty.png"), "--out", str(tmp_path / "o2")]) == 2
    assert "cannot open it" in capsys.readouterr().err


def test_prefetch_overlaps_and_passes_errors_on():
    from maskdepth.inference.pipeline import batched, prefetch

    assert list(prefetch(range(5))) == [0, 1, 2, 3, 4]
    assert list(batched(range(7), 3)) == [(0, [0, 1, 2]), (3, [3, 4, 5]), (6, [6])]

    def broken():
        yield 1
        raise UserError("decoder failed")

    with pytest.raises(UserError, match="decoder failed"):
        list(prefetch(broken()))
    stream = prefetch(iter(range(1000)))
    assert next(stream) == 0
    stream.close()  # leaving early stops the producer


@pytest.mark.slow
def test_bench_all_writes_a_report_in_tiny_mode(tmp_path, capsys):
    from maskdepth.bench.report import KEPT
    from maskdepth.cli import main

    report = tmp_path / "BENCHMARKS.md"
    report.write_text(f"old figures\n{KEPT}\n## Measured elsewhere\n")
    assert main(["bench", "all", "--tiny", "--out", str(report), "--json",
                 str(tmp_path / "bench.json"), "--export-dir", str(tmp_path)]) == 0
    text = report.read_text()
    for heading in ("## Targets", "## Machine", "## Data", "## Models", "## Training step profile",
                    "## Video: the default command, wall clock", "## What limits the rates"):
        assert heading in text
    assert "| 64x48 |" in text and "model (ONNX Runtime)" in text and "mog2" in text
    assert "fast" in text and "lite0" in text
    assert "old figures" not in text and text.endswith(f"{KEPT}\n## Measured elsewhere\n")

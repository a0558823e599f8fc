"""Prediction videos (io/video_out.py): lossless mask and depth, segments joined in order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from maskdepth.io.video_out import SegmentedVideo, read_video


def _frames(kind: str, count: int, rng) -> list[np.ndarray]:
    if kind == "mask":
        return [rng.integers(0, 2, (36, 52), dtype=np.uint8) * 255 for _ in range(count)]
    if kind == "depth":
        return [rng.integers(0, 65536, (36, 52), dtype=np.uint16) for _ in range(count)]
    return [rng.integers(0, 256, (36, 52, 3), dtype=np.uint8) for _ in range(count)]


def _write_segments(video: SegmentedVideo, frames: list[np.ndarray], bounds) -> None:
    """Each (first, last) of `bounds` as one finished segment of frames[first:last]."""
    for first, last in bounds:
        video.begin(first)
        for frame in frames[first:last]:
            video.write(frame)
        video.end()


def _ffv1_clip(path: Path, room: np.ndarray, frames: int, rows: slice, cols: slice,
               step: int) -> Path:
    """A lossless FFV1 clip (it keeps odd sizes, which an mp4 encoder pads) of `room` (H, W, 3)
    uint8 with a dark block at `rows` x `cols` in the first frame, `step` pixels further right
    in each next one."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=10)
        stream.width, stream.height, stream.pix_fmt = room.shape[1], room.shape[0], "bgr0"
        for n in range(frames):
            frame = room.copy()
            frame[rows, cols.start + step * n: cols.stop + step * n] = 20
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path


@pytest.mark.parametrize("kind, suffix", [("mask", ".mkv"), ("depth", ".mkv")])
def test_segments_join_into_one_lossless_video(tmp_path, kind, suffix):
    frames = _frames(kind, 11, np.random.default_rng(0))
    video = SegmentedVideo(tmp_path / f"walk_{kind}{suffix}", kind, fps=29.97)
    _write_segments(video, frames, ((0, 4), (4, 8), (8, 11)))
    assert video.finished() == [0, 4, 8]
    assert video.join() == tmp_path / f"walk_{kind}{suffix}"
    decoded = list(read_video(video.path, kind))
    assert len(decoded) == 11
    for expected, actual in zip(frames, decoded):
        assert actual.dtype == expected.dtype and np.array_equal(actual, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == [video.path.name]  # parts removed


def test_the_view_plays_in_order_at_its_rate(tmp_path):
    import av

    frames = [np.full((36, 52, 3), 20 * i, np.uint8) for i in range(9)]
    video = SegmentedVideo(tmp_path / "walk_view.mp4", "view", fps=10)
    _write_segments(video, frames, ((0, 3), (3, 6), (6, 9)))
    video.join()
    decoded = list(read_video(video.path, "view"))
    assert [round(float(f.mean()) / 20) for f in decoded] == list(range(9))  # lossy, in order
    with av.open(str(video.path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.average_rate == 10
        assert abs(float(container.duration / av.time_base) - 0.9) < 0.05


def test_a_resumed_video_keeps_only_the_journalled_segments(tmp_path):
    frames = _frames("mask", 6, np.random.default_rng(1))
    video = SegmentedVideo(tmp_path / "walk_mask.mkv", "mask", fps=25)
    _write_segments(video, frames, ((0, 2), (2, 4), (4, 6)))
    video.begin(6)  # killed while writing this one: its temporary file stays
    video.write(frames[0])
    resumed = SegmentedVideo(tmp_path / "walk_mask.mkv", "mask", fps=25)
    resumed.keep_only({0, 2})  # the journal: segment 4 was written but never noted
    assert resumed.finished() == [0, 2]
    assert [p.name for p in resumed.parts.iterdir()] and all(
        not p.name.startswith(".") for p in resumed.parts.iterdir())
    _write_segments(resumed, frames, ((4, 6),))
    resumed.join()
    assert all(np.array_equal(a, b) for a, b in
               zip(read_video(resumed.path, "mask"), frames[:4] + frames[4:], strict=True))


def test_an_abandoned_segment_leaves_nothing(tmp_path):
    video = SegmentedVideo(tmp_path / "walk_depth.mkv", "depth", fps=25)
    video.begin(0)
    video.write(np.zeros((8, 8), np.uint16))
    video.abandon()
    assert video.finished() == [] and video.join() is None
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


@pytest.mark.slow
def test_bench_video_writes_its_section_and_keeps_the_rest(tmp_path, capsys):
    from maskdepth.cli import main

    report = tmp_path / "BENCHMARKS.md"
    report.write_text("# Benchmarks\n\nother numbers\n")
    for _ in range(2):  # the second run replaces the section, not appends another
        assert main(["bench", "video", "--tiny", "--runs", "1", "--out", str(report)]) == 0
    text = report.read_text()
    assert text.startswith("# Benchmarks\n\nother numbers\n")
    assert text.count("## Video: the default command, wall clock") == 1
    assert "| 96x64 |" in text and "| model (ONNX Runtime) |" in text
    assert "depth video (FFV1)" in capsys.readouterr().out
    assert main(["bench", "video", "--tiny", "--runs", "1", "--max-side", "48", "--checkpoint", "lite0"]) == 0
    assert "model lite0 at a working size of 48 px" in capsys.readouterr().out


@pytest.mark.bad_input
def test_a_join_killed_at_any_point_never_shortens_the_finished_video(tmp_path, monkeypatch):
    """kill -9 after the joined file is in place, (a) before the parts leave or (b) while they
    are deleted (2 of 5 gone): the resumed join gives the whole video again, never a shorter one."""
    import os
    import shutil

    frames = _frames("mask", 10, np.random.default_rng(2))
    bounds = [(k, k + 2) for k in range(0, 10, 2)]
    video = SegmentedVideo(tmp_path / "v_mask.mkv", "mask", fps=25)
    _write_segments(video, frames, bounds)
    kept = tmp_path / "kept"
    shutil.copytree(video.parts, kept)
    real_rmtree = shutil.rmtree

    def killed_midway(path, *args, **kwargs):  # deletes two segments, then the process "dies"
        if not Path(path).exists():
            return real_rmtree(path, *args, **kwargs)
        for part in sorted(Path(path).iterdir())[:2]:
            part.unlink()
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "rmtree", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        video.join()
    monkeypatch.setattr(shutil, "rmtree", real_rmtree)
    resumed = SegmentedVideo(tmp_path / "v_mask.mkv", "mask", fps=25)
    assert resumed.finished() == []  # the parts left in one rename
    resumed.join()
    assert len(list(read_video(resumed.path, "mask"))) == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", "v_mask.mkv"]
    # (a): killed after the joined file was in place, before the parts left: all parts remain.
    os.replace(kept, resumed.parts)
    again = SegmentedVideo(tmp_path / "v_mask.mkv", "mask", fps=25)
    again.join()
    decoded = list(read_video(again.path, "mask"))
    assert len(decoded) == 10 and all(np.array_equal(a, b) for a, b in zip(decoded, frames))


@pytest.mark.parametrize(("height", "width"), [(121, 161), (31, 33), (1501, 17)])
def test_a_view_of_odd_size_is_written_with_its_last_row_or_column_repeated(tmp_path, height, width):
    video = SegmentedVideo(tmp_path / "v_view.mp4", "view", fps=10)
    frame = np.full((height, 3 * width, 3), 90, np.uint8)
    _write_segments(video, [frame, frame], ((0, 2),))
    video.join()
    decoded = list(read_video(video.path, "view"))
    assert len(decoded) == 2
    assert decoded[0].shape == (height + height % 2, 3 * width + (3 * width) % 2, 3)


@pytest.mark.bad_input
@pytest.mark.parametrize("kind", ["mask", "depth", "view"])
def test_frames_one_pixel_wide_or_high_are_refused_in_one_line(tmp_path, kind):
    from maskdepth.errors import UserError

    suffix = ".mp4" if kind == "view" else ".mkv"
    video = SegmentedVideo(tmp_path / f"v_{kind}{suffix}", kind, fps=10)
    video.begin(0)
    frame = np.zeros((5, 1, 3) if kind == "view" else (5, 1), np.uint16 if kind == "depth" else np.uint8)
    with pytest.raises(UserError, match="1x5 pixels; prediction videos need at least 2 pixels"):
        video.write(frame)
    video.abandon()


def test_predict_video_of_odd_size_writes_all_three_videos(tmp_path):
    from maskdepth.cli import main
    from maskdepth.io.images import write_rgb
    rng = np.random.default_rng(4)
    room = rng.integers(40, 200, (121, 161, 3), dtype=np.uint8)
    write_rgb(tmp_path / "room.png", room)
    clip = _ffv1_clip(tmp_path / "odd.mkv", room, 4, slice(30, 90), slice(20, 50), step=10)
    out = tmp_path / "out"
    assert main(["predict", "--video", str(clip), "--background", str(tmp_path / "room.png"),
                 "--out", str(out)]) == 0
    assert [len(list(read_video(out / f"odd_{k}{s}", k))) for k, s in
            (("mask", ".mkv"), ("depth", ".mkv"), ("view", ".mp4"))] == [4, 4, 4]
    assert next(read_video(out / "odd_mask.mkv", "mask")).shape == (121, 161)


class _FullDisk:
    """PyAV's `av` with every output container failing like a full disk: the `fail_at`-th
    packet muxed over all of them (or, with on_close, each container's close) raises ENOSPC.
    A container used after it failed or closed is recorded in `misuse` (real FFmpeg crashes)."""

    def __init__(self, fail_at: int | None = None, on_close: bool = False):
        import av

        self.real, self.fail_at, self.on_close = av, fail_at, on_close
        self.packets, self.misuse = 0, []
        self.VideoFrame = av.VideoFrame

    def open(self, path, mode="r", **kwargs):
        container = self.real.open(path, mode, **kwargs)
        return container if mode != "w" else _FailingContainer(self, container, path)


class _FailingContainer:
    def __init__(self, disk: _FullDisk, container, path):
        self.disk, self.container, self.path, self.dead = disk, container, path, False

    def _full(self):
        import errno

        self.dead = True
        raise OSError(errno.ENOSPC, "No space left on device", self.path)

    def add_stream(self, *args, **kwargs):
        return self.container.add_stream(*args, **kwargs)

    def mux(self, packets):
        if self.dead:
            self.disk.misuse.append(("mux", self.path))
        self.disk.packets += len(packets) if isinstance(packets, list) else 1
        if self.disk.fail_at is not None and self.disk.packets >= self.disk.fail_at:
            self._full()
        self.container.mux(packets)

    def close(self):
        if self.dead and self.disk.on_close:
            self.disk.misuse.append(("close", self.path))
        self.container.close()
        if self.disk.on_close:
            self._full()


@pytest.mark.bad_input
@pytest.mark.parametrize("on_close", [False, True], ids=["while-encoding", "while-finishing"])
def test_a_segment_that_failed_is_never_written_to_again(tmp_path, on_close):
    """A full disk while a frame is muxed, or while the segment's trailer is written: the error
    comes out, the segment's temporary file goes, FFmpeg's container is never touched again (the
    real one crashes the process), and every later call raises the same error. Earlier
    finished segments stay."""
    frames = _frames("depth", 6, np.random.default_rng(3))
    video = SegmentedVideo(tmp_path / "v_depth.mkv", "depth", fps=25)
    _write_segments(video, frames, [(0, 2)])
    disk = _FullDisk(fail_at=None if on_close else 2, on_close=on_close)
    video._av = disk
    video.begin(2)
    with pytest.raises(OSError, match="No space left") as first:
        video.write(frames[2])
        video.write(frames[3])
        video.end()
    for later in (lambda: video.write(frames[4]), video.end, lambda: video.begin(4)):
        with pytest.raises(OSError) as again:
            later()
        assert again.value is first.value
    video.abandon()
    assert disk.misuse == [] and not video.open
    assert video.finished() == [0]
    assert [p.name for p in video.parts.iterdir()] == ["000000000.mkv"]


@pytest.mark.bad_input
def test_predict_video_on_a_full_disk_fails_in_one_line_and_resumes_to_the_whole_video(
        tmp_path, monkeypatch, capsys):
    """`predict --video` whose disk fills mid-run (three writer threads, segments of 2 frames):
    exit 2, one line naming the file, no temporary file left, finished segments kept; with the
    space back, --resume gives every frame, equal to an uninterrupted run's."""
    from maskdepth.cli import main
    from maskdepth.io import video_out
    from maskdepth.io.images import write_rgb

    rng = np.random.default_rng(5)
    room = rng.integers(40, 200, (48, 64, 3), dtype=np.uint8)
    write_rgb(tmp_path / "room.png", room)
    clip = _ffv1_clip(tmp_path / "walk.mkv", room, 8, slice(10, 40), slice(4, 16), step=6)
    argv = ["predict", "--video", str(clip), "--background", str(tmp_path / "room.png"),
            "--batch-size", "2", "--segment-frames", "2"]
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    capsys.readouterr()

    disk = _FullDisk(fail_at=9)  # a few segments fit, then the disk is full
    real_init = video_out.SegmentedVideo.__init__

    def on_full_disk(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self._av = disk

    monkeypatch.setattr(video_out.SegmentedVideo, "__init__", on_full_disk)
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    err = [line for line in capsys.readouterr().err.strip().splitlines() if "%|" not in line]
    assert len(err) == 1 and "No space left on device" in err[0] and "Traceback" not in err[0]
    assert disk.misuse == []
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    assert any(out.glob(".walk_*.parts/0*"))  # what was finished is kept for --resume

    monkeypatch.setattr(video_out.SegmentedVideo, "__init__", real_init)  # space freed
    assert main([*argv, "--out", str(out), "--resume"]) == 0
    for kind, suffix in (("mask", ".mkv"), ("depth", ".mkv")):
        resumed = list(read_video(out / f"walk_{kind}{suffix}", kind))
        whole = list(read_video(tmp_path / "whole" / f"walk_{kind}{suffix}", kind))
        assert len(resumed) == 8 and all(np.array_equal(a, b) for a, b in zip(resumed, whole))
    assert len(list(read_video(out / "walk_view.mp4", "view"))) == 8


@pytest.mark.slow
@pytest.mark.bad_input
def test_predict_video_on_a_real_full_disk_fails_in_one_line(tmp_path):
    """The same on a real small filesystem (a tmpfs; needs root, skipped where mounting is not
    allowed): at sizes that fill up while encoding, while finishing a segment and while joining,
    each run exits 2 with one line, never crashes, and leaves no temporary file."""
    import os
    import subprocess
    import sys

    from maskdepth.bench.clip import make_clip

    disk = tmp_path / "disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)]
    if os.geteuid() != 0 or subprocess.run(mount, check=False, capture_output=True).returncode:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        clip, background = make_clip(tmp_path / "walk.mp4", (320, 240), frames=48)
        for size in ("150k", "400k", "900k", "1300k"):
            subprocess.run(["mount", "-o", f"remount,size={size}", str(disk)], check=True)
            done = subprocess.run(
                [sys.executable, "-m", "maskdepth", "predict", "--video", str(clip),
                 "--background", str(background), "--out", str(disk / "out"),
                 "--segment-frames", "8", "--overwrite"],
                check=False, capture_output=True, text=True, timeout=300)
            lines = [line for line in done.stderr.strip().splitlines() if "%|" not in line]
            assert done.returncode == 2, (size, done.returncode, done.stderr[-2000:])
            assert len(lines) == 1 and "No space left on device" in lines[0], (size, lines)
            assert not [p for p in disk.rglob("*") if ".tmp" in p.name], size
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_bench_video_sizes_scores_footage_and_stills_at_each_size(tmp_path, capsys):
    """`bench video-sizes` on a dataset folder run as a still camera, at two working sizes."""
    from maskdepth.cli import main

    assert main(["synth", "--out", str(tmp_path / "scenes"), "--n", "2", "--size", "64"]) == 0
    report = tmp_path / "sizes.json"
    assert main(["bench", "video-sizes", "--sizes", "48", "64", "--data", str(tmp_path / "scenes"),
                 "--json", str(report)]) == 0
    figures = json.loads(report.read_text())
    assert set(figures) == {"48", "64"}
    for row in figures.values():
        (stills,) = row.values()
        assert stills["pairs"] == 2 and 0 <= stills["iou"] <= 1 and 0 <= stills["boundary_f"] <= 1


def test_bench_serve_answers_every_prediction(tmp_path):
    from maskdepth.cli import main

    report = tmp_path / "serve.json"
    assert main(["bench", "serve", "--clients", "2", "--requests", "1", "--size", "48", "64",
                 "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["answered"] == 2 and result["codes"] == {"200": 2} and result["size"] == "64x48"
    assert result["health_idle_ms"] > 0 and result["server_peak_mib"] > 50


@pytest.mark.slow
def test_bench_webcam_reads_the_live_rate_in_a_browser(tmp_path):
    import shutil

    from maskdepth.bench.clip import make_clip
    from maskdepth.cli import main

    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("chromium and chromium-driver are not installed (.ci/run installs them)")
    clip, _ = make_clip(tmp_path / "clip.mp4", (320, 240), 60)
    report = tmp_path / "webcam.json"
    assert main(["bench", "webcam", "--clip", str(clip), "--size", "240", "320", "--seconds", "1",
                 "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["size"] == "320x240" and result["fps"] > 0 and result["working_size"] != "-"


def test_bench_quality_renders_every_table_and_refuses_a_folder_without_the_sets(tmp_path, capsys):
    from maskdepth.bench.quality import CONDITIONS, SEQUENCES, render_quality
    from maskdepth.cli import main

    def rows(method, value):
        figures = {f"{c}: {method}": {"mask_iou": value, "depth_d1": value} for c in CONDITIONS}
        figures[f"realdepth: {method}"] = {"depth_d1": value, "depth_absrel": 0.5, "depth_rmse": 1.0}
        figures.update({f"{s}: {method}": {"f_measure": value} for s in (*SEQUENCES, "mean")})
        return figures

    baselines = {**rows("absdiff", 0.7), **rows("mog2", 0.6), **rows("constant 2.7 m", 0.2)}
    report = render_quality({"models": {"small": rows("model", 0.9)}, "baselines": baselines,
                             "date": "2026-12-07"}, "maskdepth bench quality")
    assert report.count("\n| small | 0.900 |") == 3  # masks, depth and footage
    assert "\n| absdiff | 0.700 |" in report and "\n| median plane | - |" in report
    assert main(["bench", "quality", "--shared", str(tmp_path)]) == 2
    assert "realdev/clean" in capsys.readouterr().err

"""`maskdepth bench video`: the video targets, measured as a user meets them.

For each size: a 300-frame clip (bench/clip.py), then the default command
`maskdepth predict --video clip.mp4 --background room.png --out DIR` run as its own process,
wall clock from launch to exit (start-up, decoding, the model, full-size edges, the mask, depth
and view videos, joining them); the best and the median of `runs`. Start-up and finish: the
same command on one frame. Stages: the CPU milliseconds a frame costs in each stage, measured
one at a time on one thread (in the command they overlap on the cores), which say what limits
the frame rate.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGETS = {(1280, 720): 30.0, (640, 480): 60.0}  # frames/s, wall clock, start-up included


def _command_seconds(clip: Path, background: Path, out: Path, *extra: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "maskdepth", "predict", "--video", str(clip),
                    "--background", str(background), "--out", str(out), *extra],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def stage_costs(clip: Path, background: Path, frames: int = 96, max_side: int | None = None,
                model: str | None = None) -> dict[str, float]:
    """CPU milliseconds per frame of each stage of predict --video, one thread, one at a time
    (at working size `max_side`, None: the video profile's; `model`: a zoo name or file, None:
    the default)."""
    import cv2

    from maskdepth.inference.api import MaskDepth, resized, to_batch
    from maskdepth.inference.memory import keep_freed_memory
    from maskdepth.inference.prior import NETWORK
    from maskdepth.inference.session import StreamSession
    from maskdepth.inference.static import steady_depth
    from maskdepth.inference.video import VIEW_MAX_WIDTH
    from maskdepth.io.images import read_rgb
    from maskdepth.io.video import read_frames
    from maskdepth.io.video_out import SegmentedVideo
    from maskdepth.io.viz import side_by_side

    keep_freed_memory()
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        room = read_rgb(background)
        # The command's session (working size, scene depth); alignment, once per 50 frames, is
        # left out of the stages.
        session = StreamSession(MaskDepth.load(model, threads=1), room, align=False, max_side=max_side)
        model = session.model
        costs: dict[str, float] = {}

        def timed(name: str, step) -> object:
            start = time.perf_counter()
            result = step()
            costs[name] = costs.get(name, 0.0) + 1000 * (time.perf_counter() - start) / frames
            return result

        video = timed("decode", lambda: list(read_frames(clip, frames)))
        work = model.working_size(room.shape[:2])
        model.predict(video[:8], room, align=False)  # warm-up
        small_room = to_batch([resized(room, work)] * 8)
        for first in range(0, frames, 8):
            chunk = video[first:first + 8]
            small = timed("frames to the working size", lambda c=chunk: to_batch(
                [resized(frame, work) for frame in c]))
            probability, depth = timed("model (ONNX Runtime)", lambda s=small: model.runner.predict(
                s, small_room[:len(s)]))
            timed("full-size mask (guided) and depth (scene prior)", lambda c=chunk, p=probability,
                  d=depth: [model.full_size(p[i, 0], d[i, 0], frame, room, model.priors.of(room))
                            for i, frame in enumerate(c)])
        predictions = [p for first in range(0, frames, 8)
                       for p in model.predict(video[first:first + 8], room, align=False)]
        predictions = timed("steady depth (without a scene prior)", lambda: [
            steady_depth(p, session.scene_depth.of(room)) if p.depth_source == NETWORK else p
            for p in predictions])
        with tempfile.TemporaryDirectory() as folder:
            for kind, array in (("mask", lambda p, f: p.mask.view(np.uint8) * np.uint8(255)),
                                ("depth", lambda p, f: p.depth_mm)):
                writer = SegmentedVideo(Path(folder) / f"x_{kind}.mkv", kind, 25)
                writer.begin(0)
                timed(f"{kind} video (FFV1)", lambda w=writer, a=array: [
                    w.write(a(p, f)) for p, f in zip(predictions, video)])
                writer.end()
            views = timed("view drawn", lambda: [side_by_side(f, p.mask, p.depth_mm, VIEW_MAX_WIDTH)
                                                for f, p in zip(video, predictions)])
            writer = SegmentedVideo(Path(folder) / "x_view.mp4", "view", 25)
            writer.begin(0)
            timed("view video (H.264)", lambda: [writer.write(v) for v in views])
            writer.end()
        return costs
    finally:
        cv2.setNumThreads(threads)


def video_benchmark(sizes=tuple(TARGETS), frames: int = 300, runs: int = 3,
                    photos: Path | None = None, max_side: int | None = None,
                    model: str | None = None) -> dict:
    """The measurements of the module docstring, per size ("WxH"), at working size `max_side`
    (None: the video profile's, as the default command), of `model` (None: the default)."""
    from maskdepth.bench.clip import make_clip
    from maskdepth.inference.profiles import VIDEO, working_side
    from maskdepth.models.zoo import DEFAULT_MODEL

    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for width, height in sizes:
            name = f"{width}x{height}"
            clip, background = make_clip(Path(folder) / f"clip{name}.mp4", (width, height),
                                         frames, photos)
            options = (() if max_side is None else ("--max-side", str(max_side))) + (
                () if model is None else ("--checkpoint", str(model)))
            walls = [_command_seconds(clip, background, Path(folder) / f"out{name}-{run}", *options)
                     for run in range(runs)]
            startup = min(_command_seconds(clip, background, Path(folder) / f"one{name}-{run}",
                                           "--max-frames", "1", *options) for run in range(runs))
            results[name] = {
                "frames": frames, "runs": [round(w, 3) for w in walls],
                "best_fps": frames / min(walls), "median_fps": frames / statistics.median(walls),
                "startup_s": startup, "target_fps": TARGETS.get((width, height)),
                "max_side": working_side(VIDEO, max_side), "model": Path(str(model or DEFAULT_MODEL)).stem,
                "stages_ms": stage_costs(clip, background, min(96, frames // 8 * 8), max_side,
                                         model)}
    return results


def render_video(results: dict, command: str) -> str:
    """The Markdown section of docs/BENCHMARKS.md for `video_benchmark`'s results."""
    first = next(iter(results.values()))
    frames, side, name = first["frames"], first["max_side"], first["model"]
    lines = ["## Video: the default command, wall clock", "",
             (f"Measured by `{command}`: `maskdepth predict --video clip.mp4 --background "
              f"room.png --out DIR` on a {frames}-frame H.264 clip (bench/clip.py), model {name} "
              f"at a working size of {side} px, ONNX Runtime, full-size edges, writing the mask video, the depth video and "
              "the view mp4; from launch to exit, start-up included."), "",
             "| clip | target | best | median | runs (s) | start-up and finish, 1 frame (s) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, row in results.items():
        target = f">= {row['target_fps']:g}" if row["target_fps"] else "-"
        met = "" if not row["target_fps"] else (
            " (met)" if row["best_fps"] >= row["target_fps"] else " (missed)")
        lines.append(f"| {name} | {target} | {row['best_fps']:.1f}{met} | "
                     f"{row['median_fps']:.1f} | {', '.join(f'{r:.2f}' for r in row['runs'])} | "
                     f"{row['startup_s']:.2f} |")
    names = list(results)
    stages = list(results[names[0]]["stages_ms"])
    lines += ["", ("CPU milliseconds a frame costs in each stage (one thread, one stage at a "
                   "time; in the command they overlap on the cores):"), "",
              "| stage | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for stage in stages:
        lines.append(f"| {stage} | " + " | ".join(
            f"{results[n]['stages_ms'][stage]:.2f}" for n in names) + " |")
    lines.append("| all | " + " | ".join(
        f"{sum(results[n]['stages_ms'].values()):.1f}" for n in names) + " |")
    return "\n".join(lines) + "\n"


MARK_START, MARK_END = "<!-- bench video -->", "<!-- /bench video -->"


def replace_section(report: str, section: str) -> str:
    """`report` with the text between the bench-video markers replaced by `section` (appended
    with the markers when the report has none)."""
    block = f"{MARK_START}\n{section}{MARK_END}"
    if MARK_START in report and MARK_END in report:
        before, rest = report.split(MARK_START, 1)
        return before + block + rest.split(MARK_END, 1)[1]
    return report.rstrip("\n") + "\n\n" + block + "\n"

"""Predicting a video or a camera: frames in, a mask video, a depth video and a view mp4 out.

    predict_video(model, "walk.mp4", "room.png", out, align=True, batch_size=8,
                  max_frames=None, journal=journal)
    # out/walk_mask.mkv, out/walk_depth.mkv, out/walk_view.mp4 (io/video_out.py), and with
    # frame_files: out/walk_frames/NNNNNN_mask.png, NNNNNN_depth.png

Stages overlap: decoding runs a batch ahead in a thread, the model and the full-size mask run
here, and the encoders run in a writer thread, so the two cores share the work. The videos are
written in segments of whole batches; the journal notes each finished segment (key: its first
frame), so a killed run resumes at the first unfinished one and writes the same files as an
uninterrupted run.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from maskdepth.errors import UserError
from maskdepth.inference.api import MaskDepth, Prediction, to_rgb_array
from maskdepth.inference.pipeline import batched, prefetch
from maskdepth.inference.static import SceneDepth, StaticBackground, steady_depth
from maskdepth.io import images as imageio
from maskdepth.io.journal import Journal
from maskdepth.io.layout import prediction_paths
from maskdepth.io.video_out import SegmentedVideo
from maskdepth.io.viz import colorize_depth_mm, overlay_mask

SEGMENT_FRAMES = 240  # frames per resumable segment, rounded up to whole batches (~10 s)
VIEW_MAX_WIDTH = 1280  # the view's three panels together: larger videos are shown smaller


def view_frame(image: np.ndarray, mask: np.ndarray, depth_mm: np.ndarray,
               max_width: int = VIEW_MAX_WIDTH) -> np.ndarray:
    """(h, 3w, 3) uint8: the image, the mask over it and the colour depth side by side, each
    panel shrunk so that the three fit in `max_width`, with even sides (H.264 needs them).
    image (H, W, 3) uint8, mask (H, W) bool, depth_mm (H, W) uint16."""
    height, width = image.shape[:2]
    scale = min(1.0, max_width / (3 * width))
    size = (max(2, round(width * scale) // 2 * 2), max(2, round(height * scale) // 2 * 2))
    if size != (width, height):
        while image.shape[1] >= 2 * size[0] and image.shape[0] >= 2 * size[1]:  # fast halving
            image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2),
                               interpolation=cv2.INTER_AREA)
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)  # then under 2x
        mask = cv2.resize(mask.view(np.uint8), size, interpolation=cv2.INTER_NEAREST).view(bool)
        depth_mm = cv2.resize(depth_mm, size, interpolation=cv2.INTER_NEAREST)
    colour = colorize_depth_mm(depth_mm)
    return np.concatenate([image, overlay_mask(image, mask), colour], axis=1)


class VideoOutputs:
    """The files of one predicted video: <stem>_mask.mkv, <stem>_depth.mkv, <stem>_view.mp4
    and, given `frames_dir`, a mask and depth PNG per frame. Each is written by its own thread
    (FFmpeg's encoders run without the GIL), in the order batches are given."""

    def __init__(self, out: Path, stem: str, fps: float, frames_dir: Path | None):
        self.videos = {kind: SegmentedVideo(out / f"{stem}_{kind}{suffix}", kind, fps)
                       for kind, suffix in (("mask", ".mkv"), ("depth", ".mkv"),
                                            ("view", ".mp4"))}
        self.frames_dir = frames_dir
        kinds = [*self.videos, *(["frames"] if frames_dir is not None else [])]
        self.workers = {kind: ThreadPoolExecutor(1, thread_name_prefix=f"write-{kind}")
                        for kind in kinds}

    def keep_only(self, segments: set[int]) -> None:
        for video in self.videos.values():
            video.keep_only(segments)

    def submit(self, first: int, frames: list[np.ndarray], predictions: list[Prediction],
               segment: int, last_of_segment: bool) -> list[Future]:
        """Write frames `first`, `first + 1`, ... of segment `segment` (begun at its first
        batch, ended after its last); returns the writers' futures."""
        futures = [self.workers[kind].submit(self._write, kind, frames, predictions, segment,
                                             last_of_segment) for kind in self.videos]
        if self.frames_dir is not None:
            futures.append(self.workers["frames"].submit(self._write_pngs, first, predictions))
        return futures

    def _write(self, kind: str, frames, predictions, segment: int, last: bool) -> None:
        video = self.videos[kind]
        if not video.open:
            video.begin(segment)
        for frame, prediction in zip(frames, predictions):
            if kind == "mask":
                video.write(prediction.mask.view(np.uint8) * np.uint8(255))
            elif kind == "depth":
                video.write(prediction.depth_mm)
            else:
                video.write(view_frame(frame, prediction.mask, prediction.depth_mm))
        if last:
            video.end()

    def _write_pngs(self, first: int, predictions: list[Prediction]) -> None:
        for index, prediction in enumerate(predictions, first):
            mask_path, depth_path = prediction_paths(self.frames_dir, f"{index:06d}")
            imageio.write_mask(mask_path, prediction.mask)
            imageio.write_depth_mm(depth_path, prediction.depth_mm)

    def end_segments(self) -> None:
        """Finish the open segments (a video that ended, or a camera stopped, mid-segment)."""
        for future in [self.workers[kind].submit(video.end) for kind, video in self.videos.items()]:
            future.result()

    def close(self, abandon: bool = False) -> None:
        """Stop the writer threads; abandon: first drop the open segments (an error)."""
        if abandon:
            for kind, video in self.videos.items():
                self.workers[kind].submit(video.abandon)
        for worker in self.workers.values():
            worker.shutdown(wait=True)

    def join(self) -> None:
        for video in self.videos.values():
            video.join()


def predict_video(model: MaskDepth, video, background: Path | None, out: Path, align: bool,
                  batch_size: int, max_frames: int | None, journal: Journal,
                  stem: str | None = None, on_batch=None, frame_files: bool = False,
                  steady: bool = True, segment_frames: int = SEGMENT_FRAMES) -> int:
    """Every frame of `video` predicted into VideoOutputs(out, stem); returns the number of
    frames predicted by this call.

    video: a file, or an opened `read_frames`-like source with `frames()` and `fps` (a camera).
    Without a background photo, the clean plate is the temporal median of a sample of the
    video's frames (<out>/<stem>_clean_plate.png). With `align`, the background is aligned once
    and checked again every REALIGN_EVERY frames (a static camera; inference/static.py).
    steady: outside each frame's mask, the empty scene's depth, predicted once per background.
    segment_frames: frames per resumable segment (rounded up to whole batches).
    on_batch(frames_done, seconds): called after each batch. A camera stops at Ctrl-C with its
    files complete."""
    from maskdepth.io.video import clean_plate, read_frames, video_info

    camera = not isinstance(video, (str, Path))
    stem = stem or (video.stem if not camera else "camera")
    fps, count = (video.fps, 0) if camera else video_info(video)[:2]
    frames = (lambda: video.frames(max_frames)) if camera else (lambda: read_frames(video, max_frames))
    plate_path = out / f"{stem}_clean_plate.png"
    if background is not None:
        plate = to_rgb_array(background)
    elif journal.done and plate_path.is_file():
        plate = imageio.read_rgb(plate_path)  # lossless: the plate the finished frames used
    else:
        if camera:
            raise UserError("a camera needs --background (a photo of the empty scene)")
        plate = clean_plate(read_frames(video, max_frames))  # streamed: bounded memory
        imageio.write_rgb(plate_path, plate)
    static = StaticBackground(plate) if align else None
    scene_depth = SceneDepth(model) if steady else None
    outputs = VideoOutputs(out, stem, fps or 25.0, out / f"{stem}_frames" if frame_files else None)
    outputs.keep_only(set(journal.done))
    segment_frames = batch_size * math.ceil(segment_frames / batch_size)
    predicted = 0
    total = min(count, max_frames) if max_frames else count
    start = time.perf_counter()

    def write(first, chunk, predictions, segment, last_of_segment) -> None:
        outputs.write(first, chunk, predictions, segment)
        if last_of_segment:
            outputs.end_segment()
            journal.record(segment)

    in_flight: list[tuple[int, bool, list[Future]]] = []  # (segment, last of it, writes)

    def settle(keep: int) -> None:
        """Wait for all but the newest `keep` batches' writes; journal finished segments."""
        while len(in_flight) > keep:
            segment, last, futures = in_flight.pop(0)
            for future in futures:
                future.result()  # a writer's error surfaces here
            if last:
                journal.record(segment)

    open_segment = None
    try:
        with tqdm(total=total or None, unit="frame", desc="predict") as bar:
            try:
                for first, chunk in prefetch(batched(frames(), batch_size)):
                    # Every batch passes the alignment checks, finished ones too, so that a
                    # resumed run aligns exactly as an uninterrupted one did.
                    scene = static.for_frame(chunk[0], first) if static else plate
                    segment = first // segment_frames * segment_frames
                    if segment not in journal.done:
                        predictions = model.predict(chunk, scene, align=False)
                        if scene_depth is not None:
                            predictions = [steady_depth(p, scene_depth.of(scene))
                                           for p in predictions]
                        predicted += len(chunk)
                        last = first + len(chunk) == segment + segment_frames
                        in_flight.append((segment, last, outputs.submit(
                            first, chunk, predictions, segment, last)))
                        open_segment = None if last else segment
                        settle(keep=1)  # at most two batches in flight
                    bar.update(len(chunk))
                    if on_batch is not None:
                        on_batch(first + len(chunk), time.perf_counter() - start)
            except KeyboardInterrupt:
                if not camera:
                    raise
        settle(keep=0)
        if open_segment is not None:  # the video ended (or the camera stopped) mid-segment
            outputs.end_segments()
            journal.record(open_segment)
    except BaseException:
        outputs.close(abandon=True)
        raise
    outputs.close()
    outputs.join()
    return predicted

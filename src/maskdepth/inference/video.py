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
from concurrent.futures import ThreadPoolExecutor
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
from maskdepth.io.viz import colorize_depth, overlay_mask

SEGMENT_FRAMES = 240  # frames per resumable segment, rounded up to whole batches (~10 s)
VIEW_MAX_WIDTH = 1920  # the view's three panels together; larger videos are shown smaller


def view_frame(image: np.ndarray, mask: np.ndarray, depth_mm: np.ndarray,
               max_width: int = VIEW_MAX_WIDTH) -> np.ndarray:
    """(h, 3w, 3) uint8: the image, the mask over it and the colour depth side by side, each
    panel shrunk so that the three fit in `max_width`, with even sides (H.264 needs them).
    image (H, W, 3) uint8, mask (H, W) bool, depth_mm (H, W) uint16."""
    height, width = image.shape[:2]
    scale = min(1.0, max_width / (3 * width))
    size = (max(2, round(width * scale) // 2 * 2), max(2, round(height * scale) // 2 * 2))
    if size != (width, height):
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask.view(np.uint8), size, interpolation=cv2.INTER_NEAREST).view(bool)
        depth_mm = cv2.resize(depth_mm, size, interpolation=cv2.INTER_NEAREST)
    colour = colorize_depth(depth_mm.astype(np.float32) / np.float32(1000))
    return np.concatenate([image, overlay_mask(image, mask), colour], axis=1)


class VideoOutputs:
    """The files of one predicted video: <stem>_mask.mkv, <stem>_depth.mkv, <stem>_view.mp4
    and, given `frames_dir`, a mask and depth PNG per frame."""

    def __init__(self, out: Path, stem: str, fps: float, frames_dir: Path | None):
        self.videos = {kind: SegmentedVideo(out / f"{stem}_{kind}{suffix}", kind, fps)
                       for kind, suffix in (("mask", ".mkv"), ("depth", ".mkv"),
                                            ("view", ".mp4"))}
        self.frames_dir = frames_dir

    def keep_only(self, segments: set[int]) -> None:
        for video in self.videos.values():
            video.keep_only(segments)

    def write(self, first: int, frames: list[np.ndarray], predictions: list[Prediction],
              segment: int) -> None:
        """Frames `first`, `first + 1`, ... of segment `segment` (opened at its first frame)."""
        for video in self.videos.values():
            if not video.open:
                video.begin(segment)
        for index, (frame, prediction) in enumerate(zip(frames, predictions), first):
            mask = prediction.mask.view(np.uint8) * np.uint8(255)
            depth_mm = imageio.depth_to_millimetres(prediction.depth)
            self.videos["mask"].write(mask)
            self.videos["depth"].write(depth_mm)
            self.videos["view"].write(view_frame(frame, prediction.mask, depth_mm))
            if self.frames_dir is not None:
                mask_path, depth_path = prediction_paths(self.frames_dir, f"{index:06d}")
                imageio.write_mask(mask_path, prediction.mask)
                imageio.write_depth(depth_path, prediction.depth)

    def end_segment(self) -> None:
        for video in self.videos.values():
            video.end()

    def abandon(self) -> None:
        for video in self.videos.values():
            video.abandon()

    def join(self) -> None:
        for video in self.videos.values():
            video.join()


def predict_video(model: MaskDepth, video, background: Path | None, out: Path, align: bool,
                  batch_size: int, max_frames: int | None, journal: Journal,
                  stem: str | None = None, on_batch=None, frame_files: bool = False,
                  steady: bool = True) -> int:
    """Every frame of `video` predicted into VideoOutputs(out, stem); returns the number of
    frames predicted by this call.

    video: a file, or an opened `read_frames`-like source with `frames()` and `fps` (a camera).
    Without a background photo, the clean plate is the temporal median of a sample of the
    video's frames (<out>/<stem>_clean_plate.png). With `align`, the background is aligned once
    and checked again every REALIGN_EVERY frames (a static camera; inference/static.py).
    steady: outside each frame's mask, the empty scene's depth, predicted once per background.
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
    segment_frames = batch_size * math.ceil(SEGMENT_FRAMES / batch_size)
    predicted = 0
    total = min(count, max_frames) if max_frames else count
    start = time.perf_counter()

    def write(first, chunk, predictions, segment, last_of_segment) -> None:
        outputs.write(first, chunk, predictions, segment)
        if last_of_segment:
            outputs.end_segment()
            journal.record(segment)

    with ThreadPoolExecutor(max_workers=1) as writer, \
            tqdm(total=total or None, unit="frame", desc="predict") as bar:
        pending, open_segment = None, None
        try:
            for first, chunk in prefetch(batched(frames(), batch_size)):
                # Every batch passes the alignment checks, finished ones too, so that a resumed
                # run aligns exactly as an uninterrupted one did.
                scene = static.for_frame(chunk[0], first) if static else plate
                segment = first // segment_frames * segment_frames
                if segment not in journal.done:
                    predictions = model.predict(chunk, scene, align=False)
                    if scene_depth is not None:
                        predictions = [steady_depth(p, scene_depth.of(scene)) for p in predictions]
                    predicted += len(chunk)
                    task = writer.submit(write, first, chunk, predictions, segment,
                                         first + len(chunk) == segment + segment_frames)
                    open_segment = segment
                    if pending is not None:
                        pending.result()  # errors surface here; at most two batches in flight
                    pending = task
                bar.update(len(chunk))
                if on_batch is not None:
                    on_batch(first + len(chunk), time.perf_counter() - start)
        except KeyboardInterrupt:
            if not camera:
                if pending is not None:
                    pending.result()
                writer.submit(outputs.abandon).result()
                raise
        except BaseException:
            writer.submit(outputs.abandon).result()
            raise
        if pending is not None:
            pending.result()
        if open_segment is not None and open_segment not in journal.done:  # the last, short one
            writer.submit(write, 0, [], [], open_segment, True).result()
    outputs.join()
    return predicted

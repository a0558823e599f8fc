"""Predicting a video or a camera: frames in, a mask video, a depth video and a view mp4 out.

    predict_video(model, "walk.mp4", "room.png", out, journal, VideoSettings(batch_size=8))
    # out/walk_mask.mkv, out/walk_depth.mkv, out/walk_view.mp4 (io/video_out.py), and with
    # frame_files: out/walk_frames/NNNNNN_mask.png, NNNNNN_depth.png

Stages overlap: decoding runs a batch ahead in a thread, the model and the full-size mask run
here, and each output's encoder (and the PNG writer) runs in a thread of its own, so the two
cores share the work. The videos are
written in segments of whole batches; the journal notes each finished segment (key: its first
frame), so a killed run resumes at the first unfinished one and writes the same files as an
uninterrupted run.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from maskdepth.errors import UserError
from maskdepth.inference.api import MaskDepth, Prediction, to_rgb_array
from maskdepth.inference.pace import Pace
from maskdepth.inference.pipeline import batched, prefetch
from maskdepth.inference.session import StreamSession
from maskdepth.inference.video_settings import VideoSettings
from maskdepth.io import images as imageio
from maskdepth.io.journal import Journal
from maskdepth.io.layout import prediction_paths
from maskdepth.io.progress import progress
from maskdepth.io.video_out import KINDS, SegmentedVideo
from maskdepth.io.viz import side_by_side

VIEW_MAX_WIDTH = 1280  # the view's three panels together: larger videos are shown smaller


class VideoOutputs:
    """The files of one predicted video: <stem>_mask.mkv, <stem>_depth.mkv, <stem>_view.mp4
    and, given `frames_dir`, a mask and depth PNG per frame. Each is written by its own thread
    (FFmpeg's encoders run without the GIL), in the order batches are given."""

    def __init__(self, out: Path, stem: str, fps: float, frames_dir: Path | None):
        self.videos = {kind: SegmentedVideo(out / f"{stem}_{kind}{KINDS[kind].suffix}", kind, fps)
                       for kind in ("mask", "depth", "view")}
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
                video.write(side_by_side(frame, prediction.mask, prediction.depth_mm,
                                         VIEW_MAX_WIDTH))
        if last:
            video.end()

    def _write_pngs(self, first: int, predictions: list[Prediction]) -> None:
        for index, prediction in enumerate(predictions, first):
            mask_path, depth_path = prediction_paths(self.frames_dir, f"{index:06d}")
            imageio.write_mask(mask_path, prediction.mask)
            imageio.write_depth_mm(depth_path, prediction.depth_mm)

    def end_segments(self) -> None:
        """Finish the open segments (a video that ended, or a camera stopped, mid-segment),
        after every write handed over before (each worker runs its tasks in order)."""
        futures = [self.workers[kind].submit(video.end) for kind, video in self.videos.items()]
        if "frames" in self.workers:
            futures.append(self.workers["frames"].submit(lambda: None))
        for future in futures:
            future.result()

    def close(self, abandon: bool = False) -> None:
        """Stop the writer threads (after the writes handed over); abandon: then drop the
        open segments (an error). Closing again does nothing more."""
        for worker in self.workers.values():
            worker.shutdown(wait=True)
        if abandon:
            for video in self.videos.values():
                video.abandon()

    def join(self) -> None:
        for video in self.videos.values():
            video.join()


def predict_video(model: MaskDepth, video, background: Path | None, out: Path, journal: Journal,
                  settings: VideoSettings | None = None, stem: str | None = None,
                  on_batch=None) -> int:
    """Every frame of `video` predicted into VideoOutputs(out, stem); returns the number of
    frames predicted by this call. settings: inference/video_settings.py (None: its defaults).

    video: a file, or an opened `read_frames`-like source with `frames()` and `fps` (a camera).
    Without a background photo, the clean plate is the temporal median of a sample of the
    video's frames (<out>/<stem>_clean_plate.png). A camera too fast for the machine lowers the
    working size, then drops frames (inference/pace.py).
    on_batch(frames_done, seconds): called after each batch. A camera stops at Ctrl-C (after
    the batch in hand) with its files complete."""
    s = settings or VideoSettings()
    from maskdepth.io.video import read_frames, video_info

    camera = not isinstance(video, (str, Path))
    stem = stem or (video.stem if not camera else "camera")
    fps, count = (video.fps, 0) if camera else video_info(video)[:2]
    frames = (lambda: video.frames(s.max_frames)) if camera else (lambda: read_frames(video, s.max_frames))
    plate = _plate(video, background, out / f"{stem}_clean_plate.png", s.max_frames, journal)
    outputs = VideoOutputs(out, stem, fps or 25.0, out / f"{stem}_frames" if s.frame_files else None)
    outputs.keep_only(set(journal.done))
    run = _Run(StreamSession(model, plate, s.align, s.steady, s.max_side), outputs, journal,
               s.batch_size * math.ceil(s.segment_frames / s.batch_size))
    total = min(count, s.max_frames) if s.max_frames else count
    pace = Pace(1 / (fps or 25.0), run.session.model.max_side) if camera else None
    if pace is not None:
        frames = (lambda source=frames: _paced(source(), pace))
    start = last = time.perf_counter()
    try:
        with progress(total=total or None, unit="frame", desc="predict") as bar:
            with _stopped_by_ctrl_c(camera) as stop:  # the frames only: Ctrl-C stops a join
                for first, chunk in prefetch(batched(frames(), s.batch_size)):
                    run.batch(first, chunk)
                    bar.update(len(chunk))
                    if pace is not None:
                        last = _keep_pace(pace, run.session, last, len(chunk))
                    if on_batch is not None:
                        on_batch(first + len(chunk), time.perf_counter() - start)
                    if stop.is_set():
                        break
            run.finish()  # inside the progress block: a failed write or join prints no "done"
            outputs.close()
            outputs.join()
    except BaseException:
        outputs.close(abandon=True)
        raise
    return run.predicted


def _paced(frames, pace: Pace):
    """A camera's frames, `pace.drop` of them skipped after each one kept."""
    skipped = 0
    for frame in frames:
        if skipped < pace.drop:
            skipped += 1
            continue
        skipped = 0
        yield frame


def _keep_pace(pace: Pace, session: StreamSession, last: float, frames: int) -> float:
    """Tell `pace` the wall time since the last batch (waiting for the camera included), move
    the session to the size it asks for and say so once; returns now."""
    now = time.perf_counter()
    note = session.keep_pace(pace, now - last, frames)
    if note is not None:
        warnings.warn(note, stacklevel=3)
    return now


def _plate(video, background: Path | None, plate_path: Path, max_frames: int | None,
           journal: Journal) -> np.ndarray:
    """The background (H, W, 3) uint8: the photo given, else the clean plate a resumed run
    used (lossless PNG), else the temporal median of the video's frames, written beside."""
    from maskdepth.io.video import PLATE_MIN_FRAMES, clean_plate, read_frames

    if background is not None:
        return to_rgb_array(background)
    if journal.done and plate_path.is_file():
        return imageio.read_rgb(plate_path)
    if not isinstance(video, (str, Path)):
        raise UserError("a camera needs --background (a photo of the empty scene)")
    counted = [0]

    def counting(frames):
        for frame in frames:
            counted[0] += 1
            yield frame

    plate = clean_plate(counting(read_frames(video, max_frames)))  # streamed: bounded memory
    if counted[0] < PLATE_MIN_FRAMES:
        warnings.warn(f"{Path(video).name}: no --background and only {counted[0]} frame(s): the "
                      f"clean plate is the frames themselves, whoever is in them included, so "
                      f"nothing will be foreground; give --background", stacklevel=2)
    imageio.write_rgb(plate_path, plate)
    return plate


@contextlib.contextmanager
def _stopped_by_ctrl_c(camera: bool):
    """An event set by Ctrl-C while a camera runs (checked between batches, so no batch is
    left half written and no segment journalled before its files); a file's run keeps
    Ctrl-C's usual KeyboardInterrupt."""
    stop = threading.Event()
    if not camera or threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


class _Run:
    """The batches of one predict_video call: predicted (unless their segment is journalled),
    handed to the writers with at most two batches in flight, segments journalled when their
    files are complete."""

    def __init__(self, session: StreamSession, outputs: VideoOutputs, journal: Journal,
                 segment_frames: int):
        self.session = session
        self.outputs, self.journal = outputs, journal
        self.segment_frames = segment_frames
        self.in_flight: list[tuple[int, bool, list[Future]]] = []  # (segment, last of it, writes)
        self.open_segment: int | None = None
        self.predicted = 0

    def batch(self, first: int, chunk: list[np.ndarray]) -> None:
        segment = first // self.segment_frames * self.segment_frames
        if segment in self.journal.done:
            # Finished batches pass the alignment checks too, so that a resumed run aligns
            # exactly as an uninterrupted one did.
            self.session.scene(chunk[0], first)
            return
        predictions = self.session.predict(chunk, first)
        self.predicted += len(chunk)
        last = first + len(chunk) == segment + self.segment_frames
        self.in_flight.append((segment, last, self.outputs.submit(first, chunk, predictions,
                                                                  segment, last)))
        self.open_segment = None if last else segment
        self.settle(keep=1)

    def settle(self, keep: int) -> None:
        """Wait for all but the newest `keep` batches' writes; journal finished segments."""
        while len(self.in_flight) > keep:
            segment, last, futures = self.in_flight[0]
            for future in futures:
                future.result()  # a writer's error surfaces here
            self.in_flight.pop(0)
            if last:
                self.journal.record(segment)

    def finish(self) -> None:
        """All writes done; a segment the video ended (or the camera stopped) in, closed."""
        self.settle(keep=0)
        if self.open_segment is not None:
            self.outputs.end_segments()
            self.journal.record(self.open_segment)

"""Video files <-> RGB frames, and a clean plate (the background) from a static-camera video.

    fps, count, width, height = video_info("walk.mp4")
    background = clean_plate(read_frames("walk.mp4"))        # (H, W, 3) uint8, people removed
    with VideoWriter("out/masks.mp4", fps) as writer:
        for frame in read_frames("walk.mp4", max_frames=100):
            writer.write(frame)

Frames are (H, W, 3) uint8 RGB, as everywhere in maskdepth (OpenCV's BGR stays inside this file).
Writing is atomic like `maskdepth.io.images`: a crash leaves no half-written video behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from maskdepth.errors import UserError
from maskdepth.io.atomic import temp_path

FOURCC = "mp4v"  # MPEG-4 part 2: every OpenCV build can write it, every player can read it
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov")  # containers that hold mp4v


def read_frames(path: str | os.PathLike, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield the frames of a video file as (H, W, 3) uint8 RGB arrays, at most `max_frames`.

    The file is opened at once (so a bad path fails here, not at the first frame), and released
    when the iterator is exhausted or closed. Raises UserError naming the file when it does not
    exist or OpenCV cannot decode it.
    """
    capture = _open(path)
    return _frames(capture, max_frames)


def video_info(path: str | os.PathLike) -> tuple[float, int, int, int]:
    """(fps, frame_count, width, height) of a video file from its header.

    frame_count comes from the container and can be approximate (or 0) for streams without an
    index; count `read_frames` when it must be exact. fps is 0.0 when the file does not say.
    """
    capture = _open(path)
    try:
        return (float(capture.get(cv2.CAP_PROP_FPS)), int(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
                int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    finally:
        capture.release()


PLATE_MIN_FRAMES = 3  # fewer frames cannot vote a passer-by out of a clean plate


def clean_plate(frames: Iterable[np.ndarray], samples: int = 40) -> np.ndarray:
    """The background of a static-camera video: the per-pixel temporal median of up to `samples`
    frames spread evenly over the sequence, so people who move are voted out.

    frames: (H, W, 3) uint8 RGB arrays of one size. A Sequence (a list, a tuple) or an
    (N, H, W, 3) array is indexed at `samples` evenly spaced positions. Any other iterable (e.g.
    `read_frames(...)`) is read once, keeping every k-th frame, k doubling whenever 2 * samples
    are held, so memory stays bounded; `samples` evenly spaced ones of those are used.
    Returns an (H, W, 3) uint8 RGB array.
    A person who stands still for over half of the sampled frames stays in the plate.
    """
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if not isinstance(frames, (Sequence, np.ndarray)):
        frames = _decimate(frames, samples)
    chosen = [frames[i] for i in _spread(len(frames), samples)]
    if not chosen:
        raise ValueError("clean_plate needs at least one frame, got none")
    for index, frame in enumerate(chosen):
        if frame.dtype != np.uint8 or frame.shape != chosen[0].shape or frame.shape[-1:] != (3,):
            raise ValueError(f"frames must be (H, W, 3) uint8 of one size; sampled frame {index} "
                             f"is {frame.dtype} {frame.shape}, the first {chosen[0].shape}")
    median = np.median(np.stack(chosen), axis=0)  # (H, W, 3) float64
    return np.rint(median).astype(np.uint8)


class VideoWriter:
    """Write (H, W, 3) uint8 RGB frames to an .mp4 video (fourcc FOURCC), atomically.

        with VideoWriter("out.mp4", fps=25) as writer:
            writer.write(frame)

    Frames go to a hidden temporary file next to `path`, renamed into place when the `with`
    block ends normally (or `close()` is called) and removed when it raises. The frame size is
    fixed by the first frame; every later frame must match it. MPEG-4 needs even sizes, so an
    odd height or width gets one more row or column, a copy of the last (`size` is what the
    file holds) instead of the encoder silently cropping one off.
    """

    def __init__(self, path: str | os.PathLike, fps: float = 25.0):
        self.path = Path(path)
        if self.path.suffix.lower() not in VIDEO_SUFFIXES:
            raise UserError(f"{self.path}: cannot write a {self.path.suffix or 'suffix-less'} "
                            f"video; name it {self.path.stem}.mp4")
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.fps = float(fps)
        self.temp = temp_path(self.path)
        self.frame_size: tuple[int, int] | None = None  # (width, height) of the frames given
        self.size: tuple[int, int] | None = None  # (width, height) in the file: rounded up to even
        self.frames = 0
        self._writer: cv2.VideoWriter | None = None
        self._closed = False

    def write(self, frame: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame."""
        if self._closed:
            raise ValueError(f"{self.path}: the writer is closed")
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames must be (H, W, 3) uint8 RGB, got {frame.dtype} {frame.shape}")
        height, width = frame.shape[:2]
        if self._writer is None:
            self._writer = self._open((width, height))
        elif (width, height) != self.frame_size:
            raise ValueError(f"frame {self.frames} is {width}x{height} but the video is "
                             f"{self.frame_size[0]}x{self.frame_size[1]}; resize it first")
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        if height % 2 or width % 2:
            bgr = cv2.copyMakeBorder(bgr, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE)
        self._writer.write(bgr)
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path. Raises ValueError (and
        leaves no file) when no frame was written."""
        if self._closed:
            return self.path
        if self._writer is None:
            self.abort()
            raise ValueError(f"{self.path}: no frames were written, so no video was made")
        self._writer.release()
        self._writer = None
        self._closed = True
        os.replace(self.temp, self.path)
        return self.path

    def abort(self) -> None:
        """Stop writing and remove the temporary file; `path` is left as it was."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self.temp.unlink(missing_ok=True)

    def __enter__(self):  # -> Self (typing.Self needs Python 3.11)
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def _open(self, frame_size: tuple[int, int]) -> cv2.VideoWriter:
        """Start the temporary file for frames of `frame_size` (width, height)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        size = (frame_size[0] + frame_size[0] % 2, frame_size[1] + frame_size[1] % 2)
        writer = cv2.VideoWriter(str(self.temp), cv2.VideoWriter_fourcc(*FOURCC), self.fps, size)
        if not writer.isOpened():
            self.temp.unlink(missing_ok=True)
            raise UserError(f"{self.path}: OpenCV cannot write a {size[0]}x{size[1]} {FOURCC} "
                            "video here; check that the folder is writable, the frames are not "
                            "tiny, and OpenCV was built with FFmpeg")
        self.frame_size, self.size = frame_size, size
        return writer


def _open(path: str | os.PathLike) -> cv2.VideoCapture:
    """An opened cv2.VideoCapture for `path`, or UserError naming the file and the fix."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such video file; check the path")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened() or not capture.read()[0]:
        capture.release()
        raise UserError(f"{path}: OpenCV cannot read a frame of this as a video; convert it to "
                        ".mp4 (e.g. ffmpeg -i input output.mp4)")
    capture.release()  # opened again, at the first frame: seeking back is unreliable in some containers
    return cv2.VideoCapture(str(path))


class Camera:
    """A live source of frames: a camera by index (0, 1, ...) or a stream or file name that
    OpenCV opens (a video file stands in for a camera in tests).

        camera = Camera(0)
        for frame in camera.frames():     # (H, W, 3) uint8 RGB until the source ends
            ...
    """

    def __init__(self, source: int | str):
        self.source = source
        log = cv2.utils.logging
        level = log.getLogLevel()
        log.setLogLevel(log.LOG_LEVEL_ERROR)  # a missing camera: our one line, not OpenCV's warnings
        try:
            self.capture = cv2.VideoCapture(source)
            opened = self.capture.isOpened() and self.capture.read()[0]  # one frame dropped
        finally:
            log.setLogLevel(level)
        if not opened:
            self.capture.release()
            raise UserError(f"camera {source!r}: OpenCV cannot open it or read a frame; check "
                            f"that it is connected and not in use (or give a video file or "
                            f"stream URL)")
        self.fps = float(self.capture.get(cv2.CAP_PROP_FPS)) or 25.0

    def frames(self, max_frames: int | None = None) -> Iterator[np.ndarray]:
        return _frames(self.capture, max_frames)


def _frames(capture: cv2.VideoCapture, max_frames: int | None) -> Iterator[np.ndarray]:
    """Decode frames from an opened capture as RGB until the end or `max_frames`; release it."""
    try:
        count = 0
        while max_frames is None or count < max_frames:
            ok, frame = capture.read()
            if not ok:
                return
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            count += 1
    finally:
        capture.release()


def _spread(count: int, samples: int) -> list[int]:
    """min(samples, count) distinct indices into range(count), evenly spaced, first and last in."""
    return sorted({round(i) for i in np.linspace(0, count - 1, min(samples, count))})


def _decimate(frames: Iterable[np.ndarray], samples: int) -> list[np.ndarray]:
    """Read an iterable once and keep evenly spread frames: every k-th, k doubling (and every
    other kept frame dropped) whenever 2 * samples are held. Returns 1..2 * samples frames."""
    kept: list[np.ndarray] = []
    stride = 1
    for index, frame in enumerate(frames):
        if index % stride:
            continue
        kept.append(frame)
        if len(kept) >= 2 * samples:
            kept, stride = kept[::2], stride * 2
    return kept

"""Prediction videos that video tools read, written through PyAV (FFmpeg), resumable.

    mask   <stem>_mask.mkv    FFV1, 8-bit grey, lossless: 0 background, 255 foreground
    depth  <stem>_depth.mkv   FFV1, 16-bit grey (gray16le), lossless: millimetres, 0 unknown
    view   <stem>_view.mp4    H.264 (yuv420p), for people: image | mask over it | colour depth

The mask and depth videos hold exactly the values of the PNGs a photo's prediction gets (a
decoded frame equals `read_mask` / `read_depth` of the PNG), e.g. with
`ffmpeg -i walk_depth.mkv -pix_fmt gray16le depth_%06d.png` or `read_video(path, "depth")`.

Each video is written in segments, each a complete file under a hidden `.<name>.parts/`
folder, finished atomically; `join` remuxes them (no re-encoding) into the final file,
atomically, and removes the parts. A run killed at any moment keeps its finished segments, so a
resumed run writes only the rest.

    video = SegmentedVideo(out / "walk_mask.mkv", "mask", fps=25)
    video.begin(0); video.write(mask_uint8); ...; video.end()      # one segment per begin/end
    video.join()
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from maskdepth.errors import UserError
from maskdepth.io.atomic import remove_stale_temps, temp_path


@dataclass(frozen=True)
class VideoKind:
    """How one kind of prediction video is encoded."""

    suffix: str
    codec: str
    pix_fmt: str  # in the file
    array_format: str  # of the arrays given: gray (H, W) uint8, gray16le (H, W) uint16, rgb24
    options: dict = field(default_factory=dict)


KINDS = {
    "mask": VideoKind(".mkv", "ffv1", "gray", "gray", {"slices": "4", "slicecrc": "0"}),
    "depth": VideoKind(".mkv", "ffv1", "gray16le", "gray16le", {"slices": "4", "slicecrc": "0"}),
    "view": VideoKind(".mp4", "libx264", "yuv420p", "rgb24", {"preset": "ultrafast", "crf": "22"}),
}


def video_rate(fps: float) -> Fraction:
    """A frame rate as the fraction FFmpeg stores (30000 / 1001 = 29.97002997... ->
    30000/1001, as OpenCV reports NTSC files' rates; 25.0 -> 25)."""
    return Fraction(fps).limit_denominator(1001)


class SegmentedVideo:
    """One prediction video of `kind` (KINDS) at `fps`, written segment by segment."""

    def __init__(self, path: str | os.PathLike, kind: str, fps: float):
        import av  # here: PyAV loads FFmpeg's libraries; the photo paths never need them

        self._av = av
        self.path, self.kind, self.rate = Path(path), KINDS[kind], video_rate(fps or 25.0)
        if self.path.suffix != self.kind.suffix:
            raise ValueError(f"{self.path}: a {kind} video is written as {self.kind.suffix}")
        self.parts = self.path.with_name(f".{self.path.name}.parts")
        self._joined = self.path.with_name(f".{self.path.name}.joined")  # parts being deleted
        self._container = self._stream = self._temp = None
        self._first = 0
        self._failed: BaseException | None = None  # the error that ended the open segment

    @contextlib.contextmanager
    def _guarded(self):
        """Any error while encoding or finishing a segment throws the segment away at once (its
        container closed once, its temporary file removed) and is raised again by every later
        call: FFmpeg's container is never written to after a failed write or close (a closed
        muxer written to crashes the process, e.g. on a full disk), and no later frame lands in
        a segment that lost some."""
        if self._failed is not None:
            raise self._failed.with_traceback(None)  # not the first raise's frames again
        try:
            yield
        except BaseException as error:
            self._failed = error
            self.abandon()
            raise

    def _segment(self, first: int) -> Path:
        return self.parts / f"{first:09d}{self.kind.suffix}"

    def finished(self) -> list[int]:
        """First frames of the finished segments, in order."""
        if not self.parts.is_dir():
            return []
        return sorted(int(p.stem) for p in self.parts.glob(f"[0-9]*{self.kind.suffix}")
                      if p.stem.isdigit())

    def keep_only(self, firsts: set[int]) -> None:
        """Remove every segment not in `firsts` (a resumed run's journal), and stray temps."""
        for first in self.finished():
            if first not in firsts:
                self._segment(first).unlink()
        if self.parts.is_dir():
            for stray in self.parts.glob(".*.tmp*"):
                stray.unlink()

    def begin(self, first: int) -> None:
        """Start the segment whose first frame is `first`."""
        if self._container is not None:
            raise ValueError(f"{self.path}: segment {self._first} is still open")
        with self._guarded():
            self.parts.mkdir(parents=True, exist_ok=True)
            self._first, self._temp = first, temp_path(self._segment(first))
            self._container, self._stream = self._av.open(str(self._temp), "w"), None

    def write(self, array: np.ndarray) -> None:
        """Append one frame: (H, W) uint8 (mask), (H, W) uint16 (depth) or (H, W, 3) uint8 RGB
        (view; even H and W). Every frame of a video has the size of the first."""
        if min(array.shape[:2]) < 2:
            raise UserError(f"{self.path}: frames of {array.shape[1]}x{array.shape[0]} pixels; "
                            f"prediction videos need at least 2 pixels a side (use --frames "
                            f"for PNGs of such frames)")
        if self.kind.array_format == "rgb24" and (array.shape[0] % 2 or array.shape[1] % 2):
            # H.264 in 4:2:0 needs even sides: the last row or column is repeated
            array = np.pad(array, ((0, array.shape[0] % 2), (0, array.shape[1] % 2), (0, 0)), mode="edge")
        with self._guarded():
            if self._stream is None:
                stream = self._container.add_stream(self.kind.codec, rate=self.rate)
                stream.height, stream.width = array.shape[:2]
                stream.pix_fmt, stream.options = self.kind.pix_fmt, dict(self.kind.options)
                stream.thread_count = 1  # one core per video: the other videos and the model share
                self._stream = stream  # the rest, which gives more frames/s than wider encoders
            if self.kind.array_format == "rgb24":  # OpenCV's conversion is 3x FFmpeg's swscale here
                array = cv2.cvtColor(array, cv2.COLOR_RGB2YUV_I420)
                frame = self._av.VideoFrame.from_ndarray(array, format="yuv420p")
            else:
                frame = self._av.VideoFrame.from_ndarray(array, format=self.kind.array_format)
            self._container.mux(self._stream.encode(frame))

    @property
    def open(self) -> bool:
        return self._container is not None

    def end(self) -> None:
        """Finish the open segment: flushed, closed and renamed into place."""
        if self._container is None and self._failed is None:
            return
        with self._guarded():
            if self._stream is not None:
                self._container.mux(self._stream.encode(None))
            container, self._container = self._container, None  # closed once, even if it fails
            container.close()
            os.replace(self._temp, self._segment(self._first))
            self._temp = None

    def abandon(self) -> None:
        """Drop the open segment (an error while writing it, here or elsewhere)."""
        if self._container is not None:
            container, self._container = self._container, None
            with contextlib.suppress(Exception):  # the segment is thrown away either way
                container.close()
        if self._temp is not None:
            Path(self._temp).unlink(missing_ok=True)
        self._temp = None

    def join(self) -> Path | None:
        """Remux the finished segments, in order, into `path` (atomically) and remove the parts.
        Returns the path, or None when no frame was written (no segment, no earlier file)."""
        shutil.rmtree(self._joined, ignore_errors=True)  # a deletion a kill cut short
        av, firsts = self._av, self.finished()
        if not firsts:
            return self.path if self.path.is_file() else None
        temp = temp_path(self.path)
        try:
            with av.open(str(temp), "w") as output:
                stream, offset = None, 0
                for first in firsts:
                    with av.open(str(self._segment(first))) as part:
                        source = part.streams.video[0]
                        if stream is None:
                            stream = output.add_stream_from_template(source)
                        frames = 0
                        for packet in part.demux(source):
                            if packet.dts is None:  # the demuxer's end-of-stream marker
                                continue
                            packet.pts += offset
                            packet.dts += offset
                            packet.stream = stream
                            output.mux(packet)
                            frames += 1
                        offset += round(frames / self.rate / source.time_base)
            os.replace(temp, self.path)
        finally:
            remove_stale_temps(self.path)
        # The parts leave in one atomic rename before they are deleted: a run killed while
        # deleting them finds no parts (its finished file stands) rather than some of them,
        # which a resumed join would remux into a shorter video over the finished one.
        os.replace(self.parts, self._joined)
        shutil.rmtree(self._joined)
        return self.path


def read_video(path: str | os.PathLike, kind: str) -> Iterator[np.ndarray]:
    """The frames of a prediction video as written: (H, W) uint8 0/255 (mask), (H, W) uint16
    millimetres (depth) or (H, W, 3) uint8 RGB (view)."""
    import av

    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format=KINDS[kind].array_format)

"""How `predict_video` (inference/video.py) runs: one object for its options. Light: the CLI's
parser reads SEGMENT_FRAMES from here without importing the video path."""

from __future__ import annotations

from dataclasses import dataclass

SEGMENT_FRAMES = 240  # frames per resumable segment, rounded up to whole batches (~10 s)


@dataclass(frozen=True)
class VideoSettings:
    """align: align the background to the frames (once, then checked every REALIGN_EVERY
    frames). batch_size: frames per model call. max_frames: stop after this many (None: all).
    frame_files: also write each frame's mask and depth PNGs. steady: outside each frame's
    mask, the empty scene's depth, made once per background. segment_frames: frames per
    resumable segment. max_side: the working size's longer side (None: the video profile's,
    inference/profiles.py)."""

    align: bool = True
    batch_size: int = 8
    max_frames: int | None = None
    frame_files: bool = False
    steady: bool = True
    segment_frames: int = SEGMENT_FRAMES
    max_side: int | None = None

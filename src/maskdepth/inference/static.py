"""A static camera's background for video: aligned once, checked again now and then.

Aligning the background to every frame (ORB + ECC + colour fit, ~50 ms at 640x480) costs more
than the model. A static camera needs it once; `StaticBackground` aligns to the first frame,
then every `every` frames tries a fresh alignment and keeps it only when it explains that frame
better (the camera was nudged, the light changed), so the cost is about 1 ms a frame.

    static = StaticBackground(plate)
    for index, frame in enumerate(frames):
        background = static.for_frame(frame, index)      # (H, W, 3) uint8, aligned to frame
"""

from __future__ import annotations

import numpy as np

from maskdepth.inference.align import align_background
from maskdepth.inference.mismatch import mismatch_score

REALIGN_EVERY = 50  # frames between alignment checks (2 s at 25 frames/s)


class StaticBackground:
    """The background photo (H, W, 3) uint8 RGB, aligned to the video's frames on demand.

    `alignments` counts the alignments run; `realigned` the times a later one replaced the
    first (the scene drifted)."""

    def __init__(self, background: np.ndarray, every: int = REALIGN_EVERY):
        self.photo, self.every = background, every
        self.current: np.ndarray | None = None
        self.checked_at = -every
        self.alignments = self.realigned = 0

    def for_frame(self, frame: np.ndarray, index: int) -> np.ndarray:
        """The background aligned for frame `index` (frames come in increasing order)."""
        if self.current is None or index - self.checked_at >= self.every:
            self._check(frame, index)
        return self.current

    def _check(self, frame: np.ndarray, index: int) -> None:
        result = align_background(frame, self.photo)
        self.alignments += 1
        self.checked_at = index
        if self.current is None:
            self.current = result.background
            return
        now = mismatch_score(frame, self.current)
        if result.mismatch < now:
            self.current = result.background
            self.realigned += 1

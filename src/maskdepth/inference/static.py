"""A static camera's background for video: aligned once, checked again now and then.

Aligning the background to every frame (ORB + ECC + colour fit, ~50 ms at 640x480) costs more
than the model. A static camera needs it once; `StaticBackground` aligns to the first frame,
then every `every` frames tries a fresh alignment and keeps it only when it explains that frame
better (the camera was nudged, the light changed), so the cost is about 1 ms a frame.

    static = StaticBackground(plate)
    for index, frame in enumerate(frames):
        background = static.for_frame(frame, index)      # (H, W, 3) uint8, aligned to frame

Depth that does not flicker: the empty scene's depth is predicted once per background
(`SceneDepth`), and each frame keeps it wherever the frame's mask says background
(`steady_depth`), so only the foreground's depth changes from frame to frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from maskdepth.inference.align import align_background
from maskdepth.inference.api import MaskDepth, Prediction
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


class SceneDepth:
    """The depth of the empty scene, predicted from the background alone (image = background:
    nothing in front), once per background image: again only when the background object
    changes (a new alignment was kept). `of` gives (H, W) uint16 millimetres."""

    def __init__(self, model: MaskDepth):
        self.model = model
        self._for: np.ndarray | None = None
        self._depth_mm: np.ndarray | None = None
        self.predictions = 0

    def of(self, background: np.ndarray) -> np.ndarray:
        if background is not self._for:
            self._depth_mm = self.model.predict(background, background, align=False).depth_mm
            self._for = background
            self.predictions += 1
        return self._depth_mm


def steady_depth(prediction: Prediction, scene_depth_mm: np.ndarray) -> Prediction:
    """The prediction with the scene's depth (H, W) uint16 millimetres outside its mask (the
    frame's own inside it)."""
    depth_mm = scene_depth_mm.copy()
    cv2.copyTo(prediction.depth_mm, prediction.mask.view(np.uint8), depth_mm)
    return Prediction(prediction.mask, prediction.probability, mismatch=prediction.mismatch,
                      depth_mm=depth_mm)

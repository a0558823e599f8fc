"""Keeping a live camera in real time on a machine too slow for it.

A webcam (`predict --webcam`) and the web page's live mode get frames at the camera's rate. When
the work per frame takes longer than the time between frames, the session first lowers its
working size step by step (inference/profiles.py: the video profile's, then LIVE_FALLBACK), and
at the smallest size drops frames, so that what it shows is never older than a frame or two.

    pace = Pace(frame_seconds=1 / camera.fps, side=session.model.max_side)
    new_side = pace.record(seconds, frames)     # after each batch; a smaller size, or None
    drop = pace.drop                            # frames to skip after each one predicted
    line = pace.news()                          # what changed, once (StreamSession.keep_pace)
"""

from __future__ import annotations

import math

from maskdepth.inference.profiles import LIVE_FALLBACK

SETTLE_FRAMES = 4  # frames measured at a size before judging it (the first ones pay start-up)
SMOOTHING = 0.3  # weight of the newest frame in the running time per frame
SLACK = 1.15  # a size keeps up while its time per frame is under this many frame intervals
LIVE_PAGE_FPS = 15  # the live page sends a frame after each answer: the rate it should reach


class Pace:
    """The working size and frame dropping of one live source (see the module docstring).

    frame_seconds: time between the camera's frames. side: the working size it starts at.
    steps: the smaller sizes it may fall back to, largest first (default LIVE_FALLBACK, those
    under `side`). `note` is one line saying what changed, set the first time it does."""

    def __init__(self, frame_seconds: float, side: int, steps: tuple[int, ...] = LIVE_FALLBACK):
        self.frame_seconds = max(frame_seconds, 1e-3)
        self.side = side
        self.steps = [s for s in steps if s < side]
        self.drop = 0
        self.note: str | None = None
        self._said = False
        self._frames = 0
        self._per_frame: float | None = None

    def record(self, seconds: float, frames: int = 1) -> int | None:
        """Take the time `seconds` that `frames` frames took; returns the smaller working size
        to use from now on, or None to go on as before (drop may have changed)."""
        per_frame = seconds / max(frames, 1)
        self._frames += frames
        self._per_frame = per_frame if self._per_frame is None else \
            (1 - SMOOTHING) * self._per_frame + SMOOTHING * per_frame
        if self._frames < SETTLE_FRAMES or self._per_frame <= SLACK * self.frame_seconds:
            return None
        rate = 1 / self.frame_seconds
        if self.steps:
            self.side = self.steps.pop(0)
            self._frames, self._per_frame = 0, None
            self.note = self.note or (f"this machine cannot keep up with {rate:.0f} frames/s: "
                                      f"working at {self.side} px and lower, dropping frames if need be")
            return self.side
        self.drop = max(self.drop, math.ceil(self._per_frame / self.frame_seconds) - 1)
        self.note = self.note or (f"this machine cannot keep up with {rate:.0f} frames/s: "
                                  f"predicting 1 frame in {self.drop + 1}")
        return None

    def news(self) -> str | None:
        """`note` the first time it is asked for after being set, else None: said once."""
        if self.note is None or self._said:
            return None
        self._said = True
        return self.note

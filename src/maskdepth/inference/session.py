"""One static camera's stream: the session that `predict --video`, `predict --webcam`, the web
page's live mode, `bench video` and the CDnet evaluation all run frames through.

    session = StreamSession(model, plate)                   # the empty scene, (H, W, 3) uint8
    for first, chunk in batches:                             # frames in order, any batch size
        predictions = session.predict(chunk, first)          # list of Prediction

It owns what a static camera needs once, so every caller gets the same masks for the same
frames:
- the working size (inference/profiles.py's video profile, unless a caller asks for another),
- the plate and its alignment: aligned to the first frame, checked again every REALIGN_EVERY
  frames and replaced only when a new alignment explains that frame better (inference/static.py),
- the scene depth: the scene prior's (inference/prior.py), made once per background, or without
  one the empty scene's depth predicted once per kept alignment; each frame's depth outside its
  mask taken from it (steady depth, no flicker).
"""

from __future__ import annotations

import numpy as np

from maskdepth.inference.api import MaskDepth, Prediction
from maskdepth.inference.prior import NETWORK
from maskdepth.inference.profiles import VIDEO, working_side
from maskdepth.inference.static import REALIGN_EVERY, SceneDepth, StaticBackground, steady_depth


class StreamSession:
    """Frames of one static camera against one plate (see the module docstring).

    model: any MaskDepth (its runner, edges and priors are used at the session's working size);
    plate: (H, W, 3) uint8 RGB photo of the empty scene; align: align it to the frames (off:
    used as it is, the network alone); steady: steady depth; max_side: the working size's
    longer side (None: the video profile's); every: frames between alignment checks."""

    def __init__(self, model: MaskDepth, plate: np.ndarray, align: bool = True, steady: bool = True,
                 max_side: int | None = None, every: int = REALIGN_EVERY):
        self.model = model.variant(max_side=working_side(VIDEO, max_side))
        self.plate = plate
        self.static = StaticBackground(plate, every) if align else None
        self.scene_depth = SceneDepth(self.model) if steady else None
        self.frames = 0  # frames predicted

    def set_max_side(self, max_side: int) -> None:
        """Work at another working size from the next frame on (a live camera's Pace,
        inference/pace.py); the scene prior and the plate's alignment are kept."""
        self.model = self.model.variant(max_side=max_side)

    def keep_pace(self, pace, seconds: float, frames: int = 1) -> str | None:
        """Tell `pace` (inference/pace.py) that `frames` frames took `seconds`, work at the size
        it asks for from the next frame on; returns the line that says so, the first time."""
        side = pace.record(seconds, frames)
        if side is not None:
            self.set_max_side(side)
        return pace.news()

    def scene(self, frame: np.ndarray, index: int) -> np.ndarray:
        """The plate as it stands for frame `index` (aligned when the session aligns). Call it
        for every batch in order, skipped ones too, so that a resumed run aligns as an
        uninterrupted one did."""
        return self.static.for_frame(frame, index) if self.static is not None else self.plate

    def predict(self, frames: list[np.ndarray], first: int) -> list[Prediction]:
        """Predictions for frames `first`, `first` + 1, ... (each (H, W, 3) uint8, the plate's
        size), against the plate as it stands for the first of them."""
        scene = self.scene(frames[0], first)
        predictions = self.model.predict(frames, scene, align=False)
        # A prediction fused with the scene prior already has the scene's depth outside its
        # mask (inference/prior.py): steady as it is.
        if self.scene_depth is not None and any(p.depth_source == NETWORK for p in predictions):
            scene_mm = self.scene_depth.of(scene)
            predictions = [steady_depth(p, scene_mm) if p.depth_source == NETWORK else p
                           for p in predictions]
        self.frames += len(frames)
        return predictions

"""A live camera on a machine too slow for it: the working size steps down, then frames are
dropped, and it is said once (inference/pace.py, the webcam path, the live page)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from maskdepth.errors import UserError
from maskdepth.inference.api import MaskDepth
from maskdepth.inference.pace import SETTLE_FRAMES, Pace
from maskdepth.inference.profiles import LIVE_FALLBACK, PROFILES, VIDEO, working_side
from maskdepth.io import images as imageio
from maskdepth.io.video import VideoWriter
from maskdepth.io.video_out import read_video
from maskdepth.web.live import LiveSession, read_reply


def test_pace_keeps_its_size_while_it_keeps_up_then_steps_down_then_drops_frames():
    pace = Pace(frame_seconds=0.04, side=160)
    assert all(pace.record(0.03) is None for _ in range(50))
    assert pace.side == 160 and pace.drop == 0 and pace.note is None
    sides = [pace.record(0.1) for _ in range(3 * SETTLE_FRAMES)]
    assert [s for s in sides if s is not None] == list(LIVE_FALLBACK)  # 128, then 96
    assert pace.drop == 2  # 0.1 s a frame against 0.04 between frames: 1 frame in 3
    assert "cannot keep up with 25 frames/s" in pace.note
    small = Pace(frame_seconds=0.04, side=64)  # already under every fallback size
    assert all(small.record(0.1) is None for _ in range(SETTLE_FRAMES + 1)) and small.drop == 2
    with pytest.raises(UserError, match="profile"):
        working_side("movie")


class SlowRunner:
    """A runner that takes `seconds` per call, like a machine too slow for the camera."""

    def __init__(self, real, seconds: float):
        self.real, self.seconds = real, seconds
        self.engine, self.config, self.takes_prior = real.engine, real.config, False
        self.sides: list[int] = []

    def predict(self, image, background, *extra):
        time.sleep(self.seconds)
        self.sides.append(max(image.shape[-2:]))
        return self.real.predict(image, background, *extra)


def _camera_video(path, frames: int, fps: float) -> np.ndarray:
    room = np.random.default_rng(0).integers(40, 220, (120, 160, 3), dtype=np.uint8)
    with VideoWriter(path, fps) as writer:
        for n in range(frames):
            frame = room.copy()
            frame[30:100, 5 * n: 30 + 5 * n] = 20
            writer.write(frame)
    return room


def test_a_slow_webcam_run_lowers_its_size_drops_frames_and_says_so_once(tmp_path):
    from maskdepth.inference.video import predict_video
    from maskdepth.inference.video_settings import VideoSettings
    from maskdepth.io.journal import Journal
    from maskdepth.io.video import Camera

    room = _camera_video(tmp_path / "camera.mp4", frames=24, fps=25.0)
    imageio.write_rgb(tmp_path / "room.png", room)
    model = MaskDepth.load(scene_depth="none")
    slow = SlowRunner(model.runner, seconds=0.12)  # 3 frame intervals at 25 frames/s
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = predict_video(MaskDepth(slow, edges=model.edges), Camera(str(tmp_path / "camera.mp4")),
                                tmp_path / "room.png", tmp_path / "out", Journal.untracked(),
                                VideoSettings(align=False, batch_size=1), stem="camera")
    notes = [str(w.message) for w in caught if "cannot keep up" in str(w.message)]
    assert len(notes) == 1  # said once
    assert slow.sides[0] == PROFILES[VIDEO] and slow.sides[-1] == LIVE_FALLBACK[-1]
    assert written < 24  # frames were dropped to stay in real time ...
    assert sum(1 for _ in read_video(tmp_path / "out" / "camera_mask.mkv", "mask")) == written  # ... not lost from the files


def test_a_slow_live_session_lowers_its_size_and_the_page_is_told():
    room = np.random.default_rng(1).integers(40, 220, (120, 160, 3), dtype=np.uint8)
    model = MaskDepth.load(scene_depth="none")
    slow = SlowRunner(model.runner, seconds=0.1)  # the live page wants 15 frames/s
    live = LiveSession(MaskDepth(slow, edges=model.edges), room)
    frame = imageio.encode_jpeg(room)
    headers = [read_reply(live.answer(frame, 1 << 20))[0] for _ in range(3 * SETTLE_FRAMES)]
    assert headers[0]["max_side"] == PROFILES[VIDEO]
    assert headers[-1]["max_side"] == LIVE_FALLBACK[-1]
    assert sum("note" in h for h in headers) == 1 and "cannot keep up" in headers[SETTLE_FRAMES - 1]["note"]
    fast = LiveSession(MaskDepth.load(scene_depth="none"), room)
    assert all(read_reply(fast.answer(frame, 1 << 20))[0]["max_side"] == PROFILES[VIDEO] for _ in range(8))

"""One stream session (inference/session.py) behind every video path: the CLI's video, the web
page's live mode and the CDnet evaluation see the same frames the same way."""

from __future__ import annotations

import numpy as np

from maskdepth.cli import main
from maskdepth.inference.api import MaskDepth
from maskdepth.inference.profiles import PROFILES, VIDEO
from maskdepth.inference.session import StreamSession
from maskdepth.io import images as imageio
from maskdepth.io.video import VideoWriter, read_frames
from maskdepth.synth import CaptureConfig, SceneConfig, SceneEngine
from maskdepth.web.live import LiveSession


def _walk(folder, frames: int = 10):
    """A room (a rendered empty scene, 120x160) and a video of a dark block crossing it."""
    scene = SceneEngine(SceneConfig(height=120, width=160, capture=CaptureConfig.clean()), seed=4).render(1, 3)
    room = np.ascontiguousarray((scene["background"][0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
    imageio.write_rgb(folder / "room.png", room)
    video = folder / "walk.mp4"
    with VideoWriter(video, 10.0) as writer:
        for n in range(frames):
            frame = room.copy()
            frame[30:100, 10 + 12 * n: 40 + 12 * n] = (35, 30, 40)
            writer.write(frame)
    return room, video


def test_the_cli_video_path_and_the_web_session_give_the_same_masks(tmp_path):
    room, video = _walk(tmp_path)
    out = tmp_path / "out"
    assert main(["predict", "--video", str(video), "--background", str(tmp_path / "room.png"),
                 "--out", str(out), "--frames", "--batch-size", "1"]) == 0
    live = LiveSession(MaskDepth.load(), room)  # the served model (320 px): the session sets 160
    frames = list(read_frames(video))
    assert len(frames) == 10
    for n, frame in enumerate(frames):
        prediction = live.predict(frame)
        written = imageio.read_mask(out / "walk_frames" / f"{n:06d}_mask.png")
        assert np.array_equal(prediction.mask, written), n
        depth = imageio.read_depth(out / "walk_frames" / f"{n:06d}_depth.png")
        assert np.array_equal(prediction.depth_mm, np.rint(depth * 1000).astype(np.uint16)), n
    assert live.stream.model.max_side == PROFILES[VIDEO]
    assert prediction.mask.sum() > 0  # the block is found


def test_a_session_aligns_once_then_checks_every_n_frames_and_keeps_the_scene_depth():
    room = np.random.default_rng(0).integers(40, 220, (64, 80, 3), dtype=np.uint8)
    session = StreamSession(MaskDepth.load(scene_depth="none"), room, every=4)
    for first in range(0, 10, 2):
        session.predict([room, room], first)
    assert session.frames == 10
    assert session.static.alignments == 3  # frames 0, 4 and 8
    assert session.scene_depth.predictions == 1  # the same aligned plate kept throughout
    with_prior = StreamSession(MaskDepth.load(), room, every=4)
    for first in range(0, 10, 2):
        with_prior.predict([room, room], first)
    assert with_prior.model.priors.computed == 1  # once, for the plate as it stands
    assert with_prior.scene_depth.predictions == 0  # the prior is the scene depth
    bare = StreamSession(MaskDepth.load(), room, align=False, steady=False)
    assert bare.static is None and bare.scene(room, 0) is room

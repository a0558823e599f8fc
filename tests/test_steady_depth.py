"""Depth that does not flicker in video: the empty scene's depth, predicted once per
background, kept outside each frame's mask."""

from __future__ import annotations

import numpy as np
import torch

from maskdepth.cli import main
from maskdepth.inference.api import Prediction
from maskdepth.inference.static import SceneDepth, steady_depth
from maskdepth.io import images as imageio
from maskdepth.io.video import VideoWriter
from maskdepth.io.video_out import read_video
from maskdepth.metrics import depth_flicker
from test_video import FPS, moving_square, static_background


def test_steady_depth_keeps_the_frame_inside_its_mask_and_the_scene_outside():
    mask = np.array([[True, False], [False, True]])
    frame = Prediction(mask, mask.astype(np.float32), np.full((2, 2), 2.0, np.float32))
    scene_mm = np.array([[5000, 6000], [7000, 8000]], np.uint16)
    steady = steady_depth(frame, scene_mm)
    assert steady.depth.tolist() == [[2.0, 6.0], [7.0, 2.0]]
    assert steady.depth_mm.tolist() == [[2000, 6000], [7000, 2000]]
    assert steady.mask is mask and steady.depth.dtype == np.float32


class CountingModel:
    """Stands in for MaskDepth: depth = the background's mean grey, counting calls."""

    def __init__(self):
        self.calls = []

    def predict(self, image, background, align=True):
        self.calls.append((image is background, align))
        depth = np.full(background.shape[:2], background.mean() / 10, np.float32)
        return Prediction(np.zeros(background.shape[:2], bool), depth * 0, depth)


def test_the_scene_depth_is_predicted_once_per_background():
    model = CountingModel()
    scene = SceneDepth(model)
    first, second = np.full((4, 4, 3), 100, np.uint8), np.full((4, 4, 3), 50, np.uint8)
    assert scene.of(first)[0, 0] == 10000 and scene.of(first)[0, 0] == 10000  # millimetres
    assert scene.of(second)[0, 0] == 5000  # a new alignment was kept: predicted again
    assert model.calls == [(True, False), (True, False)] and scene.predictions == 2


def test_depth_flicker_is_measured_on_pixels_static_in_both_frames():
    depth = torch.tensor([1.0, 1.5, 1.5, 3.0]).view(4, 1, 1, 1).expand(4, 1, 2, 2).clone()
    static = torch.ones(4, 1, 2, 2, dtype=torch.bool)
    static[3] = False  # the last change (1.5 -> 3) is on a moving pixel: not counted
    assert depth_flicker(depth, static) == 0.25  # (0.5 + 0) / 2 pairs


def test_video_depth_outside_the_mask_no_longer_flickers(tmp_path):
    background = static_background()
    video, plate = tmp_path / "walk.mp4", tmp_path / "empty.png"
    imageio.write_rgb(plate, background)
    with VideoWriter(video, fps=FPS) as writer:
        for frame in moving_square(background):
            writer.write(frame)
    flicker = {}
    alone = ["--scene-depth-model", "none"]  # the network's own scene depth, as before the prior
    for mode, flags in (("steady", alone), ("per_frame", [*alone, "--per-frame-depth"]),
                        ("prior_per_frame", ["--per-frame-depth"])):
        out = tmp_path / mode
        assert main(["predict", "--video", str(video), "--background", str(plate),
                     "--out", str(out), *flags]) == 0
        depth = np.stack(list(read_video(out / "walk_depth.mkv", "depth"))).astype(np.float32)
        depth = torch.from_numpy(depth / 1000)[:, None]
        masks = np.stack(list(read_video(out / "walk_mask.mkv", "mask"))) > 0
        static = torch.from_numpy(~masks)[:, None]
        assert static[1:].logical_and(static[:-1]).sum() > 0.5 * static[1:].numel()
        flicker[mode] = depth_flicker(depth, static)
    assert flicker["steady"] == 0.0  # the same scene depth on every predicted-static pixel
    assert flicker["per_frame"] > 0.0
    assert flicker["prior_per_frame"] == 0.0  # the scene prior: steady even frame by frame

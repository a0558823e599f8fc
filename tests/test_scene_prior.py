"""The scene prior: depth models for the empty scene, the user's depth image, their fusion with
the network's depth, and the commands that take them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from maskdepth import MaskDepth
from maskdepth.cli import main
from maskdepth.errors import UserError
from maskdepth.inference import prior as prior_module
from maskdepth.inference.placement import ASSUMED_FOV_DEG, foreground_scale, upright_depth
from maskdepth.inference.prior import (
    ScenePrior,
    ScenePriors,
    fuse,
    prior_from_depth,
)
from maskdepth.inference.scene_depth import builtin_path, load_scene_depth_model
from maskdepth.io import images as imageio
from maskdepth.io.layout import prediction_paths
from maskdepth.synth import CaptureConfig, SceneConfig, SceneEngine

TEACHER = Path(__file__).resolve().parents[2] / "shared" / "teacher" / "fast_depth_224.tflite"


@pytest.fixture(scope="module")
def scene():
    """One 64x64 engine scene: image, background (uint8), mask (bool), background depth (m)."""
    batch = SceneEngine(SceneConfig(height=64, width=64, capture=CaptureConfig.clean()), seed=0).render(1, 3)
    to_uint8 = lambda t: (t[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return (to_uint8(batch["image"]), to_uint8(batch["background"]), batch["mask"][0, 0].numpy() > 0.5,
            batch["background_depth"][0, 0].numpy())


def constant_depth_onnx(path: Path, metres: float, channels_first: bool = True) -> Path:
    """A user's depth model: float RGB in, a constant depth plus a tiny share of the input out."""
    shape = [1, 3, "h", "w"] if channels_first else [1, "h", "w", 3]
    axis = 1 if channels_first else 3
    nodes = [helper.make_node("ReduceMean", ["image"], ["grey"], axes=[axis], keepdims=1),
             helper.make_node("Mul", ["grey", "tiny"], ["small"]),
             helper.make_node("Add", ["small", "base"], ["depth"])]
    graph = helper.make_graph(
        nodes, "constant", [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("depth", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.float32(1e-6), "tiny"),
         numpy_helper.from_array(np.float32(metres), "base")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_builtin_model_gives_room_scale_metres(scene):
    model = load_scene_depth_model("builtin")
    depth = model(scene[1])
    assert depth.shape == (224, 224) and depth.dtype == np.float32
    assert 0.3 < np.median(depth) < 18.3  # its output's range: 0-18.3 m in 7 cm steps
    assert "FastDepth" in model.source and "sha256" in model.source
    assert load_scene_depth_model("none") is None and load_scene_depth_model(None) is None


def test_builtin_onnx_matches_the_tflite_file_it_was_converted_from(scene):
    """The shipped ONNX against the int8 TFLite original (scripts/convert_tflite_depth.py): most
    pixels within 5 %, the mean within 2 %."""
    if not TEACHER.is_file():
        pytest.skip(f"{TEACHER} is not beside the project")
    litert = pytest.importorskip("ai_edge_litert")
    assert litert
    rng = np.random.default_rng(0)
    photo = np.clip(scene[1].astype(np.int16) + rng.integers(-3, 4, scene[1].shape), 0, 255).astype(np.uint8)
    ours = load_scene_depth_model(builtin_path())(photo)
    reference = load_scene_depth_model(TEACHER)(photo)
    assert reference.shape == ours.shape
    assert np.mean(np.abs(ours / reference - 1) < 0.05) > 0.8
    assert abs(ours.mean() / reference.mean() - 1) < 0.02


@pytest.mark.parametrize("channels_first", [True, False])
def test_user_onnx_model_with_a_free_size_runs_in_either_layout(tmp_path, scene, channels_first):
    path = constant_depth_onnx(tmp_path / "mine.onnx", 2.5, channels_first)
    model = load_scene_depth_model(path)
    depth = model(scene[1])
    assert depth.shape == (518, 518)  # a free size: DYNAMIC_SIDE on the longer side
    np.testing.assert_allclose(depth, 2.5, atol=1e-4)
    assert model.source.startswith("mine.onnx (sha256 ")


def test_bad_scene_depth_models_get_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="must be an .onnx or .tflite file"):
        load_scene_depth_model(tmp_path / "model.pt")
    with pytest.raises(UserError, match="no such scene-depth model file"):
        load_scene_depth_model(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(UserError, match="junk.onnx: ONNX Runtime cannot open it"):
        load_scene_depth_model(tmp_path / "junk.onnx")


def test_user_depth_image_is_resized_and_checked():
    depth_mm = np.full((32, 32), 2000, np.uint16)
    depth_mm[:4] = 0
    prior = prior_from_depth(depth_mm, (64, 64))
    assert prior.depth_mm.shape == (64, 64) and prior.holes[:8].all() and not prior.holes[8:].any()
    assert prior.coverage == pytest.approx(56 / 64) and prior.usable
    metres = prior_from_depth(np.full((64, 64), 1.5, np.float32), (64, 64))
    assert (metres.depth_mm == 1500).all()
    with pytest.raises(UserError, match="same aspect ratio"):
        prior_from_depth(np.ones((10, 40), np.uint16), (64, 64))
    with pytest.raises(UserError, match="uint8 depth"):
        prior_from_depth(np.ones((64, 64), np.uint8), (64, 64))
    assert not prior_from_depth(np.zeros((64, 64), np.uint16), (64, 64)).usable


def test_foreground_scale_is_the_prior_over_the_network_around_the_mask():
    net = np.full((20, 20), 2.0, np.float32)
    prior = np.full((20, 20), 3.0, np.float32)
    prior[:, 10:] = 5.0  # the far half of the scene: not next to the mask
    mask = np.zeros((20, 20), bool)
    mask[8:12, 2:6] = True
    assert foreground_scale(net, mask, prior) == pytest.approx(1.5)
    assert foreground_scale(net, np.zeros_like(mask), prior) == pytest.approx(2.0)  # whole scene
    prior[:10] = 1.0  # the scene beside the top of the mask: the contact below it decides
    assert foreground_scale(net, mask, prior) == pytest.approx(1.5)


def test_fuse_keeps_the_prior_outside_and_places_the_foreground_inside():
    prior_mm = np.full((40, 40), 3000, np.uint16)
    prior_mm[:, :4] = 0  # a hole of the depth camera
    prior = ScenePrior(prior_mm, "test")
    net = np.full((20, 20), 2.0, np.float32)
    net[8:12, 8:12] = 1.0  # the foreground, half as far as the scene behind it
    small_mask = net < 1.5
    mask = np.kron(small_mask, np.ones((2, 2), bool))
    fused = fuse(prior, net, small_mask, mask)
    assert fused.dtype == np.uint16 and fused.shape == (40, 40)
    assert (fused[mask] == 1500).all()  # 1.0 m x (3.0 / 2.0)
    assert (fused[~mask][:, ...] > 0).all()
    assert (fused[10:, 10:][~mask[10:, 10:]] == 3000).all()
    assert (fused[:, :4] == 3000).all()  # holes: the network's 2.0 m scaled to the scene
    far = np.full((20, 20), 2.0, np.float32)
    far[8:12, 8:12] = 3.0  # the network puts the foreground behind the wall it hides
    fused = fuse(prior, far, small_mask, mask)
    assert (fused[mask] == 3000).all()  # in front of the scene at most: its depth there


def _pinhole_room(size=64, pitch_deg=20.0, camera_height=1.5, wall=6.0, stand_at=3.0):
    """A camera looking down on a floor (a wall beyond), and a person-like board standing
    upright on the floor stand_at metres ahead: (scene depth, board's depth, board mask), metres,
    the camera's field of view being the one upright_depth assumes."""
    focal = (size / 2) / np.tan(np.radians(ASSUMED_FOV_DEG) / 2)
    pitch = np.radians(pitch_deg)
    r = (np.arange(size) - (size - 1) / 2) / focal  # each row's ray, camera y per unit z
    floor = camera_height / np.maximum(np.cos(pitch) * r + np.sin(pitch), 1e-6)
    wall_z = wall / (np.cos(pitch) - np.sin(pitch) * r)  # a vertical plane, as the board
    scene = np.minimum(floor, wall_z)[:, None] * np.ones((1, size))
    board = (stand_at / (np.cos(pitch) - np.sin(pitch) * r))[:, None] * np.ones((1, size))
    feet = int(np.flatnonzero(board[:, 0] <= scene[:, 0])[-1])  # its lowest row above the floor
    mask = np.zeros((size, size), bool)
    mask[feet - 25 : feet + 1, 24:36] = True
    return scene.astype(np.float32), board.astype(np.float32), mask


def test_an_object_stands_upright_on_the_floor_below_it():
    scene, board, mask = _pinhole_room()
    placed = upright_depth(mask, scene)
    assert np.allclose(placed[mask], board[mask], rtol=0.03)
    # a camera looking down: the board nears the camera with height, as the truth does
    assert placed[mask].max() / placed[mask].min() > 1.05
    level_scene, level_board, level_mask = _pinhole_room(pitch_deg=0.0)
    assert np.allclose(upright_depth(level_mask, level_scene)[level_mask], level_board[level_mask], rtol=0.03)
    cut = mask.copy()
    cut[:, :] = False
    cut[40:, 24:36] = True  # cut off by the picture's bottom: no floor seen below it
    assert (upright_depth(cut, scene)[cut] == 0).all()
    wall_only = np.full_like(scene, 4.0)  # no floor below: nothing to stand on
    assert (upright_depth(mask, wall_only) == 0).all()


def test_priors_are_made_once_per_background(scene):
    calls = []

    class Model:
        source = "counting"

        def __call__(self, rgb):
            calls.append(rgb.shape)
            return np.full((8, 8), 2.0, np.float32)

    priors = ScenePriors(Model())
    background = scene[1]
    first = priors.of(background)
    assert priors.of(background) is first and priors.of(background.copy()) is first
    assert len(calls) == 1 and priors.computed == 1
    np.testing.assert_array_equal(first.depth_mm, 2000)
    shifted = priors.of(background, homography=np.array([[1, 0, 5], [0, 1, 0], [0, 0, 1]], float))
    assert (shifted.depth_mm[:, -5:] == 0).all() and (shifted.depth_mm[:, :-6] == 2000).all()
    assert len(calls) == 1


def test_predict_with_the_scene_depth_keeps_it_outside_the_mask(weights, scene):
    image, background, _, background_depth = scene
    model = MaskDepth.load(weights, scene_depth="none")
    alone = model.predict(image, background, align=False)
    assert alone.depth_source == "network"
    result = model.predict(image, background, align=False, background_depth=background_depth)
    assert result.depth_source == "background depth image"
    np.testing.assert_array_equal(result.mask, alone.mask)  # masks never change
    expected = imageio.depth_to_millimetres(background_depth)
    np.testing.assert_array_equal(result.depth_mm[~result.mask], expected[~result.mask])
    with_builtin = MaskDepth.load(weights)
    assert "FastDepth" in with_builtin.scene_depth_source
    assert "FastDepth" in with_builtin.predict(image, background, align=False).depth_source


def test_an_unusable_prior_falls_back_to_the_network(weights, scene, monkeypatch):
    image, background, _, background_depth = scene
    model = MaskDepth.load(weights, scene_depth="none")
    holes = background_depth.copy()
    holes[: int(0.6 * holes.shape[0])] = 0  # covers under MIN_COVERAGE of the picture
    assert prior_module.MIN_COVERAGE == 0.5
    result = model.predict(image, background, align=False, background_depth=holes)
    assert result.depth_source == "network"


def test_cli_predict_and_evaluate_take_the_scene_depth(weights, scene, tmp_path, capsys):
    image, background, _, background_depth = scene
    imageio.write_rgb(tmp_path / "in" / "person.png", image)
    imageio.write_rgb(tmp_path / "in" / "room.png", background)
    imageio.write_depth(tmp_path / "in" / "room_depth.png", background_depth)
    out = tmp_path / "out"
    assert main(["predict", "--checkpoint", str(weights), "--image", str(tmp_path / "in" / "person.png"),
                 "--background", str(tmp_path / "in" / "room.png"), "--background-depth",
                 str(tmp_path / "in" / "room_depth.png"), "--out", str(out), "--no-align"]) == 0
    predicted_mask = imageio.read_mask(prediction_paths(out, "person")[0]) > 0
    depth = imageio.read_depth(prediction_paths(out, "person")[1])
    np.testing.assert_allclose(depth[~predicted_mask], np.round(background_depth[~predicted_mask], 3),
                               atol=1e-6)
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(weights), "--data", str(tmp_path / "in"),
                 "--background-depth", str(tmp_path / "in" / "room_depth.png"),
                 "--out", str(tmp_path / "o2")]) == 2
    assert "--background-depth is the depth of --background" in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", "small", "--engine-count", "2", "--size", "64",
                 "--background-depth", "engine", "--json", str(tmp_path / "m.json")]) == 0
    printed = capsys.readouterr().out
    assert "scene prior: background depth (engine)" in printed
    import json
    results = json.loads((tmp_path / "m.json").read_text())
    assert results["engine64: model"]["depth_bg_d1"] > 0.9  # the exact depth, less mask errors
    assert "FastDepth" in results["scene prior"]["source"]


def test_demo_pair_is_shipped_with_its_attribution():
    from maskdepth.commands.demo import demo_pair

    frame, background = demo_pair()
    assert imageio.read_rgb(frame).shape == imageio.read_rgb(background).shape == (432, 768, 3)
    notice = (builtin_path().parent / "NOTICE.md").read_text()
    assert "CC BY" in notice and "Copyright (c) 2019 Diana Wofk" in notice

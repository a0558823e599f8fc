"""Training data: source weighting, paired flips, resizing, the size and learning-rate schedules."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
import torch

from maskdepth.data.config import DataConfig, SourceConfig
from maskdepth.data.sources import TrainStream, size_at
from maskdepth.data.transforms import random_flip, resize_sample
from maskdepth.training.config import OptimConfig
from maskdepth.training.module import lr_lambda


class Constant:
    """A source whose batches say which source made them (image filled with its value)."""

    def __init__(self, value: float):
        self.value = value

    def batch(self, index, size, batch_size):
        full = torch.full((batch_size, 1, size, size), self.value)
        return {"image": full.expand(-1, 3, -1, -1).clone(), "background": torch.zeros(batch_size, 3, size, size),
                "mask": torch.zeros(batch_size, 1, size, size), "depth": full.clone(),
                "shadow": torch.zeros(batch_size, 1, size, size)}


def test_sources_are_drawn_by_weight(monkeypatch):
    data = DataConfig(sources=[SourceConfig(weight=3.0), SourceConfig(weight=1.0)], batch_size=1,
                      sizes=[4], size_steps=[0], flip=False)
    stream = TrainStream(data, seed=0, stop=2000)
    monkeypatch.setattr(stream, "build", lambda: [Constant(1.0), Constant(2.0)])
    picks = [float(batch["image"][0, 0, 0, 0]) for batch in stream]
    share = picks.count(1.0) / len(picks)
    assert abs(share - 0.75) < 0.04, share
    again = [float(batch["image"][0, 0, 0, 0]) for batch in stream]
    assert picks == again  # batch k is always the same


def test_flips_move_every_map_of_a_sample_together():
    b, size = 64, 8
    ramp = torch.arange(size, dtype=torch.float).view(1, 1, 1, size).expand(b, -1, size, -1)
    batch = {key: ramp.expand(-1, 3 if key in ("image", "background") else 1, -1, -1).clone()
             for key in ("image", "background", "mask", "depth", "shadow")}
    out = random_flip(batch, torch.Generator().manual_seed(0))
    flipped = out["image"][:, 0, 0, 0] == size - 1
    assert 0 < flipped.sum() < b
    for key, value in out.items():
        assert torch.equal(value[:, 0, 0, 0] == size - 1, flipped), key


def test_resize_keeps_masks_binary_and_depth_unblended():
    sample = {"image": torch.rand(3, 40, 60), "background": torch.rand(3, 40, 60),
              "mask": (torch.rand(1, 40, 60) > 0.5).float(), "shadow": torch.rand(1, 40, 60),
              "depth": torch.where(torch.rand(1, 40, 60) > 0.5, 2.0, 7.0)}
    out = resize_sample(sample, 25, 33)
    assert all(value.shape[-2:] == (25, 33) for value in out.values())
    assert set(out["mask"].unique().tolist()) <= {0.0, 1.0}
    assert set(out["depth"].unique().tolist()) <= {2.0, 7.0}
    up = resize_sample(sample, 80, 120)
    assert up["image"].shape == (3, 80, 120) and set(up["depth"].unique().tolist()) <= {2.0, 7.0}
    assert resize_sample(sample, 40, 60) is sample


def test_size_schedule_switches_at_its_steps():
    data = DataConfig(sizes=[80, 120, 160], size_steps=[0, 10, 25])
    assert [size_at(step, data) for step in (0, 9, 10, 24, 25, 10_000)] == [80, 80, 120, 120, 160, 160]


def test_sizes_sharing_a_start_are_mixed_batch_by_batch():
    data = DataConfig(sizes=[80, 160, 224], size_steps=[0, 10, 10])
    g = torch.Generator().manual_seed(0)
    assert {size_at(5, data, g) for _ in range(20)} == {80}
    drawn = [size_at(10, data, g) for _ in range(200)]
    assert set(drawn) == {160, 224} and 60 < drawn.count(224) < 140
    assert size_at(10, data) == 160  # no generator: the first


@pytest.mark.parametrize("schedule", ["constant", "cosine", "onecycle"])
def test_learning_rate_schedules(schedule):
    factor = lr_lambda(OptimConfig(schedule=schedule, warmup_steps=10), 100)
    values = [factor(step) for step in range(101)]
    if schedule == "constant":
        assert values[0] == pytest.approx(0.1) and values[9] == 1.0 and values[100] == 1.0
    elif schedule == "cosine":
        assert values[9] == 1.0 and values[55] == pytest.approx(0.5) and values[100] == pytest.approx(0)
        assert all(a >= b for a, b in pairwise(values[10:]))
    else:  # warm-up to the peak over 30 %, cosine down to 1/1000
        assert values[0] == pytest.approx(0.04) and max(values) == values[30] == 1.0
        assert values[100] == pytest.approx(1e-3) and all(a >= b for a, b in pairwise(values[30:]))
    assert all(math.isfinite(v) and v >= 0 for v in values)


def test_a_classic_engine_source_renders_the_rooms_small_was_first_trained_on():
    from maskdepth.data.config import SourceConfig
    from maskdepth.data.sources import EngineSource

    classic = EngineSource(SourceConfig(kind="engine", classic=True), seed=0).make_renderer(32, None)
    assert (classic.config.max_furniture, classic.config.doorway_p, classic.config.corner_p,
            classic.config.wide_p) == (0, 0.0, 0.0, 0.0)
    today = EngineSource(SourceConfig(kind="engine"), seed=0).make_renderer(32, None)
    assert today.config.max_furniture > 0 and today.config.corner_p > 0


def test_an_engine_source_takes_its_shares_of_empty_scenes_and_close_cameras():
    from maskdepth.data.config import DataConfig, SourceConfig
    from maskdepth.data.sources import EngineSource

    source = SourceConfig(kind="engine", empty_p=0.2, close_p=0.25)
    engine = EngineSource(source, seed=0).make_renderer(32, None)
    assert (engine.config.empty_p, engine.config.close_p) == (0.2, 0.25)
    assert EngineSource(SourceConfig(kind="engine"), seed=0).make_renderer(32, None).config.close_p == 0
    assert DataConfig(sources=[SourceConfig(kind="engine", close_p=1.5)]).problems() == [
        "data.sources[0].close_p must be in [0, 1], got 1.5"]


def test_an_engine_source_takes_surface_textures_and_desk_things_and_refuses_bad_values():
    from maskdepth.data.sources import EngineSource
    from maskdepth.errors import UserError
    from maskdepth.synth.config import SceneConfig
    from maskdepth.synth.engine.scene_engine import SceneEngine

    source = SourceConfig(kind="engine", photo_textures="surfaces", desk_things_p=0.6)
    engine = EngineSource(source, seed=0).make_renderer(32, None)
    assert (engine.config.photo_textures, engine.config.desk_things_p) == ("surfaces", 0.6)
    default = EngineSource(SourceConfig(kind="engine"), seed=0).make_renderer(32, None).config
    assert (default.photo_textures, default.desk_things_p) == ("rooms", 0.0)  # None: the engine's
    assert DataConfig(sources=[SourceConfig(photo_textures="walls", desk_things_p=2.0, textures="t")]
                      ).problems() == [
        "data.sources[0].desk_things_p must be in [0, 1], got 2.0",
        "data.sources[0].photo_textures must be rooms or surfaces, got 'walls'"]
    assert DataConfig(sources=[SourceConfig(photo_textures="surfaces")]).problems() == [
        ("data.sources[0].photo_textures is set but the source has no textures: folder to cut "
         "them from; give textures: or leave photo_textures out")]
    with pytest.raises(UserError, match="photo_textures must be rooms or surfaces"):
        SceneEngine(SceneConfig(height=32, width=32, photo_textures="walls"))

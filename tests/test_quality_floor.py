"""A quality floor on every shipped model (models/zoo.py): close to its measured numbers on fixed
engine scenes, so a damaged or wrongly exported model file fails here, not in a user's hands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from maskdepth.data.config import DataConfig
from maskdepth.evaluation.evaluate import engine_background_depth, engine_set, evaluate_set
from maskdepth.inference.api import MaskDepth
from maskdepth.models.zoo import ZOO, resolve_model, shipped_models

# Measured for each shipped model on these 64 scenes (seed DataConfig.val_seed, 160 px, every
# capture condition on) with `maskdepth evaluate --checkpoint NAME --engine-count 64
# --scene-depth-model none` (the network alone: the built-in scene-depth model is judged on real
# frames, never on rendered rooms) and with `--background-depth engine` (each scene's exact
# empty-scene depth as the prior: the fusion); the floors leave 0.03 for arithmetic that
# differs between CPUs and library versions.
MEASURED = {
    "small": ({"mask_iou": 0.801, "depth_d1": 0.537},
              {"mask_iou": 0.801, "depth_d1": 0.968, "depth_fg_d1": 0.674}),
    "lite0": ({"mask_iou": 0.817, "depth_d1": 0.776},
              {"mask_iou": 0.817, "depth_d1": 0.972, "depth_fg_d1": 0.713}),
}
MARGIN = 0.03


def test_every_shipped_model_has_its_exported_onnx_and_a_measured_floor():
    assert shipped_models()[0] == "small" and set(shipped_models()) <= set(ZOO)
    for name in shipped_models():
        assert resolve_model(name).onnx is not None, name
        assert name in MEASURED, f"{name} is shipped: measure its floor (see above)"


def test_the_readme_lists_the_zoo_as_it_is():
    """README's model table is ZOO's rows (name, the line about it), in ZOO's order."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = re.findall(r"^\| `([\w-]+)` \| (.+) \|$", readme, re.MULTILINE)
    assert rows == [(model.name, model.about) for model in ZOO.values()]


def test_the_quality_report_has_a_row_for_every_shipped_model():
    """docs/QUALITY.md (maskdepth bench quality) covers each shipped model in each table:
    shipping a model means measuring it there."""
    report = (Path(__file__).resolve().parents[1] / "docs" / "QUALITY.md").read_text()
    tables = report.split("\n## ")[1:]
    assert len(tables) == 3
    for name in shipped_models():
        assert all(re.search(rf"^\| {name} \| 0\.\d{{3}} \|", table, re.MULTILINE)
                   for table in tables), name


@pytest.mark.parametrize("name", shipped_models())
def test_the_shipped_model_stays_near_its_measured_quality(name):
    model = MaskDepth.load(name, scene_depth="none")
    alone, with_prior = MEASURED[name]
    for measured_values, depths in ((alone, None), (with_prior, engine_background_depth)):
        total, batches = engine_set(64, DataConfig.val_seed, 160)
        values = evaluate_set(model, batches, total, name="floor", background_depth=depths)["model"]
        for key, measured in measured_values.items():
            assert values[key] >= measured - MARGIN, (name, key, values[key], measured)

"""A quality floor on the shipped weights: close to their measured numbers on fixed engine scenes,
so a damaged or wrongly exported model file fails here, not in a user's hands."""

from __future__ import annotations

from maskdepth.data.config import DataConfig
from maskdepth.evaluation.evaluate import engine_background_depth, engine_set, evaluate_set
from maskdepth.inference.api import MaskDepth

# Measured for the shipped small model on these 64 scenes (seed DataConfig.val_seed, 160 px,
# every capture condition on) with `maskdepth evaluate --checkpoint small --engine-count 64
# --scene-depth-model none` (the network alone: the built-in scene-depth model is judged on real
# frames, never on rendered rooms) and with `--background-depth engine` (each scene's exact
# empty-scene depth as the prior: the fusion); the floors leave 0.03 for arithmetic that
# differs between CPUs and library versions.
MEASURED = {"mask_iou": 0.799, "depth_d1": 0.536}
MEASURED_WITH_PRIOR = {"mask_iou": 0.799, "depth_d1": 0.962, "depth_fg_d1": 0.580}
MARGIN = 0.03


def test_the_shipped_model_stays_near_its_measured_quality():
    model = MaskDepth.load("small", scene_depth="none")
    for measured_values, depths in ((MEASURED, None), (MEASURED_WITH_PRIOR, engine_background_depth)):
        total, batches = engine_set(64, DataConfig.val_seed, 160)
        values = evaluate_set(model, batches, total, name="floor", background_depth=depths)["model"]
        for key, measured in measured_values.items():
            assert values[key] >= measured - MARGIN, (key, values[key], measured)

"""Evaluate a model (and optionally the classical baselines) on datasets or engine scenes.

A "set" yields (ids, batch) pairs: ids is a list of sample ids, batch a `Batch` (image,
background, mask, depth; see maskdepth.data.batch).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from maskdepth.batch import Batch, split_depth
from maskdepth.data.manifest import open_dataset
from maskdepth.evaluation.baselines import BASELINES
from maskdepth.inference.predictor import predict_tensors, to_mask
from maskdepth.io import images as imageio
from maskdepth.io.layout import prediction_paths
from maskdepth.io.tensors import to_numpy_rgb
from maskdepth.metrics import DepthMetrics, MaskMetrics, RelativeDepthMetrics
from maskdepth.synth.stream import fixed_scenes

Batches = Iterator[tuple[list[str], Batch]]


def manifest_set(path: str | Path) -> tuple[int, Batches]:
    """(size, batches of one sample each, at the files' own size) of a dataset folder or a
    folder of the original archives."""
    dataset = open_dataset(path)

    def batches() -> Batches:
        for index, sample_id in enumerate(dataset.ids):
            item = dataset[index]
            batch = {k: v[None] for k, v in item.items() if v.dim() == 3}
            yield [sample_id], {**batch, "relative": item["relative"][None]}

    return len(dataset), batches()


def engine_set(count: int, seed: int, size: int | tuple[int, int]) -> tuple[int, Batches]:
    """(count, batches) of the fixed engine scenes that training validates on (same seed, same
    scenes; every capture condition on)."""

    def batches() -> Batches:
        for first, batch in fixed_scenes(count, seed, size):
            yield [f"{first + i:06d}" for i in range(batch["image"].shape[0])], batch

    return count, batches()


def _finite(values: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in values.items() if not math.isnan(v)}


def _save(out: Path, ids: list[str], probability: torch.Tensor, depth: torch.Tensor) -> None:
    for i, sample_id in enumerate(ids):
        mask_path, depth_path = prediction_paths(out, sample_id)
        imageio.write_mask(mask_path, to_mask(probability[i, 0].numpy()))
        imageio.write_depth(depth_path, depth[i, 0].numpy())


def evaluate_set(model: nn.Module | None, batches: Batches, total: int, baselines: bool = False,
                 save_dir: Path | None = None, name: str = "") -> dict[str, dict[str, float]]:
    """Metrics of the model ("model") and, if asked, of each baseline on one set.

    The model's depth is rounded to millimetres and its mask thresholded at 0.5 first, so the
    numbers are exactly those of the prediction files that `save_dir` receives. Samples of
    relative depth (`relative`, the original archives) are scored scale-and-shift invariantly
    (depth_ssi_mae, depth_ssi_rmse), never in metres.
    """
    methods = (["model"] if model is not None else []) + (list(BASELINES) if baselines else [])
    mask_metrics = {m: MaskMetrics() for m in methods}
    depth_metrics, relative_metrics = DepthMetrics(), RelativeDepthMetrics()
    with tqdm(total=total, unit="sample", desc=name or "evaluate", leave=False) as bar:
        for ids, batch in batches:
            if model is not None:
                probability, depth = predict_tensors(model, batch["image"], batch["background"])
                mask_metrics["model"].update(to_mask(probability), batch["mask"])
                metric_depth, relative_depth = split_depth(batch)
                depth_metrics.update(depth, metric_depth, batch["mask"])
                if relative_depth is not None:
                    relative_metrics.update(depth, relative_depth)
                if save_dir is not None:
                    _save(save_dir, ids, probability, depth)
            for method in methods[1 if model is not None else 0:]:
                masks = [BASELINES[method](to_numpy_rgb(batch["image"][i]), to_numpy_rgb(batch["background"][i]))
                         for i in range(len(ids))]
                predicted = torch.from_numpy(np.stack(masks))[:, None].float()
                mask_metrics[method].update(predicted, batch["mask"])
            bar.update(len(ids))
    results = {m: _finite(mask_metrics[m].compute()) for m in methods}
    if model is not None:
        results["model"].update(_finite(depth_metrics.compute()))
        results["model"].update(_finite(relative_metrics.compute()))
    return results

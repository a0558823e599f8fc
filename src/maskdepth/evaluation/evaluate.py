"""Evaluate a model (and optionally the classical baselines) on datasets or engine scenes.

A "set" yields (ids, batch) pairs: ids is a list of sample ids, batch a `Batch` (image,
background, mask, depth; see maskdepth.batch).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from maskdepth.batch import Batch, split_depth
from maskdepth.data.manifest import open_dataset
from maskdepth.evaluation.baselines import BASELINES, DEPTH_BASELINES
from maskdepth.inference.api import MaskDepth, to_mask
from maskdepth.io import images as imageio
from maskdepth.io.layout import prediction_paths
from maskdepth.io.progress import progress
from maskdepth.metrics import DepthMetrics, MaskMetrics, RelativeDepthMetrics
from maskdepth.synth.stream import fixed_scenes
from maskdepth.tensors.convert import to_numpy_rgb

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


def _save(out: Path, ids: list[str], mask: torch.Tensor, depth: torch.Tensor) -> None:
    for i, sample_id in enumerate(ids):
        mask_path, depth_path = prediction_paths(out, sample_id)
        imageio.write_mask(mask_path, mask[i, 0].numpy())
        imageio.write_depth(depth_path, depth[i, 0].numpy())


def engine_background_depth(ids: list[str], batch: Batch) -> list[np.ndarray]:
    """The engine scenes' exact background depth, (H, W) metres each: the RGB-D case."""
    return [depth[0].numpy() for depth in batch["background_depth"]]


def folder_background_depth(folder: Path):
    """Each sample's empty-scene depth from `folder`/<id>_depth.png (16-bit, millimetres): a
    function (ids, batch) -> paths, for evaluate_set's background_depth."""
    from maskdepth.errors import UserError

    def paths(ids: list[str], batch: Batch) -> list[Path]:
        found = [prediction_paths(folder, sample_id)[1] for sample_id in ids]
        for path in found:
            if not path.is_file():
                raise UserError(f"{path}: no background depth for this sample; --background-depth "
                                f"needs <id>_depth.png (16-bit, mm) for every sample")
        return found

    return paths


def predict_batch(predictor: MaskDepth, batch: Batch, raw: bool = False, background_depth=None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """(mask (B, 1, H, W) bool, depth (B, 1, H, W) metres, rounded to the millimetres a depth
    PNG stores) for a batch's image and background (B, 3, H, W) in [0, 1] (8-bit levels).

    By default through `MaskDepth.predict`, the path `maskdepth predict`, the API and the web
    page take: the background aligned to the image, the working size, the outputs resized back.
    raw: the bare network on the tensors as they are (no alignment, no resizing).
    background_depth: a list, each sample's empty-scene depth for the scene prior (None: the
    predictor's own scene-depth model, if any)."""
    if raw:
        probability, depth = predictor.runner.predict(batch["image"].numpy(),
                                                      batch["background"].numpy())
        return torch.from_numpy(to_mask(probability)), torch.from_numpy(depth)
    images = [to_numpy_rgb(image) for image in batch["image"]]
    backgrounds = [to_numpy_rgb(background) for background in batch["background"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unrelated-background warnings: scored, not shown
        predictions = predictor.predict(images, backgrounds, align=True, batch_size=len(images),
                                        background_depth=background_depth)
    mask = torch.from_numpy(np.stack([p.mask for p in predictions]))[:, None]
    depth = np.stack([np.round(p.depth.astype(np.float64) * 1000) / 1000 for p in predictions])
    return mask, torch.from_numpy(depth.astype(np.float32))[:, None]


def evaluate_set(predictor: MaskDepth | None, batches: Batches, total: int, baselines: bool = False,
                 save_dir: Path | None = None, name: str = "", raw: bool = False,
                 background_depth=None) -> dict[str, dict[str, float]]:
    """Metrics of the model ("model") and, if asked, of each baseline on one set.

    The model is scored on what `maskdepth predict` writes (see `predict_batch`; raw: the bare
    network): its mask thresholded and its depth rounded to millimetres, so the numbers are
    exactly those of the prediction files that `save_dir` receives. Samples of relative depth
    (`relative`, the original archives) are scored scale-and-shift invariantly (depth_ssi_mae,
    depth_ssi_rmse), never in metres. background_depth: a function (ids, batch) -> the
    samples' empty-scene depths for the scene prior (engine_background_depth,
    folder_background_depth), or None.
    """
    methods = (["model"] if predictor is not None else []) + (list(BASELINES) if baselines else [])
    mask_metrics = {m: MaskMetrics() for m in methods}
    depth_metrics, relative_metrics = DepthMetrics(), RelativeDepthMetrics()
    depth_baselines = {m: DepthMetrics() for m in DEPTH_BASELINES} if baselines else {}
    with progress(total=total, unit="sample", desc=name or "evaluate", leave=False) as bar:
        for ids, batch in batches:
            metric_depth, relative_depth = split_depth(batch)
            for method, metric in depth_baselines.items():
                metric.update(DEPTH_BASELINES[method](metric_depth), metric_depth, batch["mask"])
            if predictor is not None:
                depths = background_depth(ids, batch) if background_depth is not None else None
                mask, depth = predict_batch(predictor, batch, raw, depths)
                mask_metrics["model"].update(mask, batch["mask"])
                depth_metrics.update(depth, metric_depth, batch["mask"])
                if relative_depth is not None:
                    relative_metrics.update(depth, relative_depth)
                if save_dir is not None:
                    _save(save_dir, ids, mask, depth)
            for method in methods[1 if predictor is not None else 0:]:
                masks = [BASELINES[method](to_numpy_rgb(batch["image"][i]), to_numpy_rgb(batch["background"][i]))
                         for i in range(len(ids))]
                predicted = torch.from_numpy(np.stack(masks))[:, None].float()
                mask_metrics[method].update(predicted, batch["mask"])
            bar.update(len(ids))
    results = {m: _finite(mask_metrics[m].compute()) for m in methods}
    if predictor is not None:
        if relative_metrics.update_count:  # computed only when updated: no torchmetrics warning
            results["model"].update(_finite(relative_metrics.compute()))
        if depth_metrics.update_count:
            results["model"].update(_finite(depth_metrics.compute()))
    for method, metric in depth_baselines.items():  # rows only where the set has metric depth
        values = _finite(metric.compute()) if metric.update_count else {}
        if values:
            results[method] = values
    return results

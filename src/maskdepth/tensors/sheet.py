"""The truth-and-prediction contact sheet of a batch (training's logs, the demo)."""

from __future__ import annotations

import numpy as np
import torch

from maskdepth.io.viz import colorize_depth, contact_sheet, grey_to_rgb
from maskdepth.tensors.convert import to_numpy_rgb

PREDICTION_TITLES = ["image", "background", "mask", "pred mask", "depth", "pred depth"]


def prediction_sheet(batch: dict, probability: torch.Tensor, depth: torch.Tensor, limit: int = 4) -> np.ndarray:
    """Contact sheet comparing truth and prediction: per sample, image, background, true mask,
    predicted mask probability, true depth and predicted depth (both colour-mapped on one scale).

    batch: image, background (B, 3, H, W), mask, depth (B, 1, H, W); probability, depth: (B, 1, H, W).
    """
    rows = []
    for i in range(min(limit, batch["image"].shape[0])):
        true_depth = batch["depth"][i, 0].float().cpu().numpy()
        pred_depth = depth[i, 0].float().cpu().numpy()
        far = max(float(true_depth.max()), float(np.percentile(pred_depth, 99)), 1.0)
        rows.append([
            to_numpy_rgb(batch["image"][i].float()), to_numpy_rgb(batch["background"][i].float()),
            grey_to_rgb(batch["mask"][i, 0].float().cpu().numpy()),
            grey_to_rgb(probability[i, 0].float().cpu().numpy()),
            colorize_depth(true_depth, far), colorize_depth(pred_depth, far)])
    return contact_sheet(rows, PREDICTION_TITLES)

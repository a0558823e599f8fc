"""Video quality at several working sizes: the figures that choose the video profile's size
(inference/profiles.py; docs/BENCHMARKS.md, "Video working size").

    maskdepth bench video-sizes --checkpoint small --sizes 160 224 288 320 \
        --data ../shared/realvideo ../shared/realdev/clean ../shared/realdev/shift

For each size, through the stream session every video path runs (inference/session.py):
- CDnet-layout footage: per sequence and mean F-measure, boundary F, precision and recall, as
  `maskdepth evaluate --data FOLDER --max-side SIZE` prints them;
- dataset folders run as video: each pair's image as a still camera's frame, twice (the first
  frame aligns the background), scored on the second: mean mask IoU and boundary F per folder.
Speed is `maskdepth bench video --max-side SIZE`. Paths are arguments: evaluation sets are
never copied into the project.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from maskdepth.evaluation.cdnet import is_cdnet
from maskdepth.evaluation.evaluate import manifest_set
from maskdepth.evaluation.suite import Request, evaluate_videos
from maskdepth.inference.session import StreamSession
from maskdepth.metrics.mask import boundary_fscore, mask_iou
from maskdepth.tensors.convert import to_numpy_rgb

FOOTAGE_MEASURES = ("f_measure", "boundary_f", "precision", "recall")


def footage(model, folder: Path, side: int) -> dict[str, dict[str, float]]:
    """CDnet measures per sequence and their mean ("mean"), at working size `side`."""
    results = evaluate_videos(model, Request(videos=[folder], max_side=side))
    return {name.split(":")[0]: {k: round(row[k], 3) for k in FOOTAGE_MEASURES}
            for name, row in results.items()}


def stills(model, folder: Path, side: int) -> dict[str, float]:
    """Mean mask IoU and boundary F of a dataset folder's pairs run as a still camera."""
    count, batches = manifest_set(folder)
    ious, edges = [], []
    for _, batch in batches:
        image, background = to_numpy_rgb(batch["image"][0]), to_numpy_rgb(batch["background"][0])
        session = StreamSession(model, background, steady=False, max_side=side)
        session.predict([image], 0)
        mask = torch.from_numpy(session.predict([image], 1)[0].mask)[None, None]
        truth = batch["mask"] > 0.5
        ious.append(float(mask_iou(mask, truth).mean()))
        edges.append(float(boundary_fscore(mask, truth).mean()))
    return {"iou": round(float(np.mean(ious)), 3), "boundary_f": round(float(np.mean(edges)), 3),
            "pairs": count}


def video_sizes(model, sizes: list[int], folders: list[Path], progress=print) -> dict:
    """{size: {"video FOLDER" or "photos FOLDER": figures}} for every size and folder (CDnet
    footage or a dataset folder, told apart as evaluate does); `progress` gets each size's row."""
    figures = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unrelated-background warnings: scored, not shown
        for side in sizes:
            figures[side] = {(f"video {folder}" if is_cdnet(folder) else f"photos {folder}"):
                             (footage if is_cdnet(folder) else stills)(model, folder, side)
                             for folder in folders}
            progress(side, figures[side])
    return figures

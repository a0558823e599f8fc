"""Video quality at several working sizes: the figures that choose the video profile's size
(inference/profiles.py; docs/BENCHMARKS.md, "Video working size").

    python scripts/video_sizes.py --checkpoint small --sizes 160 224 288 320 \
        --video ../shared/realvideo --photos ../shared/realdev/clean ../shared/realdev/shift

For each size, through the stream session every video path runs (inference/session.py):
- CDnet-layout footage (`--video`): per sequence and mean F-measure, boundary F, precision and
  recall, as `maskdepth evaluate --data FOLDER --max-side SIZE` prints them;
- dataset folders run as video (`--photos`): each pair's image as a still camera's frame,
  twice (the first frame aligns the background), scored on the second: mean mask IoU and
  boundary F per folder.
Speed is `maskdepth bench video --max-side SIZE`. Paths are arguments: evaluation sets are
never copied into the project.
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import torch

from maskdepth.evaluation.cdnet import evaluate_sequences, find_sequences
from maskdepth.evaluation.evaluate import manifest_set
from maskdepth.inference.api import MaskDepth
from maskdepth.inference.session import StreamSession
from maskdepth.metrics.mask import boundary_fscore, mask_iou
from maskdepth.tensors.convert import to_numpy_rgb


def footage(model: MaskDepth, folder: str, side: int) -> dict[str, dict[str, float]]:
    """CDnet measures per sequence and their mean, at working size `side`."""

    def stream(empty):
        session = StreamSession(model, empty, steady=False, max_side=side)
        return lambda frame: session.predict([frame], session.frames)[0].mask

    results = evaluate_sequences(find_sequences(folder), {"model": stream})
    keys = ("f_measure", "boundary_f", "precision", "recall")
    return {name.split(":")[0]: {k: round(row[k], 3) for k in keys} for name, row in results.items()}


def stills(model: MaskDepth, folder: str, side: int) -> dict[str, float]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="small")
    parser.add_argument("--sizes", type=int, nargs="+", default=[160, 224, 288, 320])
    parser.add_argument("--video", nargs="*", default=[], help="folders of CDnet-layout footage")
    parser.add_argument("--photos", nargs="*", default=[], help="dataset folders run as video")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    model = MaskDepth.load(args.checkpoint, scene_depth="none")
    figures = {}
    warnings.simplefilter("ignore")  # unrelated-background warnings: scored, not shown
    for side in args.sizes:
        row = {f"video {folder}": footage(model, folder, side) for folder in args.video}
        row.update({f"photos {folder}": stills(model, folder, side) for folder in args.photos})
        figures[side] = row
        print(side, json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as file:
            json.dump(figures, file, indent=1)


if __name__ == "__main__":
    main()

"""Where the foreground's depth errors come from, on engine validation scenes with their exact
empty-scene depth as the prior (the RGB-D case).

    python scripts/placement_analysis.py --checkpoint small --count 256

Runs the bare network at the scenes' size (no alignment, no resizing) and prints foreground
δ<1.25 (over the true foreground, 0 where the placement left none) for the placement rules of
inference/placement.py, each with the predicted and with the true mask, and two oracles: the
network's own depth scaled by the true foreground's median, and a constant depth per object
at its true median. docs/scene-prior.md quotes these figures.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from maskdepth.data.config import DataConfig
from maskdepth.inference.api import MaskDepth
from maskdepth.inference.placement import foreground_scale, place_foreground
from maskdepth.synth.stream import fixed_scenes


def _delta1(pred: np.ndarray, truth: np.ndarray, where: np.ndarray) -> float:
    p, t = pred[where], truth[where]
    ratio = np.maximum(p / np.maximum(t, 1e-6), t / np.maximum(p, 1e-6))
    return float((ratio < 1.25).mean())


def _rules(net: np.ndarray, mask: np.ndarray, scene: np.ndarray) -> dict[str, np.ndarray]:
    ring = net * foreground_scale(net, mask, scene)
    return {"ring scale": np.minimum(ring, scene), "upright (shipped)":
            np.minimum(place_foreground(net, mask, scene), scene)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="small")
    parser.add_argument("--count", type=int, default=DataConfig.val_count)
    parser.add_argument("--size", type=int, default=160)
    args = parser.parse_args()
    model = MaskDepth.load(args.checkpoint, scene_depth="none")
    scores: dict[str, list[float]] = {}
    for _, batch in fixed_scenes(args.count, DataConfig.val_seed, args.size):
        probability, depth = model.runner.predict(batch["image"].numpy(), batch["background"].numpy())
        for i in range(depth.shape[0]):
            truth_mask = batch["mask"][i, 0].numpy() > 0.5
            truth = batch["depth"][i, 0].numpy()
            scene = batch["background_depth"][i, 0].numpy()
            net = depth[i, 0]
            if truth_mask.sum() < 10:
                continue
            for kind, mask in (("predicted", probability[i, 0] > 0.5), ("true", truth_mask)):
                for name, placed in _rules(net, mask, scene).items():
                    fused = np.where(mask, placed, scene)
                    scores.setdefault(f"{name}, {kind} mask", []).append(_delta1(fused, truth, truth_mask))
            scores.setdefault("oracle: network scaled by the true median", []).append(
                _delta1(net * np.median(truth[truth_mask] / net[truth_mask]), truth, truth_mask))
            count, labels = cv2.connectedComponents(truth_mask.view(np.uint8))
            constant = np.zeros_like(truth)
            for label in range(1, count):
                constant[labels == label] = np.median(truth[labels == label])
            scores.setdefault("oracle: one true depth per object", []).append(
                _delta1(constant, truth, truth_mask))
    width = max(map(len, scores))
    print(f"{'foreground placement':<{width}}  foreground δ<1.25 ({len(next(iter(scores.values())))} scenes)")
    for name, values in scores.items():
        print(f"{name:<{width}}  {np.mean(values):.3f}")


if __name__ == "__main__":
    main()

"""Choose the guided upsampling's settings on training-side data (never on realdev/realvideo).

    python scripts/edge_sweep.py --data scenes/ --max-side 160

For each dataset sample: the shipped model's probability at the working size (once), then the
mask at full size by bilinear upsampling and by the guided filter at several radii, eps and
guides; prints mask IoU and boundary F (2 px) per setting. Make `scenes/` with
`maskdepth synth --out scenes --n 120 --size 480 640`.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import cv2
import numpy as np

from maskdepth import MaskDepth
from maskdepth.inference.api import resized, to_batch
from maskdepth.inference.upsample import guided_coefficients, guided_upsample
from maskdepth.io.images import read_mask, read_rgb
from maskdepth.io.layout import read_manifest
from maskdepth.metrics.boundary import boundary_counts, boundary_f


def image_guided(probability, image, radius, eps):
    """The guided filter with the image's grey as the guide (the usual matting choice)."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    small = cv2.resize(grey, probability.shape[::-1], interpolation=cv2.INTER_AREA)
    a, b = guided_coefficients(probability, small, radius, eps)
    size = image.shape[1::-1]
    return np.clip(cv2.resize(a, size) * grey + cv2.resize(b, size), 0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--max-side", type=int, default=160)
    args = parser.parse_args()
    model = MaskDepth.load(max_side=args.max_side)
    settings = {"bilinear": lambda p, i, b: resized(p, i.shape[:2])}
    for radius, eps in itertools.product((1, 2), (1e-4, 1e-3, 1e-2)):
        settings[f"difference r{radius} eps{eps:g}"] = (
            lambda p, i, b, r=radius, e=eps: guided_upsample(p, i, b, r, e, shrink=resized))
        settings[f"image r{radius} eps{eps:g}"] = (
            lambda p, i, b, r=radius, e=eps: image_guided(p, i, r, e))
    totals = {name: [np.zeros(4, np.int64), []] for name in settings}
    for row in read_manifest(args.data / "manifest.csv"):
        image, background = read_rgb(row.image), read_rgb(row.background)
        truth = read_mask(row.mask)
        work = model.working_size(image.shape[:2])
        probability, _ = model.runner.predict(to_batch([resized(image, work)]),
                                              to_batch([resized(background, work)]))
        for name, upsample in settings.items():
            mask = upsample(probability[0, 0], image, background) > 0.5
            totals[name][0] += boundary_counts(mask, truth)
            union = (mask | truth).sum()
            totals[name][1].append((mask & truth).sum() / union if union else 1.0)
    for name, (counts, ious) in totals.items():
        print(f"{name:28s} iou {np.mean(ious):.4f}  boundary F {boundary_f(counts):.4f}")


if __name__ == "__main__":
    main()

"""A dataset blown up by an integer factor: measuring full-resolution edges on small photos.

    python scripts/upscale_dataset.py --data ../shared/realdev/clean --scale 4 --out /tmp/x4

Images and backgrounds are resized bicubically; masks bilinearly, then thresholded at half, so
a blown-up outline stays smooth instead of 4x4 steps; depth (when present) nearest. The copy
is in the dataset layout; keep it outside the project (it is the evaluation data, enlarged).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from maskdepth.io.images import read_depth, read_mask, read_rgb, write_depth, write_mask, write_rgb
from maskdepth.io.layout import read_manifest, write_manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    def bigger(array, interpolation):
        height, width = array.shape[:2]
        return cv2.resize(array, (width * args.scale, height * args.scale),
                          interpolation=interpolation)

    rows, backgrounds = [], {}
    for sample in read_manifest(args.data):
        image = args.out / "images" / f"{sample.id}.png"
        write_rgb(image, bigger(read_rgb(sample.image), cv2.INTER_CUBIC))
        if sample.background not in backgrounds:
            backgrounds[sample.background] = args.out / "backgrounds" / f"{len(backgrounds):04d}.png"
            write_rgb(backgrounds[sample.background],
                      bigger(read_rgb(sample.background), cv2.INTER_CUBIC))
        row = {"id": sample.id, "image": image, "background": backgrounds[sample.background],
               "mask": None, "depth": None}
        if sample.mask is not None:
            row["mask"] = args.out / "masks" / f"{sample.id}.png"
            soft = bigger(read_mask(sample.mask).astype(np.float32), cv2.INTER_LINEAR)
            write_mask(row["mask"], soft > 0.5)
        if sample.depth is not None:
            row["depth"] = args.out / "depth" / f"{sample.id}.png"
            write_depth(row["depth"], bigger(read_depth(sample.depth), cv2.INTER_NEAREST))
        rows.append(row)
    write_manifest(args.out, rows)
    print(f"wrote {len(rows)} samples at {args.scale}x to {args.out}")


if __name__ == "__main__":
    main()

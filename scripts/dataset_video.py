"""A static-camera test video with exact masks, made from a dataset folder, and its score.

    python scripts/dataset_video.py make --data DATASET --out clip --size 320 --frames 90
    maskdepth predict --video clip/clip.mp4 --background clip/background.png --out clip/pred
    python scripts/dataset_video.py score --truth clip/truth --pred clip/pred/clip_frames

`make` takes the samples of the dataset that share the first sample's background, cuts each
one's foreground out with its mask, and slides them across that background (one after another,
left to right and back), with fresh sensor noise (sigma 2/255) in every frame: a person walking
through a room filmed by a fixed camera. It writes clip.mp4 (mp4v), background.png and the true
mask of every frame (truth/NNNNNN.png). `score` prints the mean IoU of predicted frame masks
(NNNNNN_mask.png) against them, and the depth flicker: the mean absolute frame-to-frame change of
the predicted depth (NNNNNN_depth.png) on pixels that are truly background in both frames.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from maskdepth.io import images as imageio
from maskdepth.io.layout import read_manifest
from maskdepth.io.video import VideoWriter
from maskdepth.metrics import depth_flicker, mask_iou


def _resize(array: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    return cv2.resize(array, (size, size), interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR)


def _shift(array: np.ndarray, dx: int) -> np.ndarray:
    """Move an (H, W, ...) array dx pixels right, filling with zeros."""
    out = np.zeros_like(array)
    if dx >= 0:
        out[:, dx:] = array[:, : array.shape[1] - dx]
    else:
        out[:, :dx] = array[:, -dx:]
    return out


def make(data: Path, out: Path, size: int, frames: int, seed: int) -> None:
    samples = read_manifest(data)
    background_file = samples[0].background
    chosen = [s for s in samples if s.background.name == background_file.name][:3]
    background = _resize(imageio.read_rgb(background_file), size)
    cutouts = [(_resize(imageio.read_rgb(s.image), size), _resize(imageio.read_mask(s.mask).astype(np.uint8), size, True))
               for s in chosen]
    rng = np.random.default_rng(seed)
    imageio.write_rgb(out / "background.png", background)
    per = frames // len(cutouts)
    with VideoWriter(out / "clip.mp4", fps=25.0) as writer:
        for f in range(per * len(cutouts)):
            image, mask = cutouts[f // per]
            phase = (f % per) / max(1, per - 1)
            dx = int(np.round(np.sin(2 * np.pi * phase) * 0.3 * size))
            moved, moved_mask = _shift(image, dx), _shift(mask, dx)
            frame = np.where(moved_mask[..., None] > 0, moved, background).astype(np.float32)
            frame = np.clip(frame + rng.normal(0, 2.0, frame.shape), 0, 255).round().astype(np.uint8)
            writer.write(frame)
            imageio.write_mask(out / "truth" / f"{f:06d}.png", moved_mask > 0)
    print(f"wrote {per * len(cutouts)} frames of {size}x{size} to {out / 'clip.mp4'}")


def score(truth: Path, pred: Path) -> None:
    import torch

    ious, depths, static = [], [], []
    for path in sorted(truth.glob("*.png")):
        predicted = imageio.read_mask(pred / f"{path.stem}_mask.png")
        true = imageio.read_mask(path)
        ious.append(float(mask_iou(torch.from_numpy(predicted)[None, None],
                                   torch.from_numpy(true)[None, None])))
        depths.append(torch.from_numpy(imageio.read_depth(pred / f"{path.stem}_depth.png")))
        static.append(torch.from_numpy(~true))
    print(f"mean IoU over {len(ious)} frames: {np.mean(ious):.3f} (min {np.min(ious):.3f})")
    flicker = depth_flicker(torch.stack(depths)[:, None], torch.stack(static)[:, None])
    print(f"depth flicker on static pixels (mean |frame-to-frame change|): {flicker * 1000:.1f} mm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    m = sub.add_parser("make")
    m.add_argument("--data", type=Path, required=True)
    m.add_argument("--out", type=Path, required=True)
    m.add_argument("--size", type=int, default=320)
    m.add_argument("--frames", type=int, default=90)
    m.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("score")
    s.add_argument("--truth", type=Path, required=True)
    s.add_argument("--pred", type=Path, required=True)
    args = parser.parse_args()
    if args.what == "make":
        make(args.data, args.out, args.size, args.frames, args.seed)
    else:
        score(args.truth, args.pred)


if __name__ == "__main__":
    main()

"""Camera and depth statistics of the scene engine's rooms, by kind of camera.

    python scripts/engine_stats.py --count 1024 --size 160

Draws `count` scenes with the default SceneConfig (procedural textures, no photos; the photo
folders change surfaces only, not geometry), or with `--close-p` of desk and video-call cameras
(a lite0 run tried 0.35; docs/engine.md), and prints, for eye-level, corner and close cameras and
all: camera height, downward pitch and horizontal field of view (mean and 5-95 % range), the
per-image median depth, pixel depth percentiles, the share of pixels nearer than 1 m and farther
than 6 m, furniture boxes and pieces-with-doorway per scene, and the foreground's share of the
image. docs/engine.md compares these figures with real captures.
"""

from __future__ import annotations

import argparse
import math

import torch

from maskdepth.synth import SceneEngine
from maskdepth.synth.config import CaptureConfig, SceneConfig
from maskdepth.synth.scene import render_rooms, sample_rooms


def _spread(values: torch.Tensor, unit: str, digits: int = 2) -> str:
    """'mean (p5-p95) unit' of a 1-D tensor."""
    low, high = torch.quantile(values.float(), torch.tensor([0.05, 0.95])).tolist()
    return f"{values.float().mean():.{digits}f} ({low:.{digits}f}-{high:.{digits}f}) {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1024, help="scenes to draw (in batches of 64)")
    parser.add_argument("--size", type=int, default=160, help="render size in pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--close-p", type=float, default=0.0,
                        help="share of desk and video-call cameras (default 0, the engine's)")
    args = parser.parse_args()

    cfg = SceneConfig(height=args.size, width=args.size, capture=CaptureConfig.clean(),
                      close_p=args.close_p)
    engine = SceneEngine(cfg, seed=args.seed)
    rows = {key: [] for key in ("corner", "close", "wide", "height", "pitch", "fov", "boxes", "doorway", "fg")}
    depths = []
    for start in range(0, args.count, 64):
        b = min(64, args.count - start)
        scenes = sample_rooms(b, cfg, engine.textures, engine.sprites, engine.pickers,
                              torch.Generator().manual_seed(args.seed * 1_000_003 + start))
        batch = render_rooms(scenes, args.size, args.size)
        rays = scenes.rays
        rows["corner"].append(rays.corner.flatten())
        rows["close"].append(rays.close.flatten() if rays.close is not None
                             else torch.zeros_like(rays.corner.flatten()))
        rows["wide"].append((rays.distortion > 0).float())
        rows["height"].append(rays.camera_height.flatten())
        rows["pitch"].append(rays.pitch.flatten() * 180 / math.pi)
        rows["fov"].append(2 * torch.atan((args.size / 2) / rays.focal.flatten()) * 180 / math.pi)
        rows["boxes"].append(scenes.boxes.present.sum(1))
        rows["doorway"].append((scenes.doorway.far > 0).flatten().float())
        rows["fg"].append(batch["mask"].flatten(1).mean(1))
        depths.append(batch["depth"].flatten(1))
    table = {key: torch.cat(value) for key, value in rows.items()}
    depth = torch.cat(depths)
    print(f"{args.count} scenes at {args.size} px; corner cameras: {table['corner'].float().mean():.0%}; "
          f"close cameras: {table['close'].float().mean():.0%}; "
          f"wide lenses with barrel distortion: {table['wide'].mean():.0%} (depths below: before it)")
    kinds = (("eye level", ~table["corner"] & ~table["close"]), ("corner", table["corner"]),
             ("close", table["close"]), ("all", torch.ones_like(table["corner"])))
    for name, chosen in kinds:
        if not chosen.any():
            continue
        d = depth[chosen]
        pixels = d.flatten()[torch.randperm(d.numel(), generator=torch.Generator().manual_seed(0))[:2_000_000]]
        p5, p50, p95 = torch.quantile(pixels, torch.tensor([0.05, 0.5, 0.95])).tolist()
        print(f"\n{name} ({int(chosen.sum())} scenes)")
        print(f"  camera height      {_spread(table['height'][chosen], 'm')}")
        print(f"  pitch (down)       {_spread(table['pitch'][chosen], 'deg', 1)}")
        print(f"  field of view      {_spread(table['fov'][chosen], 'deg', 1)}")
        print(f"  median depth/image {_spread(d.median(dim=1).values, 'm')}")
        print(f"  pixel depth        p5 {p5:.2f}  p50 {p50:.2f}  p95 {p95:.2f} m; "
              f"< 1 m {(d < 1).float().mean():.1%}, > 6 m {(d > 6).float().mean():.1%}")
        print(f"  furniture boxes    {table['boxes'][chosen].float().mean():.1f} per scene; "
              f"doorway in {table['doorway'][chosen].mean():.0%}")
        print(f"  foreground         {table['fg'][chosen].mean():.1%} of the image")


if __name__ == "__main__":
    main()

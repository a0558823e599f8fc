"""`maskdepth build`: real cut-outs composed over real background photos, written as a dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from maskdepth.commands import add_size_argument

EXAMPLE = """examples:
  maskdepth build --backgrounds photos/backgrounds --foregrounds photos/foregrounds --out composites
  maskdepth build --backgrounds rooms/ --foregrounds cutouts/ --out small --n 2000 --size 160
  (interrupted? run the same command again: it resumes where it stopped)
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "build", help="compose RGBA cut-outs over background photos into a dataset",
        description="The original dataset generator: every background photo x every cut-out x "
                    "2 flips x --placements random placements (scale, position, extra cut-outs "
                    "in front or behind, colour jitter, cast shadows and the capture conditions "
                    "of the scene engine). Exact masks; depth is unknown (left empty). "
                    "Deterministic for a seed and resumable.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backgrounds", type=Path, required=True,
                        help="folder of photos of empty scenes (JPEG/PNG)")
    parser.add_argument("--foregrounds", type=Path, required=True,
                        help="folder of RGBA cut-outs (PNG with transparency)")
    parser.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    parser.add_argument("--n", type=int,
                        help="samples to write (default: every combination, i.e. backgrounds x "
                             "cut-outs x 2 x placements)")
    parser.add_argument("--placements", type=int, default=20,
                        help="random placements per (background, cut-out, flip) (default 20)")
    add_size_argument(parser)
    parser.add_argument("--seed", type=int, default=0, help="same seed, same samples (default 0)")
    parser.add_argument("--clean", action="store_true",
                        help="no capture effects: no noise, JPEG, exposure change, shift or shadow")
    parser.add_argument("--batch-size", type=int, default=64, help="samples composed at once")
    parser.add_argument("--workers", type=int, default=2, help="threads writing files (default 2)")
    parser.set_defaults(func=run)


def build_compositor(args: argparse.Namespace):
    """The PhotoCompositor for --backgrounds, --foregrounds, --size, --clean and --seed (shared
    with `maskdepth bench build`)."""
    from maskdepth.synth import CaptureConfig
    from maskdepth.synth.photos.compositor import PhotoCompositor, PhotoConfig

    height, width = args.size
    config = PhotoConfig(height=height, width=width)
    if args.clean:
        config.capture = CaptureConfig.clean()
    return PhotoCompositor(args.backgrounds, args.foregrounds, config, seed=args.seed)


def run(args: argparse.Namespace) -> int:
    from maskdepth.errors import UserError
    from maskdepth.io.images import write_rgb
    from maskdepth.synth.export import export_dataset
    from maskdepth.synth.photos.build import build_renderer, combinations
    from maskdepth.synth.preview import dataset_sheet

    for name in ("placements", "batch_size", "workers"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")
    height, width = args.size
    compositor = build_compositor(args)
    total = combinations(len(compositor.photos), len(compositor.cutouts), args.placements)
    count = total if args.n is None else args.n
    if count < 1:
        raise UserError("--n must be at least 1")
    batch_size = min(args.batch_size, count)
    render = build_renderer(compositor, count, args.placements, args.seed, batch_size)
    settings = {"command": "build", "backgrounds": str(args.backgrounds.resolve()),
                "foregrounds": str(args.foregrounds.resolve()), "placements": args.placements,
                "size": [height, width], "seed": args.seed, "clean": args.clean}
    manifest = export_dataset(render, args.out, count, batch_size, settings=settings,
                              workers=args.workers, desc="build")
    sheet = write_rgb(args.out / "contact_sheet.png", dataset_sheet(manifest, limit=8))
    print(f"wrote {count} samples ({len(compositor.photos)} backgrounds x "
          f"{len(compositor.cutouts)} cut-outs x 2 flips x {args.placements} placements = "
          f"{total} combinations) to {manifest}")
    print(f"contact sheet: {sheet}")
    return 0

"""`maskdepth synth`: render procedural scenes into a dataset folder, with a contact sheet."""

from __future__ import annotations

import argparse
from pathlib import Path

from maskdepth.commands import add_size_argument

EXAMPLE = """examples:
  maskdepth synth --out scenes --n 1000 --size 160
  maskdepth synth --out mixed --n 500 --foregrounds cutouts/ --backgrounds rooms/
  maskdepth synth --out clean --n 100 --clean      (no noise, JPEG, exposure, shift or shadows)
"""


def add_scene_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that choose what the scene engine renders (shared with other commands)."""
    add_size_argument(parser)
    parser.add_argument("--seed", type=int, default=0, help="same seed, same scenes (default 0)")
    parser.add_argument("--foregrounds", type=Path, help="folder of RGBA cut-outs to stand in scenes")
    parser.add_argument("--backgrounds", type=Path,
                        help="folder of real photos of empty scenes to paste cut-outs over")
    parser.add_argument("--textures", type=Path, help="folder of texture photos for floors and walls")
    parser.add_argument("--clean", action="store_true",
                        help="no capture effects: no noise, JPEG, exposure change, shift or shadow")


def build_engine(args: argparse.Namespace):
    """A SceneEngine configured from `add_scene_arguments` options."""
    from maskdepth.synth import CaptureConfig, SceneConfig, SceneEngine

    height, width = args.size
    config = SceneConfig(height=height, width=width)
    if args.clean:
        config.capture = CaptureConfig.clean()
    return SceneEngine(config, seed=args.seed, foregrounds=args.foregrounds,
                       backgrounds=args.backgrounds, textures=args.textures)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "synth", help="render procedural scenes with exact masks and depth into a dataset",
        description="Render indoor scenes (image, background, mask, depth, shadow) with exact "
                    "ground truth into a folder in the dataset layout, plus contact_sheet.png.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("maskdepth-samples"),
                        help="dataset folder to write (default maskdepth-samples)")
    parser.add_argument("--n", type=int, default=16, help="number of scenes (default 16)")
    parser.add_argument("--batch-size", type=int, default=64, help="scenes rendered at once")
    add_scene_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maskdepth.errors import UserError
    from maskdepth.io.images import write_rgb
    from maskdepth.synth.export import export_dataset, seeded
    from maskdepth.synth.preview import dataset_sheet

    if args.n < 1:
        raise UserError("--n must be at least 1")
    engine = build_engine(args)
    batch_size = min(args.batch_size, args.n)
    settings = {"command": "synth", "size": list(args.size), "seed": args.seed, "clean": args.clean,
                **{k: str(getattr(args, k)) for k in ("foregrounds", "backgrounds", "textures")}}
    manifest = export_dataset(seeded(engine, args.seed, batch_size), args.out, args.n, batch_size,
                              settings=settings)
    sheet = write_rgb(args.out / "contact_sheet.png", dataset_sheet(manifest, limit=8))
    print(f"wrote {args.n} scenes to {manifest}")
    print(f"contact sheet: {sheet}")
    return 0

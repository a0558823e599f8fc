"""`maskdepth predict`: masks and depth for a pair, a dataset, a folder or a video."""

from __future__ import annotations

import argparse
from pathlib import Path

from maskdepth.commands import positive_int

EXAMPLE = """examples:
  maskdepth predict --image person.jpg --background room.jpg --out out/
  maskdepth predict --data dataset/ --out preds/                 (<out>/<id>_mask.png, _depth.png)
  maskdepth predict --images shots/ --background room.jpg --out out/
  maskdepth predict --video call.mp4 --out out/                  (clean plate from the video itself)
  maskdepth predict --video call.mp4 --background room.jpg --out out/ --engine onnx --checkpoint model.onnx
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="predict masks and depth for a pair, a dataset, a folder or a video",
        description="Writes mask PNGs (0/255), 16-bit depth PNGs (mm), colour depth and a "
                    "side-by-side view (an mp4 for video). The background is aligned to each "
                    "image first (camera shift, exposure), with a warning if it does not match.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path, help="one image (with --background)")
    source.add_argument("--data", type=Path, help="a dataset folder or manifest.csv")
    source.add_argument("--images", type=Path, help="a folder of images sharing --background")
    source.add_argument("--video", type=Path, help="a video from a static camera")
    parser.add_argument("--background", type=Path, help="the photo of the scene without the foreground")
    parser.add_argument("--out", type=Path, required=True,
                        help="output folder: new or empty, never one holding the inputs")
    parser.add_argument("--overwrite", action="store_true",
                        help="allow a non-empty --out (outputs of the same names are replaced)")
    parser.add_argument("--checkpoint", type=Path, help="model file (default: the shipped model)")
    parser.add_argument("--engine", choices=["torch", "onnx"], default="torch",
                        help="onnx: run an exported .onnx with ONNX Runtime")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ... (torch engine)")
    parser.add_argument("--batch-size", type=positive_int, default=8, help="images per batch (default 8)")
    parser.add_argument("--no-align", action="store_true", help="use the background as it is")
    parser.add_argument("--max-frames", type=positive_int, help="video: stop after this many frames")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maskdepth.errors import UserError
    from maskdepth.inference.api import MaskDepth
    from maskdepth.inference.writers import (
        predict_folder,
        predict_manifest,
        predict_pair,
        predict_video,
    )
    from maskdepth.io.outputs import output_folder

    if args.engine == "onnx" and (args.checkpoint is None or args.checkpoint.suffix != ".onnx"):
        raise UserError("--engine onnx needs --checkpoint FILE.onnx (make one with maskdepth export)")
    if args.engine == "torch" and args.checkpoint is not None and args.checkpoint.suffix == ".onnx":
        raise UserError("an .onnx checkpoint runs with --engine onnx")
    if (args.image or args.images) and args.background is None:
        raise UserError("--image and --images need --background (the scene without the foreground)")
    inputs = [p for p in (args.image, args.data, args.images, args.video, args.background,
                          args.checkpoint) if p is not None]
    for path in inputs:
        if not path.exists():
            raise UserError(f"{path}: no such file or folder")
    if args.images is not None and not args.images.is_dir():
        raise UserError(f"--images {args.images} is not a folder; give a folder of images")
    model = MaskDepth.load(args.checkpoint, device=args.device)
    align = not args.no_align
    with output_folder(args.out, inputs, args.overwrite) as out:
        if args.image:
            written = predict_pair(model, args.image, args.background, out, align)
        elif args.data:
            written = predict_manifest(model, args.data, out, align, args.batch_size)
        elif args.images:
            written = predict_folder(model, args.images, args.background, out, align, args.batch_size)
        else:
            written = predict_video(model, args.video, args.background, out, align,
                                    args.batch_size, args.max_frames)
    print(f"wrote {written} prediction(s) to {args.out}")
    return 0

"""`maskdepth demo`: the shipped model on fresh engine scenes (and on your photos)."""

from __future__ import annotations

import argparse
from pathlib import Path

from maskdepth.commands import add_checkpoint_argument, add_size_argument

EXAMPLE = """examples:
  maskdepth demo --out maskdepth-demo
  maskdepth demo --out demo --image me.jpg --background my_room.jpg
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the shipped model on rendered scenes (or your photos); contact sheet + metrics",
        description="Renders scenes the model has never seen (all capture conditions on), predicts "
                    "with the default model, writes contact_sheet.png (image, background, mask "
                    "true/pred, depth true/pred) and prints the metrics.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("maskdepth-demo"), help="output folder")
    parser.add_argument("--n", type=int, default=8, help="scenes to render (default 8)")
    parser.add_argument("--seed", type=int, default=2024, help="scene seed")
    add_size_argument(parser, "scene size")
    add_checkpoint_argument(parser, ".safetensors, .ckpt or .onnx")
    parser.add_argument("--image", type=Path, help="also predict for this photo (with --background)")
    parser.add_argument("--background", type=Path, help="photo of the same scene without the foreground")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from maskdepth.errors import UserError
    from maskdepth.evaluation.evaluate import evaluate_set
    from maskdepth.inference.api import MaskDepth
    from maskdepth.inference.writers import predict_pair
    from maskdepth.io.images import write_rgb
    from maskdepth.io.journal import Journal
    from maskdepth.io.sheet import prediction_sheet
    from maskdepth.metrics import format_table
    from maskdepth.synth import SceneConfig, SceneEngine

    if (args.image is None) != (args.background is None):
        raise UserError("--image and --background go together")
    model = MaskDepth.load(args.checkpoint)
    batch = SceneEngine(SceneConfig(height=args.size[0], width=args.size[1]), seed=args.seed).render(args.n, args.seed)
    probability, depth = (torch.from_numpy(array) for array in
                          model.runner.predict(batch["image"].numpy(), batch["background"].numpy()))
    sheet = write_rgb(args.out / "contact_sheet.png", prediction_sheet(batch, probability, depth, limit=args.n))
    ids = [f"{i:06d}" for i in range(args.n)]
    values = evaluate_set(model, iter([(ids, batch)]), args.n, name="demo")["model"]
    shown = ("mask_iou", "mask_bf", "depth_rmse", "depth_absrel", "depth_d1", "depth_fg_rmse")
    print(format_table({f"{args.n} engine scenes": {k: values[k] for k in shown}}))
    print(f"contact sheet: {sheet}")
    if args.image is not None:
        predict_pair(model, args.image, args.background, args.out, True, Journal.untracked())
        print(f"predictions for {args.image.name}: {args.out}/{args.image.stem}_view.png")
    return 0

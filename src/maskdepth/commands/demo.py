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
                    "with the default model and each scene's exact empty-room depth as the scene "
                    "prior (as an RGB-D camera would give), writes contact_sheet.png (image, "
                    "background, mask true/pred, depth true/pred) and prints the metrics; then "
                    "predicts one real photo pair (a shipped frame of a room camera, or yours) "
                    "with the built-in scene-depth model.",
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
    from maskdepth.evaluation.evaluate import engine_background_depth, evaluate_set
    from maskdepth.inference.api import MaskDepth
    from maskdepth.inference.prior import ScenePriors
    from maskdepth.inference.writers import predict_pair
    from maskdepth.io.images import write_rgb
    from maskdepth.io.journal import Journal
    from maskdepth.metrics import format_table
    from maskdepth.synth import SceneConfig, SceneEngine
    from maskdepth.tensors.sheet import prediction_sheet

    if (args.image is None) != (args.background is None):
        raise UserError("--image and --background go together")
    model = MaskDepth.load(args.checkpoint)
    batch = SceneEngine(SceneConfig(height=args.size[0], width=args.size[1]), seed=args.seed).render(args.n, args.seed)
    probability, depth = (torch.from_numpy(array) for array in
                          model.runner.predict(batch["image"].numpy(), batch["background"].numpy()))
    sheet = write_rgb(args.out / "contact_sheet.png", prediction_sheet(batch, probability, depth, limit=args.n))
    ids = [f"{i:06d}" for i in range(args.n)]
    shown = ("mask_iou", "mask_bf", "depth_rmse", "depth_absrel", "depth_d1", "depth_fg_d1",
             "depth_fg_rmse")
    rows = {}
    alone = model.variant(priors=ScenePriors())  # no scene prior
    for prior, predictor, depths in (("exact empty-scene depth", model, engine_background_depth),
                                     ("no prior (network alone)", alone, None)):
        values = evaluate_set(predictor, iter([(ids, batch)]), args.n, name="demo",
                              background_depth=depths)["model"]
        rows[f"{args.n} engine scenes, {prior}"] = {k: values[k] for k in shown if k in values}
    print(format_table(rows))
    print(f"contact sheet: {sheet}")
    image, background = (args.image, args.background) if args.image is not None else demo_pair()
    predict_pair(model, image, background, args.out, True, Journal.untracked())
    print(f"real photo pair, scene prior {model.scene_depth_source}: "
          f"{args.out}/{image.stem}_view.png")
    return 0


def demo_pair():
    """The shipped real pair (image, background): a room camera's frame with a person and the
    empty room (weights/NOTICE.md: CC BY 4.0, Intel IoT Developer Kit sample videos)."""
    from importlib import resources

    folder = Path(str(resources.files("maskdepth") / "weights" / "demo"))
    return folder / "frame.jpg", folder / "background.jpg"

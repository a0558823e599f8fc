"""`maskdepth summary`: per-stage table of a model (shapes, parameters, GFLOPs) and, for a
weights file, its stored config and lineage."""

from __future__ import annotations

import argparse

from maskdepth.commands import add_checkpoint_argument, add_size_argument

EXAMPLE = """examples:
  maskdepth summary --variant original --size 160
  maskdepth summary --variant fast --size 240 320
  maskdepth summary --checkpoint small                       # the shipped model: config, lineage, table
  maskdepth summary --checkpoint runs/more/model.safetensors --lineage-only
"""


def add_parser(subparsers) -> None:
    from maskdepth.models.config import VARIANT_NAMES
    from maskdepth.models.zoo import DEFAULT_MODEL, ZOO

    parser = subparsers.add_parser(
        "summary", help="a model's per-stage table (shapes, parameters, GFLOPs) and lineage",
        description="Print each stage's output shape and parameter count, and the totals; for a "
                    "weights file (--checkpoint) also its stored config and lineage: every "
                    "training run that shaped it.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", default=ZOO[DEFAULT_MODEL].config.variant, choices=VARIANT_NAMES,
                        help=f"an architecture to describe (default: the {DEFAULT_MODEL} model's, "
                             f"{ZOO[DEFAULT_MODEL].config.variant}; ignored with --checkpoint)")
    add_checkpoint_argument(parser, ".safetensors, .ckpt, or .onnx: config and lineage only",
                            default_text="none: --variant")
    add_size_argument(parser, "input size")
    parser.add_argument("--lineage-only", action="store_true",
                        help="with --checkpoint: print only the config and lineage")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maskdepth.models import build_model
    from maskdepth.models.summary import format_summary
    from maskdepth.runtime.loader import load_torch_model

    height, width = args.size
    if args.checkpoint is not None and args.checkpoint.suffix == ".onnx":
        from maskdepth.runtime.onnx_runner import OnnxRunner

        exported = OnnxRunner(args.checkpoint.weights)  # an exported graph: config and lineage only
        print(_described(args.checkpoint, exported.config, exported.lineage))
        print(_scene_prior())
        return 0
    if args.checkpoint is not None:
        loaded = load_torch_model(args.checkpoint)
        model = loaded.network
        print(_described(args.checkpoint, model.config, loaded.lineage))
        print(_scene_prior())
        if args.lineage_only:
            return 0
        name = model.config.variant
    else:
        model, name = build_model(variant=args.variant), args.variant
    print(f"{name}: input 2 x (3 x {height} x {width}); heads are upsampled to the input size")
    print(format_summary(model, height, width))
    return 0


def _described(path, config, lineage: list[dict]) -> str:
    """A model file's path, stored config (None: not recorded) and lineage, as text."""
    from maskdepth.models.lineage import format_lineage

    values = ", ".join(f"{k}={v}" for k, v in config.to_dict().items()) if config else "none recorded"
    return f"{path}\nconfig: {values}\n{format_lineage(lineage)}"


def _scene_prior() -> str:
    """The line naming the scene prior every command pairs a model with by default."""
    from maskdepth.inference.api import DEFAULT_SCENE_DEPTH
    from maskdepth.inference.scene_depth import load_scene_depth_model

    model = load_scene_depth_model(DEFAULT_SCENE_DEPTH)
    source = model.source if model is not None else "none (the network's depth alone)"
    return (f"scene prior (the empty scene's depth, once per background; by default in every "
            f"command): {source}")

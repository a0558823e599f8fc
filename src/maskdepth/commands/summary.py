"""`maskdepth summary`: per-stage table of a model variant (shapes, parameters, GFLOPs)."""

from __future__ import annotations

import argparse

from maskdepth.commands import add_size_argument

EXAMPLE = """examples:
  maskdepth summary --variant original --size 160
  maskdepth summary --variant fast --size 240 320 --shadow-head
"""


def add_parser(subparsers) -> None:
    from maskdepth.models.config import VARIANT_NAMES

    parser = subparsers.add_parser(
        "summary", help="per-stage table of a model: output shapes, parameters, GFLOPs",
        description="Print each stage's output shape and parameter count, and the totals.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", default="original", choices=VARIANT_NAMES)
    add_size_argument(parser, "input size")
    parser.add_argument("--shadow-head", action="store_true", help="include the shadow head")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maskdepth.models import build_model
    from maskdepth.models.summary import format_summary

    height, width = args.size
    model = build_model(variant=args.variant, shadow_head=args.shadow_head)
    print(f"{args.variant}: input 2 x (3 x {height} x {width}); heads are upsampled to the input size")
    print(format_summary(model, height, width))
    return 0

"""`maskdepth export`: write a model as ONNX and check it against PyTorch at another size."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from maskdepth.commands import add_checkpoint_argument, add_size_argument

EXAMPLE = """examples:
  maskdepth export --checkpoint runs/default/model.safetensors --out model.onnx
  maskdepth export --checkpoint runs/default/checkpoints/best.ckpt --out model.onnx --size 240 320
"""

TOLERANCE = 1e-3  # max abs difference (logits, metres) above which the export is reported broken


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="export a model to ONNX (dynamic batch and size) and validate it",
        description="Trace the model to ONNX with dynamic batch, height and width, store its config "
                    "in the file's metadata, then run PyTorch and ONNX Runtime on the same random "
                    "inputs at a different size and print the max abs difference per output. "
                    f"Exits 1 if a difference exceeds {TOLERANCE:g}.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_checkpoint_argument(parser, ".safetensors or .ckpt", required=True)
    parser.add_argument("--out", type=Path, required=True, help="the file to write, e.g. model.onnx")
    add_size_argument(parser, "trace size (the file accepts any size)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset version (default 17)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maskdepth.errors import UserError
    from maskdepth.runtime.export import export_onnx, validate_onnx
    from maskdepth.runtime.loader import load_torch_model

    if args.out.is_dir():
        raise UserError(f"--out {args.out} is a folder; give the file to write, e.g. "
                        f"{args.out / 'model.onnx'}")
    if args.out.suffix != ".onnx":
        raise UserError(f"--out {args.out}: name the file *.onnx (e.g. {args.out.stem}.onnx)")
    height, width = args.size
    loaded = load_torch_model(args.checkpoint)
    model = loaded.network
    print(f"exporting {args.checkpoint} to {args.out} (traced at {height}x{width}, opset {args.opset})")
    export_onnx(model, args.out, height, width, args.opset, lineage=loaded.lineage,
                source_sha256=args.checkpoint.digest)
    # Another size, not a multiple of 32 when the trace size is one, so that the dynamic shapes
    # and the padding are what gets checked.
    check_height, check_width = height + 36, width + 52
    print(f"validating against PyTorch at 2x3x{check_height}x{check_width} (ONNX Runtime, CPU)")
    differences = validate_onnx(model, args.out, check_height, check_width)
    for name, difference in differences.items():
        print(f"{name:>16}: max abs difference {difference:.3g}")
    if max(differences.values()) > TOLERANCE:
        print(f"maskdepth export: error: {args.out} differs from PyTorch by more than {TOLERANCE:g}; "
              f"try another --opset, and report it if that does not help", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: outputs match PyTorch")
    return 0

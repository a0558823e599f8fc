"""The `maskdepth` command line: one subcommand per job.

    maskdepth --help
    maskdepth synth --out scenes --n 1000 --size 160

Each subcommand lives in `maskdepth.commands.<name>` and exposes `add_parser(subparsers)`, which
registers its arguments and sets `func` to the function that runs it. Imports stay lazy so that
`maskdepth --help` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from maskdepth.errors import UserError

# Subcommand name -> module in maskdepth.commands. Order is the order shown in --help.
# What `pip install "maskdepth[train]"` adds; a command that needs one names the extra.
TRAIN_MODULES = ("torch", "torchvision", "numba", "yaml", "kornia", "torchmetrics", "safetensors",
                 "lightning", "tensorboard", "onnx")
COMMANDS = ("demo", "predict", "synth", "build", "convert", "train", "evaluate", "export", "validate",
            "summary", "bench", "serve")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maskdepth",
        description="Foreground mask and depth from an image and a background photo of the same scene.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `maskdepth COMMAND --help` for a command's options and an example.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"maskdepth.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except UserError as error:
        message = str(error)
    except OSError as error:  # disk full, permissions, a folder where a file was expected, ...
        where = f"{error.filename}: " if error.filename else ""
        message = (f"{where}{error.strerror or error}; check the path, free space and permissions "
                   f"(files are written atomically: nothing half-written is left)")
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in TRAIN_MODULES:
            raise
        message = (f"this needs {error.name}, which the light install leaves out; "
                   f'pip install "maskdepth[train]" adds it (training, the scene engine, '
                   f"evaluation, export and --engine torch)")
    except KeyboardInterrupt:
        print(f"maskdepth {args.command}: interrupted (files are written atomically: nothing "
              f"half-written is left)", file=sys.stderr)
        return 130
    print(f"maskdepth {args.command}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

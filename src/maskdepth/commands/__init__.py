"""Subcommands of the `maskdepth` CLI; each module exposes `add_parser(subparsers)`."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    return _positive(text, "")


def _positive(text: str, unit: str = " of pixels") -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number{unit}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number{unit}")
    return value


class _SizeAction(argparse.Action):
    """Stores `--size PX` as (PX, PX) and `--size HEIGHT WIDTH` as (HEIGHT, WIDTH)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if len(values) > 2:
            parser.error(f"{option_string} takes one number (square) or two (HEIGHT WIDTH), "
                         f"got {len(values)}: {' '.join(map(str, values))}")
        setattr(namespace, self.dest, (values[0], values[-1]))


def add_size_argument(parser: argparse.ArgumentParser, what: str = "output size",
                      default: int = 160) -> None:
    """The one `--size` option: args.size becomes (height, width) in pixels, both positive."""
    parser.add_argument("--size", nargs="+", type=_positive, action=_SizeAction,
                        default=(default, default), metavar="PX",
                        help=f"{what}: one number (square) or HEIGHT WIDTH (default {default})")


def add_engine_argument(parser: argparse.ArgumentParser) -> None:
    """The one `--engine` option (runtime/loader.py): args.engine is auto, onnx or torch."""
    parser.add_argument("--engine", choices=["auto", "onnx", "torch"], default="auto",
                        help="what runs the model: auto (default: ONNX Runtime on the CPU, "
                             "PyTorch on a GPU), onnx, or torch (needs maskdepth[train]); a "
                             ".safetensors/.ckpt run by ONNX Runtime is exported once and cached")


class _ModelAction(argparse.Action):
    """Stores `--checkpoint NAME|PATH` as a ModelRef (models/zoo.py), resolved here once: a
    zoo model's name becomes its shipped weights, anything else a file path."""

    def __call__(self, parser, namespace, values, option_string=None):
        from maskdepth.errors import UserError
        from maskdepth.models.zoo import resolve_model

        try:
            setattr(namespace, self.dest, resolve_model(values))
        except UserError as error:
            parser.error(f"{option_string} {values}: {error}")


def add_checkpoint_argument(parser: argparse.ArgumentParser, files: str, required: bool = False,
                            default_text: str = "the shipped small model") -> None:
    """The one `--checkpoint` option: a shipped model's name (models/zoo.py) or a model file
    (`files` names the suffixes the command takes). args.checkpoint is a ModelRef or None."""
    from maskdepth.models.zoo import shipped_models

    parser.add_argument("--checkpoint", action=_ModelAction, required=required, metavar="MODEL",
                        help=f"{', '.join(shipped_models())} (shipped models) or a model file "
                             f"({files})" + ("" if required else f"; default: {default_text}"))


def add_scene_depth_arguments(parser: argparse.ArgumentParser, background_depth: str | None) -> None:
    """The scene prior's options (inference/prior.py). background_depth: the help of
    --background-depth, or None for a command without it."""
    parser.add_argument("--scene-depth-model", metavar="MODEL",
                        help="the depth model run once per background for the empty scene's "
                             "metric depth (the scene prior): builtin (FastDepth, the default), "
                             "none (the network's depth alone), or an .onnx or .tflite file")
    if background_depth:
        parser.add_argument("--background-depth", metavar="DEPTH", help=background_depth)

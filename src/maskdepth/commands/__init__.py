"""Subcommands of the `maskdepth` CLI; each module exposes `add_parser(subparsers)`."""


def height_width(size: list[int]) -> tuple[int, int]:
    """`--size PX` (square) or `--size HEIGHT WIDTH` -> (height, width)."""
    height, width = (list(size) * 2)[:2]
    return height, width

"""Subcommands of the `maskdepth` CLI; each module exposes `add_parser(subparsers)`."""

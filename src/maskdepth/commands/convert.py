"""`maskdepth convert`: the original exercise's zip archives as a dataset folder."""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLE = """examples:
  maskdepth convert --backgrounds bg/ --masks fg_bg_masks.zip --depths depth.zip --out dataset/
  maskdepth convert --backgrounds bg/ --masks fg_bg_masks.zip --out masks-only/
(training and evaluation can also read the archives in place: --data FOLDER or a source of kind
archive, where FOLDER holds the backgrounds folder and the zips)
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "convert", help="turn the original zip archives into a dataset folder",
        description="Read the original dataset (a folder of backgrounds, a mask archive with "
                    "data_label.txt and optionally a depth archive with depth_label.txt) and "
                    "write it in the dataset layout. The teacher depth is relative: it is "
                    "written as relative depth (depth_relative.txt says so), never as metres. "
                    "Rows that do not join or point at missing members are listed in "
                    "convert_report.txt. Resumable: run the same command again.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backgrounds", type=Path, required=True,
                        help="folder of background photos (bg001.jpg, ...)")
    parser.add_argument("--masks", type=Path, required=True,
                        help="zip of composites and masks with data_label.txt")
    parser.add_argument("--depths", type=Path, help="zip of teacher depth with depth_label.txt")
    parser.add_argument("--depth-polarity", choices=["auto", "near-bright", "near-dark"],
                        default="auto", help="how the teacher drew near things (default: "
                                             "detected from foreground versus room)")
    parser.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maskdepth.data.convert import REPORT_NAME, archive_settings, convert_archives
    from maskdepth.errors import UserError
    from maskdepth.io.original import OriginalArchive

    for path in (args.backgrounds, args.masks, args.depths):
        if path is not None and not path.exists():
            raise UserError(f"{path}: no such file or folder")
    archive = OriginalArchive.open(backgrounds=args.backgrounds, masks=args.masks,
                                   depths=args.depths, polarity=args.depth_polarity)
    settings = archive_settings(args.masks, args.depths, args.backgrounds, args.depth_polarity)
    manifest = convert_archives(archive, args.out, settings)
    depth = f"relative depth (near = {archive.polarity.split('-')[1]})" if archive.has_depth else "no depth"
    print(f"wrote {len(archive)} samples with {depth} to {manifest}")
    if archive.skipped:
        print(f"left out {len(archive.skipped)} row(s) that do not join or point at missing "
              f"members: see {args.out / REPORT_NAME}")
    return 0

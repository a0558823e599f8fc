"""`maskdepth validate PATH [PATH...]`: check datasets against the layout contract.

    maskdepth validate data/train data/val
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from maskdepth.io import layout, validate

EPILOG = """\
example:
  maskdepth validate data/train data/val/manifest.csv

Prints "OK: N samples" per valid dataset, otherwise every problem found (one line each, naming
the row id, the file and the fix). Exit code 0 if all datasets are valid, 1 otherwise.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `validate` and its arguments; sets `func=run`."""
    parser = subparsers.add_parser(
        "validate",
        help="check datasets against the manifest.csv layout contract",
        description=(
            "Check that each dataset folder (or manifest.csv) follows the layout contract:\n"
            "header id,image,background,mask,depth; 8-bit RGB image/background of equal size;\n"
            "8-bit 0/255 mask; 16-bit millimetre depth (optional); all paths inside the folder."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="dataset folder or its manifest.csv, or a folder of the original "
                             "zip archives")
    parser.add_argument("--no-images", action="store_true",
                        help="only check the manifest and that files exist (fast; no decoding)")
    parser.set_defaults(func=run)
    return parser


def _progress(name: str):
    """A tqdm wrapper for validate's rows (on stderr, hidden when not a terminal); None if
    tqdm is missing."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return functools.partial(tqdm, desc=f"validate {name}", unit="sample", disable=None,
                             leave=False)


def validate_archive(path: Path, check_images: bool) -> bool:
    """Print the verdict for a folder of the original archives; True if it is valid."""
    from maskdepth.io.archive import ArchiveError
    from maskdepth.io.original import OriginalArchive

    try:
        archive = OriginalArchive.open(path)
        problems = archive.problems(check_images, progress=_progress(str(path)))
    except ArchiveError as error:
        archive, problems = None, [str(error)]
    if not problems:
        depth = f", relative depth ({archive.polarity})" if archive.has_depth else ", no depth"
        print(f"OK: {len(archive)} samples (original archives in {path}{depth})")
        return True
    print(f"FAILED: {len(problems)} problem(s) in the original archives in {path}")
    for problem in problems[:layout.MAX_SHOWN]:
        print(f"  - {problem}")
    if len(problems) > layout.MAX_SHOWN:
        print(f"  ... and {len(problems) - layout.MAX_SHOWN} more")
    return False


def validate_one(path: Path, check_images: bool) -> bool:
    """Print the verdict for one dataset; True if it is valid."""
    from maskdepth.io.original import is_archive_folder

    if is_archive_folder(path):
        return validate_archive(path, check_images)
    manifest = layout.manifest_path(path)
    problems = validate.validate(path, check_images=check_images, progress=_progress(str(path)))
    if not problems:
        print(f"OK: {len(layout.read_manifest(manifest))} samples ({manifest})")
        return True
    print(f"FAILED: {len(problems)} problem(s) in {manifest}")
    for problem in problems:
        print(f"  - {problem}")
    return False


def run(args: argparse.Namespace) -> int:
    """Validate every PATH; 0 if all are valid, else 1."""
    results = [validate_one(path, not args.no_images) for path in args.paths]
    return 0 if all(results) else 1

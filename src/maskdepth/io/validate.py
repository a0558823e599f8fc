"""Validation of a dataset folder against the layout contract (see io/layout.py): every
problem at once, each naming the row, the file and the fix.

    maskdepth validate data/my_scenes
    problems = validate("data/my_scenes")       # [] when the dataset is fine
    samples = check("data/my_scenes")           # the samples, or a LayoutError listing problems
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from maskdepth.errors import UserError
from maskdepth.io.images import open_image, png_bit_depth
from maskdepth.io.layout import (
    HEADER,
    REQUIRED,
    LayoutError,
    Sample,
    _id_problem,
    _parse,
    _Row,
    manifest_path,
    read_manifest,
)

EXIF_ORIENTATION = 0x0112


def _path_problem(folder: Path, value: str) -> str | None:
    """Why the manifest cell `value` does not name a file inside `folder` (resolved)."""
    if Path(value).is_absolute():
        return "is an absolute path; write it relative to the manifest's folder"
    target = (folder / value).resolve()
    if not target.is_relative_to(folder):
        return (f"leaves the dataset folder (resolves to {target}); copy the file into "
                f"{folder} (symlinks must point inside it too)")
    if not target.is_file():
        hint = " with '/' separators" if "\\" in value else ""
        return f"not found (looked for {target}); fix the path{hint} or add the file"
    return None


def _describe(image: Image.Image, path: Path) -> str:
    """'8-bit L PNG'-style summary of a file's storage."""
    bits = png_bit_depth(path)
    return f"{bits}-bit {image.mode} {image.format}" if bits else f"{image.mode} {image.format}"


def _photo_problems(image: Image.Image, path: Path) -> list[str]:
    """Problems of an image or background file (header only, pixels not decoded)."""
    problems = []
    bits = png_bit_depth(path)
    if image.format not in ("PNG", "JPEG") or image.mode not in ("RGB", "L") or bits not in (8, None):
        problems.append(f"is {_describe(image, path)}, not an 8-bit RGB or greyscale PNG/JPEG; "
                        "re-save it as 8-bit RGB without alpha")
    orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    if orientation != 1:
        problems.append(f"has EXIF orientation {orientation}: viewers rotate it but training "
                        "does not; re-save it with the rotation applied (PIL ImageOps.exif_transpose)")
    return problems


def _mask_problems(image: Image.Image, path: Path) -> list[str]:
    """Problems of a mask file; decodes the pixels to check they are only 0 and 255."""
    if image.format != "PNG" or image.mode != "L" or png_bit_depth(path) != 8:
        return [(f"is {_describe(image, path)}, not a single-channel 8-bit PNG; "
                "save it as 8-bit greyscale (mode L) holding 0 and 255")]
    counts = np.bincount(np.asarray(image).ravel(), minlength=256)
    others = [v for v in np.flatnonzero(counts) if v not in (0, 255)]
    if not others:
        return []
    shown = ", ".join(str(v) for v in others[:10]) + (" ..." if len(others) > 10 else "")
    return [(f"has values other than 0 and 255 ({len(others)} distinct: {shown}); "
            "threshold it: 255 for foreground, 0 for background")]


def _depth_problems(image: Image.Image, path: Path) -> list[str]:
    """Problems of a depth file (header only)."""
    bits = png_bit_depth(path)
    if image.format == "PNG" and bits == 16 and image.mode.startswith("I"):
        return []
    found = f"has {bits}-bit depth ({image.mode})" if bits else f"is a {image.format} depth"
    return [(f"{found} where 16-bit single-channel PNG is required; "
            "save uint16 millimetres (maskdepth.io.images.write_depth)")]


_FILE_CHECKS: dict[str, Callable[[Image.Image, Path], list[str]]] = {
    "image": _photo_problems, "background": _photo_problems,
    "mask": _mask_problems, "depth": _depth_problems,
}


def _file_problems(files: dict[str, tuple[str, Path]]) -> list[str]:
    """Format and size problems of one row's files, given column -> (cell value, path)."""
    problems, sizes = [], {}
    for column, (value, path) in files.items():
        try:
            with open_image(path) as image:
                sizes[column] = image.size
                found = _FILE_CHECKS[column](image, path)
        except UserError as error:
            found = [str(error)]
        except (OSError, SyntaxError, ValueError) as error:  # PIL's ways of saying "corrupt"
            found = [f"could not be decoded ({error}); re-export it"]
        problems += [f"{column} '{value}' {problem}" for problem in found]
    reference = sizes.get("image")
    for column, size in sizes.items():
        if reference and size != reference:
            problems.append(f"{column} '{files[column][0]}' is {size[0]}x{size[1]} but image is "
                            f"{reference[0]}x{reference[1]}; all files of a sample must match")
    return problems


def _row_problems(folder: Path, row: _Row, check_images: bool) -> list[str]:
    """Every problem of one manifest row, each prefixed with its id and line."""
    problems, files = [], {}
    id_problem = _id_problem(row.cells["id"])
    problems += [id_problem] if id_problem else []
    for column in HEADER[1:]:
        value = row.cells[column]
        if not value:
            if column in REQUIRED:
                problems.append(f"{column} is empty; give the path of the {column} file")
            continue
        path_problem = _path_problem(folder, value)
        if path_problem:
            problems.append(f"{column} '{value}' {path_problem}")
        else:
            files[column] = (value, (folder / value).resolve())
    if check_images:
        problems += _file_problems(files)
    return [f"row {row.cells['id']!r} (line {row.line}): {problem}" for problem in problems]


def _duplicate_problems(rows: list[_Row]) -> list[str]:
    """One problem per row whose id was already used by an earlier row."""
    first_line: dict[str, int] = {}
    problems = []
    for row in rows:
        sample_id = row.cells["id"]
        if sample_id and sample_id in first_line:
            problems.append(f"row {sample_id!r} (line {row.line}): duplicate id, first used on "
                            f"line {first_line[sample_id]}; ids must be unique")
        first_line.setdefault(sample_id, row.line)
    return problems


def validate(
    path: str | os.PathLike,
    check_images: bool = True,
    progress: Callable[[list], Iterable] | None = None,
) -> list[str]:
    """Every way the dataset at `path` (folder or manifest.csv) breaks the contract.

    Returns human-readable lines (empty if valid), each naming the row id, the file and the
    fix. `check_images=False` checks only the manifest and that the files exist; otherwise image
    headers are read and mask pixels decoded. `progress` wraps the row list (e.g. tqdm).
    """
    manifest = manifest_path(path)
    rows, problems = _parse(manifest)
    if not rows and not problems:
        problems.append(f"{manifest}: no samples; add one row per sample below the header")
    folder = manifest.parent.resolve()
    problems += _duplicate_problems(rows)
    for row in progress(rows) if progress else rows:
        problems += _row_problems(folder, row, check_images)
    return problems


def check(path: str | os.PathLike, check_images: bool = True) -> list[Sample]:
    """Validate, then read: the Samples of a valid dataset, or LayoutError listing every problem.

    Call this before any long job so it fails in seconds, not hours.
    """
    problems = validate(path, check_images=check_images)
    if problems:
        raise LayoutError(problems, manifest_path(path))
    return read_manifest(path)

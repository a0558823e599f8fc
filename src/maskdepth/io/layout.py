"""The dataset contract: read, write and validate a folder of samples.

    maskdepth validate data/my_scenes

A dataset is a folder holding `manifest.csv` with the header `id,image,background,mask,depth`;
paths are relative to that folder and must stay inside it.
  image, background  8-bit RGB (or greyscale) PNG or JPEG, same size.
  mask               8-bit single-channel PNG, 0 = background, 255 = foreground.
  depth              16-bit single-channel PNG, millimetres of z-depth, 0 = unknown; may be empty.
Predictions for a manifest are `<out>/<id>_mask.png` (0/255) and `<out>/<id>_depth.png` (16-bit
mm). Side-car (not a column): an optional shadow map `shadows/<id>.png` next to the manifest,
8-bit, 0..255 = shadow darkening strength.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from maskdepth.errors import UserError
from maskdepth.io.atomic import atomic_write_bytes
from maskdepth.io.images import open_image, png_bit_depth

MANIFEST_NAME = "manifest.csv"
HEADER = ("id", "image", "background", "mask", "depth")
REQUIRED = ("image", "background", "mask")  # depth may be empty; mask only for unlabeled data
SHADOW_DIR = "shadows"
MAX_SHOWN = 50  # problems listed in a LayoutError message
EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Sample:
    """One manifest row with absolute, resolved paths; mask/depth are None where empty."""

    id: str
    image: Path
    background: Path
    mask: Path | None
    depth: Path | None


class LayoutError(UserError):
    """A dataset breaks the contract. `.problems` holds every problem, one line each."""

    def __init__(self, problems: Iterable[str], source: str | os.PathLike | None = None):
        self.problems = list(problems)
        self.source = source
        super().__init__(self._message())

    def _message(self) -> str:
        where = f" in {self.source}" if self.source else ""
        lines = [f"{len(self.problems)} problem(s){where}:"]
        lines += [f"  - {problem}" for problem in self.problems[:MAX_SHOWN]]
        hidden = len(self.problems) - MAX_SHOWN
        if hidden > 0:
            lines.append(f"  ... and {hidden} more (`maskdepth validate` lists them all)")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Row:
    line: int  # line number in manifest.csv, for messages
    cells: dict[str, str]


def manifest_path(path: str | os.PathLike) -> Path:
    """The manifest of a dataset, given its folder or the manifest.csv file itself."""
    path = Path(path)
    return path if path.suffix.lower() == ".csv" else path / MANIFEST_NAME


def _id_problem(sample_id: str) -> str | None:
    """Why `sample_id` cannot name prediction files, or None if it can."""
    if not sample_id:
        return "empty id; give every row a unique id (it names the prediction files)"
    if any(char in sample_id for char in "/\\\0") or sample_id in (".", ".."):
        return (f"id '{sample_id}' is not a plain file name; ids name the files <id>_mask.png, "
                "so use letters, digits, '-', '_' and '.'")
    return None


def prediction_paths(out_dir: str | os.PathLike, sample_id: str) -> tuple[Path, Path]:
    """(mask_path, depth_path) of the predictions for `sample_id`: `<out>/<id>_mask.png` and
    `<out>/<id>_depth.png`."""
    problem = _id_problem(sample_id)
    if problem:
        raise UserError(f"cannot name predictions: {problem}")
    out_dir = Path(out_dir)
    return out_dir / f"{sample_id}_mask.png", out_dir / f"{sample_id}_depth.png"


def shadow_path(path: str | os.PathLike, sample_id: str) -> Path:
    """The optional side-car shadow map of `sample_id`: `shadows/<id>.png` next to the manifest."""
    return manifest_path(path).parent / SHADOW_DIR / f"{sample_id}.png"


def _parse(manifest: Path) -> tuple[list[_Row], list[str]]:
    """Rows of `manifest` and its structural problems (missing file, header, field count)."""
    if not manifest.is_file():
        return [], [(f"{manifest}: not found; a dataset folder needs a {MANIFEST_NAME} whose "
                    f"first line is {','.join(HEADER)}")]
    try:
        text = manifest.read_text(encoding="utf-8-sig")  # -sig: tolerate Excel's BOM
    except (OSError, UnicodeDecodeError) as error:
        return [], [f"{manifest}: unreadable ({error}); save it as UTF-8 CSV"]
    reader = csv.reader(io.StringIO(text))
    header = tuple(cell.strip() for cell in next(reader, []))
    if header != HEADER:
        return [], [(f"{manifest}: line 1: header is {','.join(header) or '(empty)'}; "
                    f"make it exactly {','.join(HEADER)}")]
    rows, problems = [], []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(HEADER):
            problems.append(f"{manifest}: line {reader.line_num}: {len(cells)} fields where "
                            f"{len(HEADER)} are expected; quote paths that contain commas")
            continue
        rows.append(_Row(reader.line_num, dict(zip(HEADER, (c.strip() for c in cells)))))
    return rows, problems


def _sample(folder: Path, cells: Mapping[str, str]) -> Sample:
    """Sample with paths resolved against the dataset `folder`; empty cells become None."""
    paths = {c: (folder / cells[c]).resolve() if cells[c] else None for c in HEADER[1:]}
    return Sample(id=cells["id"], **paths)


def read_manifest(path: str | os.PathLike) -> list[Sample]:
    """Samples of a dataset (folder or manifest.csv), without checking the files.

    Raises LayoutError for a missing manifest, a wrong header or rows with the wrong number of
    fields. An empty mask is allowed here (prediction needs none); `validate` reports it.
    """
    manifest = manifest_path(path)
    rows, problems = _parse(manifest)
    if problems:
        raise LayoutError(problems, manifest)
    return [_sample(manifest.parent, row.cells) for row in rows]


def _relative(folder: Path, value: str | os.PathLike | None) -> str:
    """A manifest cell: `value` as a posix path relative to `folder` ('' for None)."""
    if value is None or str(value) == "":
        return ""
    path = Path(value)
    if not path.is_absolute():
        return path.as_posix()
    for base, target in ((folder.absolute(), path), (folder.resolve(), path.resolve())):
        if target.is_relative_to(base):
            return target.relative_to(base).as_posix()
    raise LayoutError([f"{path} is outside the dataset folder {folder}; move it inside"])


def _cells(folder: Path, row: Sample | Mapping[str, object]) -> list[str]:
    """The manifest cells of one row given as a Sample or a dict with the HEADER keys."""
    fields = dataclasses.asdict(row) if isinstance(row, Sample) else dict(row)
    unknown = set(fields) - set(HEADER)
    missing = {"id", "image", "background"} - set(fields)
    if unknown or missing:
        raise ValueError(f"manifest row {fields}: unknown keys {sorted(unknown)}, "
                         f"missing keys {sorted(missing)}; keys are {HEADER}")
    return [str(fields["id"])] + [_relative(folder, fields.get(c)) for c in HEADER[1:]]


def write_manifest(folder: str | os.PathLike, rows: Iterable[Sample | Mapping[str, object]]) -> Path:
    """Atomically write `folder/manifest.csv` from Samples or dicts; returns its path.

    Relative paths are taken as relative to `folder`; absolute ones must lie inside it.
    """
    folder = Path(folder)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(_cells(folder, row) for row in rows)
    return atomic_write_bytes(folder / MANIFEST_NAME, buffer.getvalue().encode("utf-8"))


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
    return [f"row '{row.cells['id']}' (line {row.line}): {problem}" for problem in problems]


def _duplicate_problems(rows: list[_Row]) -> list[str]:
    """One problem per row whose id was already used by an earlier row."""
    first_line: dict[str, int] = {}
    problems = []
    for row in rows:
        sample_id = row.cells["id"]
        if sample_id and sample_id in first_line:
            problems.append(f"row '{sample_id}' (line {row.line}): duplicate id, first used on "
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

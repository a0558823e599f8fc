"""The dataset contract: read and write a folder of samples (validation: io/validate.py).

    samples = read_manifest("data/my_scenes")

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from maskdepth.errors import UserError
from maskdepth.io.atomic import atomic_write_bytes

MANIFEST_NAME = "manifest.csv"
HEADER = ("id", "image", "background", "mask", "depth")
REQUIRED = ("image", "background", "mask")  # depth may be empty; mask only for unlabeled data
SHADOW_DIR = "shadows"
# A side file marking a dataset whose depth PNGs hold relative depth (a teacher network's, known
# up to scale and shift): value / 65535 in (0, 1], far = 1, 0 = unknown, instead of millimetres.
RELATIVE_DEPTH_FILE = "depth_relative.txt"
RELATIVE_DEPTH_NOTE = ("The depth PNGs of this dataset hold relative depth, not millimetres: "
                       "value / 65535 in (0, 1], far = 1, 0 = unknown. It came from a teacher "
                       "network and is known only up to scale and shift; metres cannot come "
                       "from it.\n")
MAX_SHOWN = 50  # problems listed in a LayoutError message


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

    def __reduce__(self):  # rebuilt intact when raised in a DataLoader worker process
        return (type(self), (self.problems, self.source))

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


def depth_is_relative(path: str | os.PathLike) -> bool:
    """Whether the dataset (folder or manifest.csv) holds relative depth (RELATIVE_DEPTH_FILE)."""
    return (manifest_path(path).parent / RELATIVE_DEPTH_FILE).is_file()


def manifest_path(path: str | os.PathLike) -> Path:
    """The manifest of a dataset, given its folder or the manifest.csv file itself."""
    path = Path(path)
    return path if path.suffix.lower() == ".csv" else path / MANIFEST_NAME


def _id_problem(sample_id: str) -> str | None:
    """Why `sample_id` cannot name prediction files, or None if it can."""
    if not sample_id:
        return "empty id; give every row a unique id (it names the prediction files)"
    if (any(char in sample_id for char in "/\\") or sample_id in (".", "..")
            or any(ord(char) < 32 or ord(char) == 127 for char in sample_id)):
        return (f"id {sample_id!r} is not a plain file name; ids name the files <id>_mask.png, "
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
        bad = [name for name, cell in zip(HEADER[1:], cells[1:]) if _has_control(cell)]
        if bad:
            problems.append(f"{manifest}: line {reader.line_num}: the {bad[0]} path holds a "
                            f"control character ({cells[HEADER.index(bad[0])]!r}); fix the path")
            continue
        rows.append(_Row(reader.line_num, dict(zip(HEADER, (c.strip() for c in cells)))))
    return rows, problems


def _has_control(text: str) -> bool:
    """Whether `text` holds a NUL, newline or other control character (no file name needs one)."""
    return any(ord(char) < 32 or ord(char) == 127 for char in text)


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

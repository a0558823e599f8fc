"""The original archives (original.py) as a dataset folder in the layout (io/layout.py).

Per sample: images/<id>.<ext> (the composite's bytes, copied as stored: no re-encoding),
masks/<id>.png (0/255, JPEG masks thresholded at 127), depth/<id>.png (relative depth x 65535,
marked by `depth_relative.txt`, see layout.RELATIVE_DEPTH_FILE) and the background photos once
each under backgrounds/. Rows that do not join or point at missing members are left out and
listed in `convert_report.txt`. Resumable like every long writer (io/journal.py); the manifest
is written last.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from maskdepth.errors import UserError
from maskdepth.io import images as imageio
from maskdepth.io.atomic import atomic_write_bytes
from maskdepth.io.dataset_writer import write_dataset
from maskdepth.io.layout import RELATIVE_DEPTH_FILE, RELATIVE_DEPTH_NOTE
from maskdepth.io.original import MASK_LABEL, OriginalArchive

REPORT_NAME = "convert_report.txt"


def _inside(folder: Path, relative: str) -> Path:
    """folder / relative, refusing anything that would land outside `folder`."""
    path = folder / relative
    if not path.resolve().is_relative_to(folder.resolve()):
        raise UserError(f"{relative!r} would be written outside {folder}; refusing")
    return path


def _write_sample(archive: OriginalArchive, folder: Path, index: int) -> dict[str, str]:
    """Write one sample's files; returns its manifest row. Errors name the label row."""
    try:
        return _write_files(archive, folder, index)
    except UserError as error:
        line = int(archive.table[index]["line"])
        raise UserError(f"{MASK_LABEL} line {line}: {error}") from None


def _write_files(archive: OriginalArchive, folder: Path, index: int) -> dict[str, str]:
    row = archive.row(index)
    suffix = PurePosixPath(row.image).suffix.lower() or ".png"
    cells = {"id": row.id, "image": f"images/{row.id}{suffix}",
             "background": f"backgrounds/{row.background.name}", "mask": f"masks/{row.id}.png",
             "depth": f"depth/{row.id}.png" if archive.has_depth else ""}
    image = archive.read_image_bytes(index)
    rgb = archive.read_image(index)  # checks that it is an image
    mask = archive.read_mask(index)
    if mask.shape != rgb.shape[:2]:
        raise UserError(f"{archive.masks.path}:{row.mask} is {mask.shape[1]}x{mask.shape[0]}, "
                        f"its composite {rgb.shape[1]}x{rgb.shape[0]}")
    atomic_write_bytes(_inside(folder, cells["image"]), image)
    imageio.write_mask(_inside(folder, cells["mask"]), mask)
    if archive.has_depth:
        # Relative depth r in (0, 1] stored as round(r * 65535) in the 16-bit PNG.
        imageio.write_depth(_inside(folder, cells["depth"]), archive.read_depth(index) * 65.535)
    return cells


def convert_archives(archive: OriginalArchive, folder: str | Path, settings: dict,
                     batch_size: int = 256, workers: int = 2, progress: bool = True) -> Path:
    """Write `archive` into `folder` in the dataset layout; returns the manifest's path.
    Resumes an interrupted conversion with the same `settings`; refuses a folder holding
    anything else."""
    folder = Path(folder)
    count = len(archive)
    if count == 0:
        raise UserError(f"no row of the archives could be used ({len(archive.skipped)} left out, "
                        f"e.g. {archive.skipped[0] if archive.skipped else 'none'})")
    settings = {"command": "convert", "count": count, "batch_size": batch_size, **settings}
    starts = range(0, count, batch_size)
    sizes = [min(batch_size, count - first) for first in starts]

    def finish(folder: Path) -> None:
        for photo in sorted(set(archive.backgrounds)):
            atomic_write_bytes(_inside(folder, f"backgrounds/{photo.name}"), photo.read_bytes())
        if archive.has_depth:
            note = RELATIVE_DEPTH_NOTE + f"Teacher polarity: {archive.polarity}.\n"
            atomic_write_bytes(folder / RELATIVE_DEPTH_FILE, note.encode())
        report = [f"{count} sample(s) converted, {len(archive.skipped)} row(s) left out",
                  *archive.skipped]
        atomic_write_bytes(folder / REPORT_NAME, ("\n".join(report) + "\n").encode())

    with ThreadPoolExecutor(max_workers=workers) as pool:

        def write_batch(k: int) -> list[dict[str, str]]:
            indices = range(starts[k], starts[k] + sizes[k])
            return list(pool.map(lambda i: _write_sample(archive, folder, i), indices))

        return write_dataset(folder, settings, "convert", sizes, write_batch, finish,
                             progress=progress)


def archive_settings(masks: Path, depths: Path | None, backgrounds: Path, polarity: str) -> dict:
    """What identifies a conversion for resuming: the inputs (path, size, modification time)."""
    def identity(path: Path | None):
        if path is None:
            return None
        stat = path.stat()
        return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]

    return json.loads(json.dumps({"masks": identity(masks), "depths": identity(depths),
                                  "backgrounds": str(backgrounds.resolve()),
                                  "polarity": polarity}))

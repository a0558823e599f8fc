"""Writing a dataset folder batch by batch, resumably: the loop `synth`, `build` and `convert`
share. The folder is locked, an interrupted run with the same settings is resumed from its
journal (io/journal.py), a folder holding anything else is refused, and the manifest is written
last, so it never points at a missing file.

    manifest = write_dataset(folder, settings, "export", sizes, write_batch)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from maskdepth.errors import UserError
from maskdepth.io.journal import Journal, read_settings
from maskdepth.io.layout import write_manifest
from maskdepth.io.outputs import LOCK_NAME, folder_lock
from maskdepth.io.progress import progress as progress_bar


def _journal(folder: Path, settings: dict, command: str) -> Journal:
    """The journal of an interrupted run of the same settings in `folder`, or a new one. A
    folder that holds other files but no journal, or a journal of other settings, is refused:
    nothing is overwritten."""
    if read_settings(folder) is not None:
        return Journal.resume(folder, settings, command)
    if any(p.name != LOCK_NAME for p in folder.iterdir()):
        raise UserError(f"{folder} is not empty; choose a new --out ({command} never mixes its "
                        f"files with others)")
    return Journal.start(folder, settings)


def write_dataset(folder: str | Path, settings: dict, command: str, sizes: Sequence[int],
                  write_batch: Callable[[int], list], finish: Callable[[Path], None] | None = None,
                  progress: bool = True, desc: str | None = None) -> Path:
    """Write a dataset of len(sizes) batches into `folder`; returns the manifest's path.

    write_batch(k): writes the sizes[k] samples of batch k and returns their manifest rows; it
    must always write the same files for the same k. finish(folder): writes side files once
    every batch is in, before the manifest. settings: a JSON-able dict that identifies the run;
    re-running an interrupted one with the same settings writes only the batches it lacks.
    Errors from the file system become a UserError saying how to resume.
    """
    folder = Path(folder)
    try:
        with folder_lock(folder), _journal(folder, settings, command) as journal, \
                progress_bar(total=sum(sizes), unit="sample", disable=not progress,
                     desc=desc or command) as bar:
            bar.update(sum(len(rows) for rows in journal.done.values()))
            for k, size in enumerate(sizes):
                if k in journal.done:
                    continue
                journal.record(k, write_batch(k))
                bar.update(size)
            if finish is not None:
                finish(folder)
            manifest = write_manifest(folder, [row for k in range(len(sizes))
                                               for row in journal.done[k]])
            journal.finish()
    except OSError as error:
        raise UserError(f"{folder}: could not write the dataset ({error}); free space or fix "
                        f"permissions, then run the same command again to resume") from error
    return manifest

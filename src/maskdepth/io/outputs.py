"""Output folders that never hurt a user's data: refused when they hold an input or are not
empty (unless overwriting is asked for), and locked against a second writer.

    with output_folder(out, inputs=[image, background], overwrite=args.overwrite):
        ... write predictions into out ...
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from maskdepth.errors import UserError
from maskdepth.io.journal import JOURNAL_NAME

LOCK_NAME = ".maskdepth.lock"


def check_output(out: str | os.PathLike, inputs: Iterable[str | os.PathLike], overwrite: bool) -> Path:
    """Refuse an output folder that is a file, that is or holds one of `inputs` (files or
    folders), or that is not empty while `overwrite` (or resuming) is off. Returns it resolved."""
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder for the outputs")
    for given in inputs:
        path = Path(given).resolve()
        if path == out or path.is_relative_to(out):
            raise UserError(f"--out {out} holds the input {given}; outputs would overwrite or mix "
                            f"with it. Choose an empty folder outside the inputs")
    if out.exists() and not overwrite and any(p.name != LOCK_NAME for p in out.iterdir()):
        if (out / JOURNAL_NAME).exists():
            raise UserError(f"--out {out} holds an interrupted run; add --resume (with the same "
                            f"inputs and options) to finish it, or --overwrite to start again")
        raise UserError(f"--out {out} is not empty; choose a new folder, or add --overwrite to "
                        f"replace outputs of the same names there")
    return out


def refuse_links(folder: str | os.PathLike) -> None:
    """A UserError naming the first symbolic link inside `folder` (at any depth): a writer that
    followed it would write, or replace files, outside the folder it was given."""
    for root, folders, files in os.walk(folder):  # never follows links into other folders
        for name in sorted(folders + files):
            path = Path(root) / name
            if path.is_symlink():
                raise UserError(f"{path}: a symbolic link inside {folder}; maskdepth writes only "
                                f"inside its output folder: remove the link or choose another "
                                f"folder")


@contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive lock on `folder` (created if needed) while writing into it; a second
    maskdepth command writing there fails at once, and so does a folder holding a symbolic link
    (refuse_links). The lock dies with the process (kill -9
    included), so no stale lock is left behind."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LOCK_NAME, "a")  # noqa: SIM115 - held for the whole block
    except OSError as error:
        raise UserError(f"cannot write to {folder} ({error.strerror}); fix its permissions or "
                        f"choose another --out") from None
    # The lock file stays (hidden, holding the last holder's PID; check_output ignores it):
    # deleting it would let a third command lock a new file while the first still writes.
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = (folder / LOCK_NAME).read_text().strip()
            who = f" (PID {holder})" if holder.isdigit() else ""
            raise UserError(f"another maskdepth command{who} is writing to {folder}; wait for "
                            f"it to finish or choose another folder") from None
        handle.truncate(0)  # the holder's PID, for the message above
        handle.write(str(os.getpid()))
        handle.flush()
        refuse_links(folder)
        yield folder
    finally:
        handle.close()


@contextmanager
def output_folder(out: str | os.PathLike, inputs: Iterable[str | os.PathLike],
                  overwrite: bool = False) -> Iterator[Path]:
    """check_output, then folder_lock: the folder to write into."""
    with folder_lock(check_output(out, inputs, overwrite)) as folder:
        yield folder

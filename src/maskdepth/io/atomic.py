"""Atomic file writes: readers see the old file or the complete new one, never half of one.

    atomic_write_bytes("out/manifest.csv", data)
    with atomic_path("run/model.safetensors") as temp:   # for writers that want a file name
        save_file(state, str(temp))

The temporary file is hidden (`.<stem>.<random>.tmp<suffix>`, in the target's folder, so the
rename stays on one file system and writers that pick a format by suffix still work) and is
removed on any error. No fsync: exports write thousands of files, and a power cut mid-export is
handled by re-running the (resumable) command.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temp_path(path: str | os.PathLike) -> Path:
    """A unique hidden temporary name beside `path` (creating its folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")


def _read_umask() -> int:
    """The process's umask (set and restored at once; read when this module is imported)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _read_umask()


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path` with the usual
    0o666 & ~umask permissions (some writers, safetensors' among them, create 0o600 files), on
    error it is removed."""
    temp = temp_path(path)
    try:
        yield temp
        if temp.exists():
            os.chmod(temp, 0o666 & ~UMASK)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def remove_stale_temps(path: str | os.PathLike) -> None:
    """Delete temporary files of `path` left by a writer that was killed (kill -9 skips the
    clean-up); call it only where no other process writes `path`."""
    path = Path(path)
    for stale in path.parent.glob(f".{path.stem}.*.tmp{path.suffix}"):
        stale.unlink(missing_ok=True)


TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp(\.[^.]+)?$")  # what temp_path names


def remove_stale_temps_under(folder: str | os.PathLike) -> int:
    """Delete every temporary file a killed writer left anywhere in `folder` (see temp_path);
    call it only while holding the folder's lock. Returns how many were removed."""
    stale = [p for p in Path(folder).rglob(".*") if p.is_file() and TEMP_NAME.match(p.name)]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically (creating folders); returns the path written. The file
    gets the usual 0o666 & ~umask permissions."""
    with atomic_path(path) as temp:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
    return Path(path)


def file_digest(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, as hex (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content_fingerprint(path: str | os.PathLike) -> str:
    """What a resumed job compares to tell that an input is still the same one, cheaply:
    a file's size and the SHA-256 of its first and last MiB; a folder's SHA-256 over the
    relative path, size and modification time of every file below it."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            stat = item.stat()
            digest.update(f"{item.relative_to(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return f"folder:{digest.hexdigest()}"
    size = path.stat().st_size
    with open(path, "rb") as file:
        digest.update(file.read(1 << 20))
        if size > 2 << 20:  # larger: the last MiB too; smaller: the rest, so all of it
            file.seek(-(1 << 20), os.SEEK_END)
        digest.update(file.read(1 << 20))
    return f"{size}:{digest.hexdigest()}"


"""The original dataset's label files: tab-separated text, read strictly (encoding, fields,
at least one row), every problem an ArchiveError naming the archive and the line."""

from __future__ import annotations

from pathlib import Path

from maskdepth.io.archive import ArchiveError


def label_text(data: bytes, archive: Path, label: str) -> str:
    """A label file's text: UTF-8 (a byte-order mark dropped) or UTF-16 with its mark; any other
    encoding is an ArchiveError naming it, never silently garbled."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        if b"\x00" in data:
            raise ArchiveError(f"{archive}: {label} looks like UTF-16 text without a byte-order "
                               f"mark; save it as UTF-8")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ArchiveError(f"{archive}: {label} is not UTF-8 or UTF-16 text (byte {error.start}: "
                           f"{error.reason}); save it as UTF-8") from None


def label_rows(text: str, fields: tuple[str, ...], archive: Path, label: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of a tab-separated label file; a wrong field count is an error, and
    so is a file without a single row."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        if len(cells) != len(fields):
            raise ArchiveError(f"{archive}: {label} line {number}: {len(cells)} fields where "
                               f"{len(fields)} are expected ({', '.join(fields)}, tab-separated): "
                               f"{line[:120]!r}")
        rows.append((number, cells))
    if not rows:
        raise ArchiveError(f"{archive}: {label} holds no rows; it should list one sample per "
                           f"line ({', '.join(fields)}, tab-separated)")
    return rows

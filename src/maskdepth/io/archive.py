"""Zip archives read in place, member by member: nothing is extracted.

`Zip` checks an archive once (duplicate and unsafe member names, absurd sizes, encryption) and
then reads members through a compact index, from any thread or process. What the members of a
particular dataset mean is the data layer's (io/original.py reads the original exercise's
archives).

    archive = Zip(Path("fg_bg_masks.zip"))
    archive.read(archive.find("data_label.txt"))      # bytes, checked against size and CRC
"""

from __future__ import annotations

import os
import struct
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np

from maskdepth.errors import UserError

MAX_MEMBER_BYTES = 64 << 20  # a member declaring more than this uncompressed is refused (zip bomb)
MAX_RATIO = 1000  # ... and so is one that expands more than this over its compressed size


class ArchiveError(UserError):
    """A problem with the archives: names the archive, the member or the label row."""


def safe_member(name: str, archive: Path, where: str) -> str:
    """`name`, refused (ArchiveError naming `archive` and `where` it was named) when it is
    absolute or climbs out (`../x.png`, `/etc/x`, `C:\\x`)."""
    parts = name.replace("\\", "/").split("/")
    if not name or not parts[0] or ".." in parts or ":" in parts[0]:
        raise ArchiveError(f"{archive}: {where} names the member {name!r}, which is absolute or "
                           f"leaves the archive; the archive is not safe to read")
    return name


def _basename(member: str) -> str:
    return member.rsplit("/", 1)[-1]


ENTRY = np.dtype([("offset", "<i8"), ("compressed", "<i8"), ("size", "<i8"), ("crc", "<u4"),
                  ("method", "<u2"), ("flags", "<u2")])  # where a member's bytes are


class Zip:
    """A zip archive checked once (duplicate and unsafe names, absurd sizes, encryption) and
    then read member by member through a compact index: 32 bytes a member, no names kept (they
    are read back from the member's own header when a message needs one). Each thread of each
    process opens its own file handle (DataLoader workers and writer threads included). Stored
    and deflated members are read."""

    def __init__(self, path: Path):
        self.path = path
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, OSError) as error:
            raise ArchiveError(f"{path}: not a readable zip archive ({error})") from None
        self.lookup: dict[str, int] | None = {}  # name -> entry, while the labels are joined
        entries = []
        for info in infos:
            if info.is_dir():
                continue
            safe_member(info.filename, path, "the archive")
            if info.filename in self.lookup:
                raise ArchiveError(f"{path}: the member {info.filename!r} appears twice; "
                                   f"rebuild the archive with unique names")
            if info.file_size > MAX_MEMBER_BYTES or (
                    info.compress_size and info.file_size / info.compress_size > MAX_RATIO):
                raise ArchiveError(f"{path}: the member {info.filename!r} declares "
                                   f"{info.file_size:,} bytes from {info.compress_size:,} "
                                   f"compressed, which is absurd for an image (a zip bomb?); "
                                   f"it is not read")
            self.lookup[info.filename] = len(entries)
            entries.append((info.header_offset, info.compress_size, info.file_size, info.CRC,
                            info.compress_type, info.flag_bits))
        self.entries = np.array(entries, dtype=ENTRY)
        self._local, self._pid = threading.local(), os.getpid()

    def entry(self, member: str) -> int:
        """The index of `member` (-1 if absent); only before `forget_names`."""
        return self.lookup.get(member, -1)

    def find(self, basename: str) -> int:
        """The index of the member whose file name (last part) is `basename`, or -1."""
        for name, index in self.lookup.items():
            if _basename(name) == basename:
                return index
        return -1

    def forget_names(self) -> None:
        """Drop the name lookup once the labels are joined (most of the memory a member costs)."""
        self.lookup = None

    def _handle(self):
        """This thread's file handle (threads and processes never share one: seek + read)."""
        if self._pid != os.getpid():
            self._local, self._pid = threading.local(), os.getpid()
        file = getattr(self._local, "file", None)
        if file is None:
            file = self._local.file = open(self.path, "rb")  # noqa: SIM115 - kept open
        return file

    def _header(self, index: int) -> tuple[int, str]:
        """(offset of the data, member name) from the member's local header."""
        file, offset = self._handle(), int(self.entries[index]["offset"])
        file.seek(offset)
        header = file.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise ArchiveError(f"{self.path}: member {index} has a broken header; the archive "
                               f"is damaged")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        raw = file.read(name_length)
        name = raw.decode("utf-8" if self.entries[index]["flags"] & 0x800 else "cp437", "replace")
        return offset + 30 + name_length + extra_length, name

    def name(self, index: int) -> str:
        """The member's name, read from its local header."""
        return self._header(index)[1]

    def read(self, index: int) -> bytes:
        """The bytes of member `index`, checked against its size and CRC."""
        entry = self.entries[index]
        start, name = self._header(index)
        if entry["flags"] & 0x1:
            raise ArchiveError(f"{self.path}: the member {name!r} is encrypted; re-zip it "
                               f"without a password")
        file = self._handle()
        file.seek(start)
        raw = file.read(int(entry["compressed"]))
        if entry["method"] == zipfile.ZIP_STORED:
            data = raw
        elif entry["method"] == zipfile.ZIP_DEFLATED:
            try:
                data = zlib.decompressobj(-15).decompress(raw, MAX_MEMBER_BYTES + 1)
            except zlib.error as error:
                raise ArchiveError(f"{self.path}: the member {name!r} is damaged ({error})") from None
        else:
            raise ArchiveError(f"{self.path}: the member {name!r} uses compression method "
                               f"{entry['method']}; re-zip the archive with deflate")
        if len(data) != entry["size"] or zlib.crc32(data) != entry["crc"]:
            raise ArchiveError(f"{self.path}: the member {name!r} is damaged (its size or "
                               f"checksum differs from the archive's directory)")
        return data

    def __getstate__(self) -> dict:  # a worker opens its own handles
        return {**self.__dict__, "_local": None, "_pid": -1}

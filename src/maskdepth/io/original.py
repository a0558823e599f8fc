"""The original exercise's dataset as it ships, read in place: nothing is extracted.

A folder holding
- a folder of background photos (`bg001.jpg`, ...),
- a mask archive (zip) with the composites, their masks and `data_label.txt`: one row per
  sample, tab-separated, no header: `bg, fg, fg_bg, fg_bg_mask, x, y, width, height` (bg: the
  background's file stem; fg_bg, fg_bg_mask: member names in the zip; the rest place the
  cut-out),
- optionally a depth archive (zip) with 8-bit grey depth images and `depth_label.txt`:
  tab-separated `batch, fg_bg, fg_bg_depth`, joined with the mask rows on `fg_bg`.
The archives are recognised by the label file inside them, whatever their names; they are read
as zips by io/archive.py.

The depth images are a teacher network's relative output (0-255), not metres: they are read as
relative depth in (0, 1], far = 1 (see `relative_depth`), and samples carry that flag so that
training and evaluation treat them scale-and-shift invariantly. Metres cannot come from them.

    archive = OriginalArchive.open("dataset/")       # parses and checks the labels
    archive.ids[0], archive.read_image(0)             # (H, W, 3) uint8
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskdepth.errors import UserError
from maskdepth.io import images as imageio
from maskdepth.io.archive import ArchiveError, Zip, safe_member
from maskdepth.io.images import IMAGE_SUFFIXES
from maskdepth.io.labels import label_rows, label_text

MASK_LABEL = "data_label.txt"
DEPTH_LABEL = "depth_label.txt"
MASK_FIELDS = ("bg", "fg", "fg_bg", "fg_bg_mask", "x", "y", "width", "height")
DEPTH_FIELDS = ("batch", "fg_bg", "fg_bg_depth")
POLARITIES = ("auto", "near-bright", "near-dark")


@dataclass(frozen=True)
class ArchiveRow:
    """One sample, for messages and conversion: its id (the composite's file stem), background
    photo, member names and line of data_label.txt."""

    id: str
    background: Path
    image: str  # member of the mask archive
    mask: str
    depth: str | None  # member of the depth archive
    line: int


ROW = np.dtype([("line", "<i4"), ("background", "<i4"), ("image", "<i8"), ("mask", "<i8"),
                ("depth", "<i8")])  # a joined row: label line, background and member indices


def _stem(member: str) -> str:
    name = member.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name[1:] else name


def _zips(folder: Path) -> tuple[Zip | None, Zip | None]:
    """The mask and depth archives of `folder`, told apart by their label files."""
    masks = depths = None
    for path in sorted(folder.glob("*.zip")):
        archive = Zip(path)
        if archive.find(MASK_LABEL) >= 0:
            masks = masks or archive
        elif archive.find(DEPTH_LABEL) >= 0:
            depths = depths or archive
    return masks, depths


def is_archive_folder(path: str | os.PathLike) -> bool:
    """Whether `path` is a folder in the original layout: no manifest.csv, a zip or more."""
    path = Path(path)
    return path.is_dir() and not (path / "manifest.csv").exists() and any(path.glob("*.zip"))


def _backgrounds(folder: Path, given: Path | None, stems: set[str]) -> dict[str, Path]:
    """stem -> photo of the backgrounds folder (`given`, or the subfolder holding the most of the
    labels' background stems)."""
    candidates = [given] if given else [p for p in sorted(folder.iterdir()) if p.is_dir()]
    best: dict[str, Path] = {}
    for candidate in candidates:
        if not candidate.is_dir():
            raise ArchiveError(f"{candidate}: no such folder of background photos")
        found = {p.stem: p for p in sorted(candidate.iterdir())
                 if p.suffix.lower() in IMAGE_SUFFIXES}
        if len(stems & found.keys()) > len(stems & best.keys()):
            best = found
    return best


@dataclass
class OriginalArchive:
    """The joined, checked rows of an original-layout dataset and the means to read them.

    ids: the sample ids (composite file stems), one per usable row; the rows themselves are a
    compact array (about 100 bytes a sample with its id), so an archive of 400,000 samples is
    read with flat, small memory."""

    ids: list[str]
    table: np.ndarray  # ROW entries, one per id
    backgrounds: list[Path]
    masks: Zip
    depths: Zip | None
    skipped: list[str]  # rows that do not join or point at missing members, as messages
    polarity: str  # "near-bright" or "near-dark": how the teacher's depth images read

    @classmethod
    def open(cls, folder: str | os.PathLike | None = None, *, backgrounds: Path | None = None,
             masks: Path | None = None, depths: Path | None = None,
             polarity: str = "auto") -> OriginalArchive:
        """Parse and join the labels of `folder` (or of the given archives and backgrounds).
        Raises ArchiveError for a missing label file, a malformed row, an unsafe or duplicate
        member, or an absurd member size. Rows that do not join, or whose members or
        background are missing, are left out and listed in `skipped`."""
        if polarity not in POLARITIES:
            raise ArchiveError(f"depth polarity {polarity!r}: use one of {', '.join(POLARITIES)}")
        if folder is not None:
            folder = Path(folder)
            mask_zip, depth_zip = _zips(folder)
            if mask_zip is None and depth_zip is None:
                raise ArchiveError(f"{folder}: no zip here holds {MASK_LABEL} or {DEPTH_LABEL}; "
                                   f"put the original archives (with their label files) here")
        else:
            mask_zip = Zip(masks) if masks else None
            depth_zip = Zip(depths) if depths else None
            if mask_zip and mask_zip.find(MASK_LABEL) < 0:
                raise ArchiveError(f"{masks}: no {MASK_LABEL} inside; is this the mask archive?")
            if depth_zip and depth_zip.find(DEPTH_LABEL) < 0:
                raise ArchiveError(f"{depths}: no {DEPTH_LABEL} inside; is this the depth archive?")
        if mask_zip is None:
            raise ArchiveError(f"{depth_zip.path}: a depth archive alone names composites but holds "
                               f"neither them nor their backgrounds; add the mask archive "
                               f"(with {MASK_LABEL})")
        mask_rows = label_rows(label_text(mask_zip.read(mask_zip.find(MASK_LABEL)), mask_zip.path,
                                            MASK_LABEL), MASK_FIELDS, mask_zip.path, MASK_LABEL)
        depth_of: dict[str, str] = {}
        if depth_zip is not None:
            label = depth_zip.find(DEPTH_LABEL)
            for number, (_, fg_bg, depth) in label_rows(
                    label_text(depth_zip.read(label), depth_zip.path, DEPTH_LABEL), DEPTH_FIELDS,
                    depth_zip.path, DEPTH_LABEL):
                safe_member(depth, depth_zip.path, f"{DEPTH_LABEL} line {number}")
                depth_of[fg_bg] = depth
        root = folder if folder is not None else mask_zip.path.parent
        photos = _backgrounds(root, backgrounds, {cells[0] for _, cells in mask_rows})
        photo_index = {stem: i for i, stem in enumerate(photos)}
        ids, table, skipped, seen = [], [], [], {}
        for number, cells in mask_rows:
            bg, _, image, mask = cells[:4]
            where = f"{MASK_LABEL} line {number}"
            safe_member(image, mask_zip.path, where)
            safe_member(mask, mask_zip.path, where)
            sample_id = _stem(image)
            if sample_id in seen:
                raise ArchiveError(f"{mask_zip.path}: {where} repeats the composite {image!r} "
                                   f"(first on line {seen[sample_id]}); ids must be unique")
            seen[sample_id] = number
            image_entry, mask_entry = mask_zip.entry(image), mask_zip.entry(mask)
            problem = (f"background {bg!r} not found" if bg not in photos else
                       f"member {image!r} missing" if image_entry < 0 else
                       f"member {mask!r} missing" if mask_entry < 0 else None)
            depth_entry = -1
            if problem is None and depth_zip is not None:
                depth = depth_of.get(image)
                depth_entry = depth_zip.entry(depth) if depth is not None else -1
                problem = (f"no row of {DEPTH_LABEL} for {image!r}" if depth is None else
                           f"depth member {depth!r} missing" if depth_entry < 0 else None)
            if problem:
                skipped.append(f"{where}: {problem}")
                continue
            ids.append(sample_id)
            table.append((number, photo_index[bg], image_entry, mask_entry, depth_entry))
        del mask_rows, depth_of, seen
        for archive in (mask_zip, depth_zip):
            if archive is not None:
                archive.forget_names()
        archive = cls(ids, np.array(table, dtype=ROW), list(photos.values()), mask_zip,
                      depth_zip, skipped, polarity)
        if depth_zip is not None and polarity == "auto":
            archive.polarity = archive.detect_polarity()
        return archive

    def __len__(self) -> int:
        return len(self.ids)

    def row(self, index: int) -> ArchiveRow:
        """Row `index` with its names (read from the members' headers)."""
        entry = self.table[index]
        depth = self.depths.name(int(entry["depth"])) if self.depths is not None else None
        return ArchiveRow(self.ids[index], self.backgrounds[entry["background"]],
                          self.masks.name(int(entry["image"])),
                          self.masks.name(int(entry["mask"])), depth, int(entry["line"]))

    @property
    def has_depth(self) -> bool:
        return self.depths is not None

    def _decode(self, archive: Zip, entry, grey: bool) -> np.ndarray:
        data = archive.read(int(entry))
        try:
            return imageio.decode_grey(data, "") if grey else imageio.decode_rgb(data, "")
        except UserError as error:  # name the member (read from its header only now)
            raise ArchiveError(f"{archive.path}:{archive.name(int(entry))}{error}") from None

    def read_image_bytes(self, index: int) -> bytes:
        """The composite of row `index` as stored in the archive (encoded)."""
        return self.masks.read(int(self.table[index]["image"]))

    def read_image(self, index: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB composite of row `index`."""
        return self._decode(self.masks, self.table[index]["image"], grey=False)

    def read_background(self, index: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB background photo of row `index`."""
        return imageio.read_rgb(self.backgrounds[self.table[index]["background"]])

    def read_mask(self, index: int) -> np.ndarray:
        """(H, W) bool mask of row `index` (grey > 127; JPEG masks are thresholded)."""
        return self._decode(self.masks, self.table[index]["mask"], grey=True) > 127

    def read_teacher_depth(self, index: int) -> np.ndarray:
        """(H, W) uint8: the teacher's depth image of row `index`, as stored."""
        return self._decode(self.depths, self.table[index]["depth"], grey=True)

    def read_depth(self, index: int) -> np.ndarray:
        """(H, W) float32 relative depth in (0, 1], far = 1 (see `relative_depth`)."""
        return relative_depth(self.read_teacher_depth(index), self.polarity)

    def problems(self, check_images: bool = True, progress=None) -> list[str]:
        """Every problem of the rows, one line each: rows that were left out (`skipped`) and,
        with check_images, members that do not decode or whose sizes disagree. progress: an
        optional tqdm-like wrapper of the row iterator."""
        found = list(self.skipped)
        if not check_images:
            return found
        indices = range(len(self))
        for index in progress(indices) if progress else indices:
            line = int(self.table[index]["line"])
            try:
                image = self.read_image(index)
                sizes = {"background": self.read_background(index).shape[:2],
                         "mask": self.read_mask(index).shape}
                if self.has_depth:
                    sizes["depth"] = self.read_teacher_depth(index).shape
            except UserError as error:
                found.append(f"{MASK_LABEL} line {line}: {error}")
                continue
            for name, size in sizes.items():
                if size != image.shape[:2]:
                    found.append(f"{MASK_LABEL} line {line}: the {name} is "
                                 f"{size[1]}x{size[0]}, the composite {self.ids[index]} "
                                 f"{image.shape[1]}x{image.shape[0]}")
        return found

    def detect_polarity(self, samples: int = 32) -> str:
        """Whether the teacher drew near things bright or dark, from up to `samples` rows: the
        foreground (mask) is in front of the room behind it in nearly every composite."""
        votes = 0
        for index in np.linspace(0, len(self) - 1, min(samples, len(self))).astype(int):
            mask, depth = self.read_mask(index), self.read_teacher_depth(index)
            if mask.shape != depth.shape or mask.all() or not mask.any():
                continue
            votes += 1 if depth[mask].mean() > depth[~mask].mean() else -1
        return "near-bright" if votes >= 0 else "near-dark"


def open_archive(folder: str | os.PathLike, polarity: str = "auto") -> OriginalArchive:
    """OriginalArchive.open(folder), the rows it left out said aloud (as validate and convert
    say them: never dropped in silence)."""
    archive = OriginalArchive.open(folder, polarity=polarity)
    if archive.skipped:
        warnings.warn(f"{folder}: {len(archive.skipped)} label row(s) left out (they do not join "
                      f"or point at missing members), e.g. {archive.skipped[0]}; `maskdepth "
                      f"validate {folder}` lists them all", stacklevel=3)
    return archive


def relative_depth(teacher: np.ndarray, polarity: str) -> np.ndarray:
    """(H, W) uint8 teacher depth -> float32 relative depth in (0, 1], far = 1, never 0 (0 means
    unknown in depth maps): (256 - v) / 256 when near is bright, (v + 1) / 256 when near is dark.
    An affine stand-in for depth: metric depth, scale and shift are unknown."""
    values = teacher.astype(np.float32)
    levels = 256.0 - values if polarity == "near-bright" else values + 1.0
    return levels / np.float32(256.0)

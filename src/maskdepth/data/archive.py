"""Samples of the original archives (see original.py) as tensors, read member by member.

Each item is a `SampleTensors` like ManifestDataset's, with depth relative in (0, 1] (far = 1)
and `relative` = 1 when the depth archive is there, else depth 0 (unknown) and `relative` 0.
Nothing is extracted and memory does not grow with the archive: only the labels are held, and
each DataLoader worker opens its own handle on each zip.
"""

from __future__ import annotations

import os

import torch
from torch.utils.data import Dataset

from maskdepth.batch import SampleTensors
from maskdepth.data.transforms import resize_sample
from maskdepth.errors import UserError
from maskdepth.io.original import open_archive
from maskdepth.tensors.convert import from_numpy as _tensor


class ArchiveDataset(Dataset):
    """An original-layout folder (backgrounds + mask archive [+ depth archive]).

    size: (height, width) to resize to, or None to keep each sample's own size.
    """

    def __init__(self, folder: str | os.PathLike, size: tuple[int, int] | None = None,
                 polarity: str = "auto"):
        self.archive = open_archive(folder, polarity)
        self.size = size

    @property
    def ids(self) -> list[str]:
        return self.archive.ids

    def __len__(self) -> int:
        return len(self.archive)

    def pair(self, index: int):
        """(image, background): (H, W, 3) uint8 RGB each."""
        return self.archive.read_image(index), self.archive.read_background(index)

    def __getitem__(self, index: int) -> SampleTensors:
        image, background = self.pair(index)
        if image.shape != background.shape:
            row = self.archive.row(index)
            raise UserError(f"{self.archive.masks.path}:{row.image} is {image.shape[1]}x"
                            f"{image.shape[0]} but its background {row.background} is "
                            f"{background.shape[1]}x{background.shape[0]}")
        height, width = image.shape[:2]
        mask = self.archive.read_mask(index)
        depth = (self.archive.read_depth(index) if self.archive.has_depth else None)
        for name, value in (("mask", mask), ("depth", depth)):
            if value is not None and value.shape != (height, width):
                raise UserError(f"{self.archive.masks.path}: the {name} of "
                                f"{self.archive.row(index).image} is {value.shape[1]}x"
                                f"{value.shape[0]}, the composite {width}x{height}")
        sample = {"image": _tensor(image) / 255, "background": _tensor(background) / 255,
                  "mask": _tensor(mask),
                  "depth": _tensor(depth) if depth is not None else torch.zeros(1, height, width),
                  "shadow": torch.zeros(1, height, width)}
        if self.size is not None:
            sample = resize_sample(sample, *self.size)
        sample["relative"] = torch.tensor(float(self.archive.has_depth))
        sample["index"] = torch.tensor(index)
        return sample

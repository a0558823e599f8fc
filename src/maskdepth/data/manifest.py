"""Samples of a dataset in the layout (see io/layout.py) as tensors.

A sample is a `maskdepth.batch.SampleTensors` (image, background, mask, depth, shadow
without the batch dimension): depth is all 0 when the manifest has no depth, shadow 0 where no
shadow map exists. All come at the files' size unless a size is asked for, in which case they are resized
(area for images, nearest for mask and depth).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from maskdepth.batch import SampleTensors
from maskdepth.data.archive import ArchiveDataset
from maskdepth.data.transforms import resize_sample
from maskdepth.io import images as imageio
from maskdepth.io.layout import Sample, depth_is_relative, shadow_path
from maskdepth.io.original import is_archive_folder
from maskdepth.io.validate import check
from maskdepth.tensors.convert import from_numpy as _tensor


def load_sample(sample: Sample, manifest: Path, relative: bool = False) -> SampleTensors:
    """Read one sample's files into tensors at their own size. relative: the depth PNGs hold
    relative depth (value / 65535, see layout.RELATIVE_DEPTH_FILE), not millimetres."""
    image = _tensor(imageio.read_rgb(sample.image)) / 255
    height, width = image.shape[-2:]
    out = {"image": image, "background": _tensor(imageio.read_rgb(sample.background)) / 255}
    out["mask"] = (_tensor(imageio.read_mask(sample.mask)) if sample.mask
                   else torch.zeros(1, height, width))
    out["depth"] = (_tensor(imageio.read_depth(sample.depth)) if sample.depth
                    else torch.zeros(1, height, width))
    if relative:
        out["depth"] = out["depth"] * (1000.0 / 65535.0)
    shadow = shadow_path(manifest, sample.id)
    out["shadow"] = (_tensor(imageio.read_shadow(shadow)) if shadow.exists()
                     else torch.zeros(1, height, width))
    return out


class ManifestDataset(Dataset):
    """A dataset folder (or manifest.csv) validated up front, read sample by sample.

    size: (height, width) to resize to, or None to keep each sample's own size. Items carry
    `relative` (1 when the dataset's depth is relative, see layout.RELATIVE_DEPTH_FILE).
    """

    def __init__(self, path: str | Path, size: tuple[int, int] | None = None, validate: bool = True):
        self.samples = check(path, check_images=validate)
        self.manifest = Path(path)
        self.size = size
        self.relative = depth_is_relative(path)

    @property
    def ids(self) -> list[str]:
        return [sample.id for sample in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def pair(self, index: int):
        """(image, background): (H, W, 3) uint8 RGB each."""
        sample = self.samples[index]
        return imageio.read_rgb(sample.image), imageio.read_rgb(sample.background)

    def __getitem__(self, index: int) -> SampleTensors:
        sample = load_sample(self.samples[index], self.manifest, self.relative)
        if self.size is not None:
            sample = resize_sample(sample, *self.size)
        sample["relative"] = torch.tensor(float(self.relative))
        sample["index"] = torch.tensor(index)
        return sample


def open_dataset(path: str | Path, size: tuple[int, int] | None = None, polarity: str = "auto"):
    """The dataset at `path`: a folder in the dataset layout (or its manifest.csv) as a
    ManifestDataset, or a folder of the original archives (original.py) as an ArchiveDataset.
    Both give `ids`, `pair(i)` (image, background arrays) and items as SampleTensors."""
    if is_archive_folder(path):
        return ArchiveDataset(path, size, polarity)
    return ManifestDataset(path, size)

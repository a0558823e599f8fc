"""Samples of a dataset in the layout (see io/layout.py) as tensors.

A sample is a `maskdepth.data.batch.SampleTensors` (image, background, mask, depth, shadow
without the batch dimension): depth is all 0 when the manifest has no depth, shadow 0 where no
shadow map exists. All come at the files' size unless a size is asked for, in which case they are resized
(area for images, nearest for mask and depth).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from maskdepth.data.batch import SampleTensors
from maskdepth.io import images as imageio
from maskdepth.io.layout import Sample, shadow_path
from maskdepth.io.tensors import from_numpy as _tensor
from maskdepth.io.validate import check


def load_sample(sample: Sample, manifest: Path) -> SampleTensors:
    """Read one sample's files into tensors at their own size."""
    image = _tensor(imageio.read_rgb(sample.image)) / 255
    height, width = image.shape[-2:]
    out = {"image": image, "background": _tensor(imageio.read_rgb(sample.background)) / 255}
    out["mask"] = (_tensor(imageio.read_mask(sample.mask)) if sample.mask
                   else torch.zeros(1, height, width))
    out["depth"] = (_tensor(imageio.read_depth(sample.depth)) if sample.depth
                    else torch.zeros(1, height, width))
    shadow = shadow_path(manifest, sample.id)
    out["shadow"] = (_tensor(imageio.read_shadow(shadow)) if shadow.exists()
                     else torch.zeros(1, height, width))
    return out


def resize_sample(sample: SampleTensors, height: int, width: int) -> SampleTensors:
    """Resize every map of a sample: area/bilinear for images and shadow, nearest for mask and
    depth (so that masks stay binary and depth is never blended across edges)."""
    if sample["image"].shape[-2:] == (height, width):
        return sample
    out = {}
    for key, value in sample.items():
        if value.dim() != 3:
            out[key] = value
            continue
        mode = "nearest-exact" if key in ("mask", "depth") else "area"
        if mode == "area" and value.shape[-1] < width:
            mode = "bilinear"
        kwargs = {"align_corners": False} if mode == "bilinear" else {}
        out[key] = F.interpolate(value[None], size=(height, width), mode=mode, **kwargs)[0]
    return out


class ManifestDataset(Dataset):
    """A dataset folder (or manifest.csv) validated up front, read sample by sample.

    size: (height, width) to resize to, or None to keep each sample's own size.
    """

    def __init__(self, path: str | Path, size: tuple[int, int] | None = None, validate: bool = True):
        self.samples = check(path, check_images=validate)
        self.manifest = Path(path)
        self.size = size

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> SampleTensors:
        sample = load_sample(self.samples[index], self.manifest)
        if self.size is not None:
            sample = resize_sample(sample, *self.size)
        sample["index"] = torch.tensor(index)
        return sample

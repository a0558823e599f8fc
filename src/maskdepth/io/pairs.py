"""The photo pairs of a dataset, without torch: what prediction reads (the light install).

    ids, pair = dataset_pairs("dataset/")     # a dataset folder, its manifest.csv, or a folder
    image, background = pair(0)               # of the original archives; (H, W, 3) uint8 each
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from maskdepth.io import images as imageio
from maskdepth.io.original import is_archive_folder, open_archive
from maskdepth.io.validate import check

Pair = Callable[[int], tuple[np.ndarray, np.ndarray]]


def dataset_pairs(path: str | os.PathLike) -> tuple[list[str], Pair]:
    """(sample ids, pair(index) -> (image, background) RGB arrays) of the dataset at `path`,
    checked up front as training reads it (data/manifest.py, data/archive.py)."""
    if is_archive_folder(path):
        archive = open_archive(path)
        return archive.ids, lambda i: (archive.read_image(i), archive.read_background(i))
    samples = check(path, check_images=True)
    return [s.id for s in samples], lambda i: (imageio.read_rgb(samples[i].image),
                                               imageio.read_rgb(samples[i].background))

"""The batch contract, stated once: what every data source, the engine, the losses, the metrics
and evaluation pass around.

A `Batch` is a dict of float32 tensors for B samples of H x W pixels:

    image, background:  (B, 3, H, W) RGB in [0, 1] (8-bit levels when they come from files or
                        the engine)
    mask:               (B, 1, H, W) 1 = visible foreground, 0 = background
    depth:              (B, 1, H, W) z-depth of the image in metres (along the optical axis),
                        0 = unknown (photo composites, datasets without depth)
    shadow:             (B, 1, H, W) in [0, 1], fraction of light removed by cast shadows;
                        never inside the mask (a shadow is background)
    background_depth:   (B, 1, H, W) metres, 0 = unknown (the engine only)
    index:              () long, the batch's index in its training stream (training only)

`SampleTensors` is the same without the batch dimension (ManifestDataset items).
"""

from __future__ import annotations

from typing import TypedDict

import torch

MAP_KEYS = ("image", "background", "mask", "depth", "shadow")  # the per-pixel maps every source gives


class Batch(TypedDict, total=False):
    """See the module docstring for shapes, ranges and units."""

    image: torch.Tensor
    background: torch.Tensor
    mask: torch.Tensor
    depth: torch.Tensor
    shadow: torch.Tensor
    background_depth: torch.Tensor
    index: torch.Tensor


SampleTensors = Batch  # the same keys, without the batch dimension

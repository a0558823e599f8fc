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
    relative:           (B,) 1 where `depth` is relative, not metres: a teacher network's depth
                        in (0, 1], far = 1, known only up to scale and shift (the original
                        archives); absent or 0 = metres
    index:              () long, the batch's index in its training stream (training only)

`SampleTensors` is the same without the batch dimension (ManifestDataset items).

A predicted mask is a probability sigmoid(mask_logits) in [0, 1]; a pixel is foreground when it
exceeds MASK_THRESHOLD (prediction and the metrics use this one value).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:  # the light inference path reads MASK_THRESHOLD without torch
    import torch

MAP_KEYS = ("image", "background", "mask", "depth", "shadow")  # the per-pixel maps every source gives
MASK_THRESHOLD = 0.5  # a pixel is foreground when sigmoid(mask_logits) > this


class Batch(TypedDict, total=False):
    """See the module docstring for shapes, ranges and units."""

    image: torch.Tensor
    background: torch.Tensor
    mask: torch.Tensor
    depth: torch.Tensor
    shadow: torch.Tensor
    background_depth: torch.Tensor
    relative: torch.Tensor
    index: torch.Tensor


SampleTensors = Batch  # the same keys, without the batch dimension


def split_depth(batch: Batch) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(metric, relative): the batch's depth (B, 1, H, W) with relative samples' depth set to 0
    (unknown) in `metric`, and the relative samples' depth (others 0) in `relative`, which is
    None when the batch has no relative sample (checked on the CPU only; on an accelerator the
    check would wait for the device, so a batch with the key always gets the relative path)."""
    import torch

    depth = batch["depth"]
    if "relative" not in batch:
        return depth, None
    if batch["relative"].device.type == "cpu" and not bool((batch["relative"] > 0).any()):
        return depth, None
    relative = batch["relative"].view(-1, 1, 1, 1) > 0
    zero = torch.zeros_like(depth)
    return torch.where(relative, zero, depth), torch.where(relative, depth, zero)

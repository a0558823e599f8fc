"""numpy images <-> torch tensors: the one conversion between file arrays and model tensors.

    image = from_numpy_image(read_rgb(path))   # (H, W, 3) uint8 -> (3, H, W) float32 in [0, 1]
    rgb = to_numpy_rgb(image)                  # and back (rounded to 8-bit levels)
"""

from __future__ import annotations

import numpy as np
import torch


def from_numpy(array: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, C) array -> (1 or C, H, W) float32 tensor, values unchanged."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    return tensor[None].float() if tensor.dim() == 2 else tensor.permute(2, 0, 1).float()


def from_numpy_image(array: np.ndarray) -> torch.Tensor:
    """(H, W[, C]) uint8 image -> (C, H, W) float32 in [0, 1]."""
    return from_numpy(array) / 255


def to_numpy_rgb(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) float tensor in [0, 1] -> (H, W, 3) uint8 (rounded to the nearest level)."""
    return (image.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()

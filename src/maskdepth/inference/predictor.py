"""Running a model on tensors: the one prediction path shared by evaluation, inference,
benchmarks and the demo."""

from __future__ import annotations

import torch
from torch import nn

from maskdepth.batch import MASK_THRESHOLD


def to_mask(probability):
    """Foreground where the probability exceeds MASK_THRESHOLD (tensor or numpy array -> bool)."""
    return probability > MASK_THRESHOLD


def model_device(model) -> torch.device:
    """Where a model's inputs must go: its parameters' device, or its `device` attribute (ONNX)."""
    device = getattr(model, "device", None)
    if device is not None:
        return torch.device(device)
    return next(model.parameters()).device


@torch.inference_mode()
def predict_tensors(model: nn.Module, image: torch.Tensor, background: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """image, background (B, 3, H, W) in [0, 1] -> (mask probability (B, 1, H, W) in [0, 1],
    depth (B, 1, H, W) in metres, rounded to the millimetres a depth PNG stores)."""
    device = model_device(model)
    outputs = model(image.to(device), background.to(device))
    probability = torch.sigmoid(outputs["mask_logits"].float())
    depth = torch.round(outputs["depth"].float() * 1000) / 1000
    return probability.cpu(), depth.cpu()

"""Running a PyTorch model: on tensors (`predict_tensors`, what training's validation and the
demo's scenes use) and as the "torch" engine's runner on numpy arrays (`TorchRunner`, see
inference/runtime.py for the runner contract)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def model_device(model: nn.Module) -> torch.device:
    """Where a model's inputs must go: its parameters' device."""
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


class TorchRunner:
    """A MaskDepthNet run by PyTorch on its device, with the runner contract of
    inference/runtime.py (numpy in, numpy out)."""

    engine = "torch"

    def __init__(self, model: nn.Module, lineage: list[dict] | None = None):
        self.module = model.eval()
        self.config = getattr(model, "config", None)
        self.lineage = lineage or []

    def predict(self, image: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """image, background (B, 3, H, W) float32 in [0, 1] -> (probability, depth in metres
        rounded to millimetres), both (B, 1, H, W) float32."""
        probability, depth = predict_tensors(self.module, torch.from_numpy(np.asarray(image)),
                                             torch.from_numpy(np.asarray(background)))
        return probability.numpy(), depth.numpy()

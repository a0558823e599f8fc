"""Running a PyTorch model: on tensors (`predict_tensors`, what training's validation and the
demo's scenes use) and as the "torch" engine's runner on numpy arrays (`TorchRunner`, see
runtime/onnx_runner.py for the runner contract)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def model_device(model: nn.Module) -> torch.device:
    """Where a model's inputs must go: its parameters' device."""
    return next(model.parameters()).device


@torch.inference_mode()
def predict_tensors(model: nn.Module, image: torch.Tensor, background: torch.Tensor,
                    prior: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """image, background (B, 3, H, W) in [0, 1] -> (mask probability (B, 1, H, W) in [0, 1],
    depth (B, 1, H, W) in metres, rounded to the millimetres a depth PNG stores). prior: (B, 1,
    H, W) metres for a model that takes the scene prior (ModelConfig.prior)."""
    device = model_device(model)
    outputs = model(image.to(device), background.to(device),
                    prior.to(device) if prior is not None else None)
    probability = torch.sigmoid(outputs["mask_logits"].float())
    depth = torch.round(outputs["depth"].float() * 1000) / 1000
    return probability.cpu(), depth.cpu()


class TorchRunner:
    """A MaskDepthNet run by PyTorch on its device, with the runner contract of
    runtime/onnx_runner.py (numpy in, numpy out)."""

    engine = "torch"

    def __init__(self, model: nn.Module, lineage: list[dict] | None = None):
        self.module = model.eval()
        self.config = getattr(model, "config", None)
        self.takes_prior = bool(getattr(self.config, "prior", False))
        self.lineage = lineage or []

    def predict(self, image: np.ndarray, background: np.ndarray, prior: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """image, background (B, 3, H, W) float32 in [0, 1] -> (probability, depth in metres
        rounded to millimetres), both (B, 1, H, W) float32. prior: see predict_tensors."""
        prior = torch.from_numpy(np.asarray(prior, np.float32)) if prior is not None else None
        probability, depth = predict_tensors(self.module, torch.from_numpy(np.asarray(image)),
                                             torch.from_numpy(np.asarray(background)), prior)
        return probability.numpy(), depth.numpy()

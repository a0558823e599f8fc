"""Running a model on tensors: the one prediction path shared by evaluation, inference,
benchmarks and the demo."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from maskdepth.errors import UserError


def load_any(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """A model from a weights file (.safetensors, from save_model) or a training checkpoint
    (.ckpt, from `maskdepth train`; read with torch.load(weights_only=True), never unpickling
    arbitrary objects)."""
    from maskdepth.models.weights import load_model

    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such model file")
    if path.suffix != ".ckpt":
        return load_model(path, device)
    from maskdepth.models import ModelConfig, build_model

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        config = ModelConfig.from_dict(checkpoint["maskdepth"]["config"]["model"])
    except Exception as error:
        raise UserError(f"{path}: not a maskdepth training checkpoint ({error})") from error
    config.pretrained = False
    model = build_model(config)
    state = {k[len("model."):]: v for k, v in checkpoint["state_dict"].items() if k.startswith("model.")}
    model.load_state_dict(state)
    return model.to(device).eval()


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

"""Model weights on disk: safetensors with the ModelConfig in its metadata (never pickle).

    save_model(model, "model.safetensors")
    model = load_model("model.safetensors")     # rebuilt from the stored config, no flags
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from maskdepth.errors import UserError
from maskdepth.models import MaskDepthNet, ModelConfig, build_model

CONFIG_KEY = "maskdepth.model_config"
FORMAT_KEY = "maskdepth.format"
FORMAT = "1"


def save_model(model: MaskDepthNet, path: str | os.PathLike, half: bool = False,
               extra: dict[str, str] | None = None) -> Path:
    """Write weights (fp16 if `half`) and config atomically; `extra` adds metadata strings."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in model.state_dict().items()}
    metadata = {CONFIG_KEY: json.dumps(model.config.to_dict()), FORMAT_KEY: FORMAT, **(extra or {})}
    temp = path.with_name(f".{path.name}.tmp")
    try:
        save_file(state, str(temp), metadata=metadata)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The metadata strings of a weights file."""
    try:
        with safe_open(str(path), framework="pt") as file:
            return dict(file.metadata() or {})
    except (SafetensorError, OSError) as error:
        raise UserError(f"{path}: not a readable maskdepth weights file (.safetensors): {error}") from error


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> MaskDepthNet:
    """Rebuild the model from a weights file written by `save_model`, in eval mode, float32."""
    metadata = read_metadata(path)
    if CONFIG_KEY not in metadata:
        raise UserError(f"{path}: has no maskdepth model config; was it written by save_model?")
    config = ModelConfig.from_dict(json.loads(metadata[CONFIG_KEY]))
    config.pretrained = False  # the file holds the weights
    model = build_model(config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise UserError(f"{path}: weights do not fit variant {config.variant!r} "
                        f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.to(device).eval()

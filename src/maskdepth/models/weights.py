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
from maskdepth.io.atomic import atomic_path
from maskdepth.models import MaskDepthNet, build_model
from maskdepth.models.config import CONFIG_KEY, stored_config
from maskdepth.models.lineage import LINEAGE_KEY, lineage_entries, parse_lineage

FORMAT_KEY = "maskdepth.format"
FORMAT = "1"


def save_model(model: MaskDepthNet, path: str | os.PathLike, half: bool = False,
               lineage: list[dict] | None = None, extra: dict[str, str] | None = None) -> Path:
    """Write weights (fp16 if `half`), config and lineage (see lineage.py) atomically; `extra`
    adds metadata strings."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in model.state_dict().items()}
    metadata = {CONFIG_KEY: json.dumps(model.config.to_dict()), FORMAT_KEY: FORMAT, **(extra or {})}
    if lineage:
        metadata[LINEAGE_KEY] = json.dumps(lineage)
    with atomic_path(path) as temp:
        save_file(state, str(temp), metadata=metadata)
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The metadata strings of a weights file."""
    try:
        with safe_open(str(path), framework="pt") as file:
            return dict(file.metadata() or {})
    except (SafetensorError, OSError) as error:
        raise UserError(f"{path}: not a readable maskdepth weights file (.safetensors): {error}") from error


def rebuild(config: dict, state: dict[str, torch.Tensor], path: str | os.PathLike) -> MaskDepthNet:
    """The model a stored config describes, with `state` loaded (float32, eval mode). Any
    mismatch (unknown variant, weights of another variant) is a one-line UserError naming path."""
    model_config = stored_config(config, path)  # types, ranges and variant checked
    model_config.pretrained = False  # the file holds the weights
    try:
        model = build_model(model_config)
    except (KeyError, TypeError, ValueError) as error:
        raise UserError(f"{path}: cannot rebuild its model ({error}); is it from a newer "
                        f"maskdepth? Upgrade, or re-export it") from None
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    broken = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:
        raise UserError(f"{path}: {len(broken)} weight tensor(s) hold NaN or infinity (first: "
                        f"{broken[0]}); its training diverged: use an earlier checkpoint")
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [k for k, v in state.items() if k in expected and expected[k].shape != v.shape]
    if missing or unexpected or shapes:
        raise UserError(f"{path}: weights do not fit variant {model_config.variant!r} (missing "
                        f"{missing[:3]}, unexpected {unexpected[:3]}, other shapes {shapes[:3]})")
    model.load_state_dict(state)
    return model.eval()


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> MaskDepthNet:
    """Rebuild the model from a weights file written by `save_model`, in eval mode, float32."""
    return _safetensors_parts(path)[0].to(device)


def _safetensors_parts(path) -> tuple[MaskDepthNet, list[dict]]:
    """The model and lineage of a .safetensors file (its metadata read once)."""
    metadata = read_metadata(path)
    if CONFIG_KEY not in metadata:
        raise UserError(f"{path}: has no maskdepth model config; was it written by save_model?")
    config = metadata[CONFIG_KEY]  # JSON text, checked by rebuild
    lineage = parse_lineage(metadata.get(LINEAGE_KEY), path)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise UserError(f"{path}: its weights cannot be read ({error}); the file is damaged") from None
    return rebuild(config, state, path), lineage


def _checkpoint_parts(path) -> tuple[MaskDepthNet, list[dict]]:
    """The model and lineage of a training checkpoint from `maskdepth train`."""
    checkpoint = safe_torch_load(path)
    try:
        if not isinstance(checkpoint, dict):
            raise TypeError("not a checkpoint dict")
        stored = checkpoint["maskdepth"]
        config = stored["config"]["model"]
        state = {k[len("model."):]: v for k, v in checkpoint["state_dict"].items()
                 if k.startswith("model.")}
    except (KeyError, TypeError, AttributeError):
        raise UserError(f"{path}: not a maskdepth training checkpoint (no model config and "
                        f"state_dict inside); give one written by `maskdepth train`") from None
    return rebuild(config, state, path), lineage_entries(stored.get("lineage"), path)


def load_weights(path: str | os.PathLike) -> tuple[MaskDepthNet, list[dict]]:
    """The model (float32, eval mode, CPU) and lineage of a training checkpoint (.ckpt) or a
    weights file (.safetensors; any other suffix is read as one): what every PyTorch path loads
    (runtime/loader.py), `maskdepth train --init` starts from and `summary` describes."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such model file; give a .safetensors or .ckpt file")
    if path.suffix.lower() == ".onnx":
        raise UserError(f"{path} is an ONNX file; give the .safetensors or .ckpt it was "
                        f"exported from")
    return _checkpoint_parts(path) if path.suffix.lower() == ".ckpt" else _safetensors_parts(path)


def read_lineage(path: str | os.PathLike) -> list[dict]:
    """The lineage entries stored in a .safetensors file ([] when none were recorded)."""
    return parse_lineage(read_metadata(path).get(LINEAGE_KEY), path)


def safe_torch_load(path: str | os.PathLike) -> dict:
    """A torch checkpoint (.ckpt) read without ever unpickling code: weights_only=True, also when
    TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set (it is ignored for this call) and on torch versions
    whose default is still unsafe. Any failure is a one-line UserError naming the file."""
    saved = os.environ.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - truncated file, refused pickle, not a zip, ...
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"{path}: not a readable maskdepth training checkpoint ({reason})") from None
    finally:
        if saved is not None:
            os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = saved

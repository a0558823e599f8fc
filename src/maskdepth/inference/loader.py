"""The one model loader: every command and the API open model files through `load_model_file`.

    model = load_model_file("model.safetensors")    # weights written by save_model / export
    model = load_model_file("runs/x/checkpoints/last.ckpt")   # a training checkpoint
    model = load_model_file("model.onnx")           # run by ONNX Runtime, called like the others

Each returns something called as `model(image, background) -> {"mask_logits", "depth", ...}`
(see MaskDepthNet.forward). Nothing is unpickled: weights are safetensors, checkpoints are read
with torch.load(weights_only=True), ONNX files by ONNX Runtime.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from maskdepth.errors import UserError
from maskdepth.models.weights import load_weights
from maskdepth.models.zoo import resolve_weights

MODEL_SUFFIXES = (".safetensors", ".ckpt", ".onnx")


def load_model_file(path: str | os.PathLike, device: str | torch.device = "cpu",
                    torch_only: bool = False):
    """Load a model file by its suffix (.safetensors, .ckpt or .onnx); torch_only refuses ONNX
    (for commands that need the PyTorch model, such as export). A shipped model's name (small,
    large) stands for its weights file."""
    path = resolve_weights(path)
    try:
        device = torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {device}: no CUDA GPU is available here; use --device cpu")
    if not path.is_file():
        raise UserError(f"{path}: no such model file; give a {', '.join(MODEL_SUFFIXES)} file")
    if path.suffix.lower() == ".onnx" and not torch_only:  # torch_only: load_weights refuses it
        if device.type != "cpu":
            raise UserError(f"{path}: ONNX files run on the CPU here; use --device cpu")
        from maskdepth.inference.onnx import load_onnx
        return load_onnx(path)
    return load_weights(path)[0].to(device)


def onnx_cache_dir() -> Path:
    """Where ONNX exports of model files are kept: $MASKDEPTH_CACHE, else
    $XDG_CACHE_HOME/maskdepth, else ~/.cache/maskdepth."""
    if os.environ.get("MASKDEPTH_CACHE"):
        return Path(os.environ["MASKDEPTH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "maskdepth"


def load_onnx_of(path: str | os.PathLike):
    """The model file `path` (.safetensors or .ckpt; .onnx as it is) run by ONNX Runtime. The
    export is made once and cached by the file's SHA-256 (see onnx_cache_dir), so the first
    call takes a few seconds and later ones none."""
    from maskdepth.inference.onnx import export_onnx, load_onnx
    from maskdepth.io.atomic import file_digest

    path = resolve_weights(path)
    if path.suffix.lower() == ".onnx":
        return load_model_file(path)
    if not path.is_file():
        raise UserError(f"{path}: no such model file; give a {', '.join(MODEL_SUFFIXES)} file")
    cached = onnx_cache_dir() / f"{file_digest(path)[:20]}.onnx"
    if not cached.is_file():
        model, lineage = load_weights(path)
        try:
            export_onnx(model, cached, lineage=lineage)
        except OSError as error:
            raise UserError(f"cannot write the ONNX export to {cached.parent} ({error.strerror});"
                            f" set MASKDEPTH_CACHE to a writable folder") from None
    return load_onnx(cached)

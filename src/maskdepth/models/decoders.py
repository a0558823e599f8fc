"""Decoders: from the encoder's five feature maps back to input resolution.

A decoder has 4 stages; each upsamples bilinearly x2, concatenates the encoder feature of the
matching stride (skip connection) and applies its conv units. Its output is at stride 2; the
heads upsample the final 1-channel maps to the input size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_unit(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 conv -> batch norm -> ReLU."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


def separable_unit(in_channels: int, out_channels: int) -> nn.Sequential:
    """Depthwise 3x3 conv -> pointwise 1x1 conv -> batch norm -> ReLU (about 9x fewer multiplies)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class Decoder(nn.Module):
    """Upsampling stages with skips, one per encoder feature map but the coarsest.

    encoder_channels: the encoder's channels, fine to coarse (Encoder.channels).
    widths: output channels of the stages (coarse to fine), one fewer than encoder_channels.
    unit: conv_unit or separable_unit; units_per_stage: how many per stage.
    """

    def __init__(self, encoder_channels, widths=(256, 128, 64, 32), unit=conv_unit,
                 units_per_stage: int = 2):
        super().__init__()
        if len(widths) != len(encoder_channels) - 1:
            raise ValueError(f"a decoder for {len(encoder_channels)} feature maps needs "
                             f"{len(encoder_channels) - 1} stage widths, got {widths}")
        skips = list(encoder_channels[:-1])[::-1]  # the finer maps, coarse to fine
        inputs = [encoder_channels[-1], *widths[:-1]]
        self.stages = nn.ModuleList()
        for in_ch, skip_ch, out_ch in zip(inputs, skips, widths):
            units = [unit(in_ch + skip_ch, out_ch)]
            units += [unit(out_ch, out_ch) for _ in range(units_per_stage - 1)]
            self.stages.append(nn.Sequential(*units))
        self.out_channels = widths[-1]

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = features[-1]
        for stage, skip in zip(self.stages, features[-2::-1]):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = stage(torch.cat([x, skip], dim=1))
        return x

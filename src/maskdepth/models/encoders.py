"""Encoders: ImageNet backbones on the (image, background[, difference]) stack.

Contract (the Encoder protocol below, checked for every variant by tests/test_encoders.py):
`encoder(x)` with x (B, in_channels, H, W), H and W multiples of its deepest stride, returns a
list of feature maps, fine to coarse, at `encoder.strides` with `encoder.channels` channels. Each encoder class also owns what its weights expect and where they
come from (as timm's registry entries do):

    mean, std   the RGB normalisation its ImageNet weights were trained with (inputs in [0, 1])
    weights     their source (models/pretrained.py), loaded when built with pretrained=True

Here the torchvision ones; efficientnet_lite.py holds EfficientNet-Lite0.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torchvision
from torch import nn

from maskdepth.models.pretrained import TorchvisionWeights


class Encoder(Protocol):
    """What MaskDepthNet and the decoders rely on: the feature maps' channels and strides (fine
    to coarse; the network pads its input to a multiple of the last), the normalisation the
    weights expect, and a forward giving one map per stride."""

    channels: tuple[int, ...]
    strides: tuple[int, ...]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __call__(self, x: torch.Tensor) -> list[torch.Tensor]: ...


def out_channels(stage: nn.Module) -> int:
    """The channels a stage of convolutions gives: those of its last convolution."""
    convs = [m for m in stage.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(stage).__name__} holds no convolution")
    return convs[-1].out_channels


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def patch_first_conv(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    """A copy of a 3-channel conv taking `in_channels`, keeping the pretrained weights: each new
    channel reuses the weights of channel i % 3, scaled so that the output for an input repeated
    on every channel group equals the original's."""
    new = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                    conv.dilation, conv.groups, conv.bias is not None)
    with torch.no_grad():
        weight = conv.weight[:, [i % conv.in_channels for i in range(in_channels)]]
        new.weight.copy_(weight * conv.in_channels / in_channels)
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    return new


class ResNet18Encoder(nn.Module):
    """torchvision ResNet18 without its classification layer: channels (64, 64, 128, 256, 512),
    read from the stages as built."""

    strides = (2, 4, 8, 16, 32)
    mean, std = IMAGENET_MEAN, IMAGENET_STD
    weights = TorchvisionWeights("ResNet18_Weights.IMAGENET1K_V1")

    def __init__(self, in_channels: int = 6, pretrained: bool = False):
        super().__init__()
        net = torchvision.models.resnet18(weights=None)
        if pretrained:
            net.load_state_dict(self.weights.state_dict())
        net.conv1 = patch_first_conv(net.conv1, in_channels)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu)
        self.layer1 = nn.Sequential(net.maxpool, net.layer1)
        self.layer2, self.layer3, self.layer4 = net.layer2, net.layer3, net.layer4
        self.channels = tuple(out_channels(stage) for stage in (
            self.stem, self.layer1, self.layer2, self.layer3, self.layer4))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = [self.stem(x)]
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            features.append(stage(features[-1]))
        return features


class MobileNetV3SmallEncoder(nn.Module):
    """torchvision MobileNetV3-Small features: channels (16, 16, 24, 48, 576), read from the
    stages as built; ~1M parameters."""

    strides = (2, 4, 8, 16, 32)
    mean, std = IMAGENET_MEAN, IMAGENET_STD
    weights = TorchvisionWeights("MobileNet_V3_Small_Weights.IMAGENET1K_V1")
    # Index of the last block at each stride (2, 4, 8, 16, 32) in torchvision's `features`.
    stage_ends = (0, 1, 3, 8, 12)

    def __init__(self, in_channels: int = 6, pretrained: bool = False):
        super().__init__()
        net = torchvision.models.mobilenet_v3_small(weights=None)
        if pretrained:
            net.load_state_dict(self.weights.state_dict())
        features = net.features
        features[0][0] = patch_first_conv(features[0][0], in_channels)
        starts = (0,) + tuple(end + 1 for end in self.stage_ends[:-1])
        self.stages = nn.ModuleList(
            nn.Sequential(*features[start : end + 1]) for start, end in zip(starts, self.stage_ends))
        self.channels = tuple(out_channels(stage) for stage in self.stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features

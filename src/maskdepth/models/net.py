"""MaskDepthNet: (image, background) -> foreground mask logits and depth in metres."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskdepth.models.config import ModelConfig
from maskdepth.models.decoders import Decoder

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
STRIDE = 32  # the encoder's total downsampling: inputs are padded to a multiple of it


class TwoBranches(nn.Module):
    """Separate decoders for the mask and for depth (the original design)."""

    def __init__(self, mask: Decoder, depth: Decoder):
        super().__init__()
        self.mask, self.depth = mask, depth
        self.channels = (mask.out_channels, depth.out_channels)

    def forward(self, features):
        return self.mask(features), self.depth(features)


class SharedTrunk(nn.Module):
    """One decoder whose features feed both heads (half the decoder cost)."""

    def __init__(self, trunk: Decoder):
        super().__init__()
        self.trunk = trunk
        self.channels = (trunk.out_channels, trunk.out_channels)

    def forward(self, features):
        x = self.trunk(features)
        return x, x


class MaskDepthNet(nn.Module):
    """An encoder on the 6-channel stack, a decoder and 1-channel heads.

    forward(image, background):
        image, background: (B, 3, H, W) float RGB in [0, 1], any H and W (padded internally to a
        multiple of 32, outputs cropped back).
    Returns a dict:
        mask_logits:   (B, 1, H, W) foreground logits (sigmoid > 0.5 = foreground)
        depth:         (B, 1, H, W) z-depth in metres, in (config.min_depth, config.max_depth)
        shadow_logits: (B, 1, H, W) cast-shadow logits, only with config.shadow_head
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, config: ModelConfig):
        super().__init__()
        self.config = config
        self.encoder, self.decoder = encoder, decoder
        mask_channels, depth_channels = decoder.channels
        self.mask_head = nn.Conv2d(mask_channels, 1, 3, padding=1)
        self.depth_head = nn.Conv2d(depth_channels, 1, 3, padding=1)
        self.shadow_head = nn.Conv2d(mask_channels, 1, 3, padding=1) if config.shadow_head else None
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN * 2).view(1, 6, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD * 2).view(1, 6, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor, background: torch.Tensor) -> dict[str, torch.Tensor]:
        if image.shape != background.shape or image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"image and background must both be (B, 3, H, W); got "
                             f"{tuple(image.shape)} and {tuple(background.shape)}")
        height, width = image.shape[-2:]
        x = (torch.cat([image, background], dim=1) - self.mean) / self.std  # (B, 6, H, W)
        pad_h, pad_w = -height % STRIDE, -width % STRIDE
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        mask_features, depth_features = self.decoder(self.encoder(x))
        outputs = {"mask_logits": self._head(self.mask_head, mask_features, x, height, width)}
        raw_depth = self._head(self.depth_head, depth_features, x, height, width)
        low, high = self.config.min_depth, self.config.max_depth
        outputs["depth"] = low + (high - low) * torch.sigmoid(raw_depth)
        if self.shadow_head is not None:
            outputs["shadow_logits"] = self._head(self.shadow_head, mask_features, x, height, width)
        return outputs

    @staticmethod
    def _head(head: nn.Module, features: torch.Tensor, x: torch.Tensor, height: int, width: int):
        """Apply a head at the decoder's stride, upsample to the padded input, crop the padding."""
        out = F.interpolate(head(features), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return out[..., :height, :width]

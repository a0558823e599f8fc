"""MaskDepthNet: (image, background) -> foreground mask logits and depth in metres."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskdepth.models.config import ModelConfig
from maskdepth.models.decoders import Decoder
from maskdepth.models.encoders import Encoder

DIFFERENCE_STD = 0.2  # scale of image - background channels (most pixels near 0, edges +-1)
PRIOR_CENTRE = 2.5  # metres: log(prior / PRIOR_CENTRE) is the prior's channel (rooms: -1.6..1.6)


def input_channels(config: ModelConfig) -> int:
    """Channels the encoder sees: image and background (6), plus their difference (9), plus,
    with config.prior, the scene prior's log depth and where it is known (+2)."""
    return (9 if config.difference else 6) + (2 if config.prior else 0)


def prior_channels(prior: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """The scene prior (B, 1, H, W) metres, 0 = unknown (None: unknown everywhere) -> (B, 2,
    H, W): log(prior / PRIOR_CENTRE) where known (else 0), and 1 where known (else 0)."""
    if prior is None:
        return like.new_zeros((like.shape[0], 2, *like.shape[-2:]))
    known = (prior > 0).to(like.dtype)
    value = torch.log(prior.clamp_min(1e-3) / PRIOR_CENTRE) * known
    return torch.cat([value.to(like.dtype), known], dim=1)


class EdgeRefiner(nn.Module):
    """Full-resolution mask refinement: from the upsampled mask logits and the absolute pixel
    difference (B, 1 + 3, H, W), a residual correction of the logits (B, 1, H, W). The decoder
    works at stride 2; this recovers edges the bilinear upsampling blurs."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(4, channels, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(channels, 1, 3, padding=1))
        nn.init.zeros_(self.body[-1].weight)  # starts as the identity
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, logits: torch.Tensor, difference: torch.Tensor) -> torch.Tensor:
        return logits + self.body(torch.cat([logits, difference.abs()], dim=1))


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
    """An encoder on the 6-channel stack (9 with config.difference: image - background too),
    each image normalised as the encoder's weights expect (encoder.mean, encoder.std), a decoder,
    1-channel heads and, with config.refine, a full-resolution mask edge refiner.

    forward(image, background, prior=None):
        image, background: (B, 3, H, W) float RGB in [0, 1], any H and W (padded internally to a
        multiple of 32, outputs cropped back).
        prior: (B, 1, H, W) the empty scene's depth in metres, 0 = unknown (inference/prior.py);
        seen only with config.prior (None there: unknown everywhere), else ignored.
    Returns a dict:
        mask_logits:   (B, 1, H, W) foreground logits (sigmoid > batch.MASK_THRESHOLD = foreground)
        depth:         (B, 1, H, W) z-depth in metres, in (config.min_depth, config.max_depth)
    """

    def __init__(self, encoder: Encoder, decoder: nn.Module, config: ModelConfig):
        super().__init__()
        self.config = config
        self.encoder, self.decoder = encoder, decoder
        mask_channels, depth_channels = decoder.channels
        self.mask_head = nn.Conv2d(mask_channels, 1, 3, padding=1)
        self.depth_head = nn.Conv2d(depth_channels, 1, 3, padding=1)
        self.refiner = EdgeRefiner(config.refine) if config.refine else None
        mean, std = tuple(encoder.mean) * 2, tuple(encoder.std) * 2  # what its weights expect
        if config.difference:
            mean, std = mean + (0.0,) * 3, std + (DIFFERENCE_STD,) * 3
        if config.prior:
            mean, std = mean + (0.0, 0.0), std + (1.0, 1.0)  # prior_channels are in scale
        channels = input_channels(config)
        self.register_buffer("mean", torch.tensor(mean).view(1, channels, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, channels, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor, background: torch.Tensor,
                prior: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if image.shape != background.shape or image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"image and background must both be (B, 3, H, W); got "
                             f"{tuple(image.shape)} and {tuple(background.shape)}")
        height, width = image.shape[-2:]
        difference = image - background
        stack = [image, background, difference] if self.config.difference else [image, background]
        if self.config.prior:
            stack.append(prior_channels(prior, image))
        x = (torch.cat(stack, dim=1) - self.mean) / self.std  # (B, 6, 9 or 11, H, W)
        stride = self.encoder.strides[-1]  # inputs are padded to a multiple of the deepest stride
        pad_h, pad_w = -height % stride, -width % stride
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        mask_features, depth_features = self.decoder(self.encoder(x))
        mask_logits = self._head(self.mask_head, mask_features, x, height, width)
        if self.refiner is not None:
            mask_logits = self.refiner(mask_logits, difference)
        outputs = {"mask_logits": mask_logits}
        raw_depth = self._head(self.depth_head, depth_features, x, height, width)
        low, high = self.config.min_depth, self.config.max_depth
        outputs["depth"] = low + (high - low) * torch.sigmoid(raw_depth)
        return outputs

    @staticmethod
    def _head(head: nn.Module, features: torch.Tensor, x: torch.Tensor, height: int, width: int):
        """Apply a head at the decoder's stride, upsample to the padded input, crop the padding."""
        out = F.interpolate(head(features), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return out[..., :height, :width]

"""The scene prior as training sees it: the engine's exact empty-scene depth, degraded the ways
a real prior is wrong, so that a network with the prior as an input (ModelConfig.prior) learns
to refine it rather than copy it.

    prior = degrade_prior(batch["background_depth"])    # (B, 1, H, W) metres, 0 = unknown

Per sample, independently: no prior at all (DROP_P: the network alone), else blurred (a depth
model's 224 px output on a larger photo), one scale error for the whole scene (log-normal,
SCALE_SIGMA: a depth model's metric error), quantised to STEP (the built-in model's 7 cm
levels) and, with HOLE_P, holes (a depth camera's). Pixels the engine does not know stay 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DROP_P = 0.2
BLUR_FACTOR = (2, 8)  # the prior is made at 1/factor of the working size, then blown up
SCALE_SIGMA = 0.2  # log scale error: 68 % of scenes within 0.82-1.22 of their true depth
STEP = 0.07  # metres
HOLE_P = 0.3  # share of samples with holes
HOLE_SHARE = (0.02, 0.2)  # of the picture, in blocks of 1/8 of its size


def degrade_prior(depth: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, 1, H, W) exact depth in metres (0 = unknown) -> the same, degraded (module docstring)."""
    batch, _, height, width = depth.shape
    known = depth > 0
    out = torch.empty_like(depth)
    for i in range(batch):
        factor = int(torch.randint(BLUR_FACTOR[0], BLUR_FACTOR[1] + 1, (1,), generator=generator))
        small = F.interpolate(depth[i : i + 1], size=(max(1, height // factor), max(1, width // factor)),
                              mode="area")
        out[i] = F.interpolate(small, size=(height, width), mode="bilinear", align_corners=False)[0]
    scale = torch.exp(torch.randn(batch, 1, 1, 1, generator=generator) * SCALE_SIGMA)
    out = torch.round(out * scale.to(depth) / STEP) * STEP
    blocks = torch.rand(batch, 1, 8, 8, generator=generator)
    share = HOLE_SHARE[0] + (HOLE_SHARE[1] - HOLE_SHARE[0]) * torch.rand(batch, 1, 1, 1, generator=generator)
    holes = (blocks < share) & (torch.rand(batch, 1, 1, 1, generator=generator) < HOLE_P)
    holes = F.interpolate(holes.float(), size=(height, width), mode="nearest") > 0
    dropped = (torch.rand(batch, 1, 1, 1, generator=generator) < DROP_P).to(depth.device)
    keep = known & ~holes.to(depth.device) & ~dropped & (out > 0)
    return torch.where(keep, out, torch.zeros_like(out))

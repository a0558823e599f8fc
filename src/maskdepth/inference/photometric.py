"""Whether a fitted correction of the background is worth using: the photometric error of a
candidate background, and the rule that keeps the background as it is unless a fit clearly
explains the image better (used by background alignment).

On a pair that is already aligned, a fitted warp only resamples the background (a sub-pixel
move blurs its sensor noise) and a colour fit only chases noise; the network, trained on such
pairs, does better with the photo as it is. So a warp or a colour fit is used only when it
leaves at most CLEARLY of the error of doing without it, and a colour fit only when its gains
are ones a change of exposure could give (`plausible_colour`).
"""

from __future__ import annotations

import numpy as np

from maskdepth.inference.colour_fit import sample_stride

# A fit must remove at least 15 % of the photometric error to be used: more than resampling a
# noisy photo removes (a sub-pixel bilinear move averages neighbouring pixels' noise), far less
# than a real camera move or exposure change does (their errors are several times the noise).
CLEARLY = 0.85
# A colour fit is believed only within what a change of exposure and white balance between two
# shots of one scene can do: each channel's gain within 1/3..3 (1.6 stops) and the channels'
# gains within a factor 2 of each other. A fit outside, or at GAIN_RANGE's clamp, was pulled
# by a foreground covering most of the image (the fit assumes it covers less than half).
PLAUSIBLE_GAIN = (1 / 3, 3.0)
PLAUSIBLE_BALANCE = 2.0


def photometric_error(image: np.ndarray, candidate: np.ndarray, valid: np.ndarray | None = None
                      ) -> float:
    """Mean absolute colour difference (0..255 per channel, channels averaged) over the better
    half of colour_fit's sample grid (about FIT_SAMPLES pixels), the other half being the foreground and
    specular changes; (H, W, 3) uint8 arrays, valid (H, W) bool: the pixels that may take part."""
    stride = sample_stride(image.shape)
    difference = np.abs(image[::stride, ::stride].astype(np.int16)
                        - candidate[::stride, ::stride].astype(np.int16)).mean(axis=2)
    if valid is not None:
        difference = difference[valid[::stride, ::stride]]
    difference = difference.reshape(-1)
    if difference.size == 0:
        return 0.0
    return float(np.sort(difference)[: max(1, difference.size // 2)].mean())


def plausible_colour(gain: np.ndarray) -> bool:
    """Whether per-channel gains (3,) could come from an exposure and white-balance change."""
    low, high = PLAUSIBLE_GAIN
    return bool((gain >= low).all() and (gain <= high).all() and gain.max() <= PLAUSIBLE_BALANCE * gain.min())


def clearly_better(fitted_error: float, plain_error: float) -> bool:
    """Whether a fit's error is low enough, against doing without it, to use the fit."""
    return fitted_error < CLEARLY * plain_error

"""The colour fit between two photos of one scene: per-channel gain and bias, robust to the
foreground and to specular changes (used by background alignment).

    gain, bias = fit_gain_bias(image, warped_background, valid)   # image ~ background * gain + bias
"""

from __future__ import annotations

import numpy as np

GAIN_RANGE = (0.2, 5.0)  # the colour gain is clamped to this range
FIT_SAMPLES = 5000  # about this many pixels (a regular grid) take part in the colour fit


def sample_stride(shape) -> int:
    """The step of the regular grid of about FIT_SAMPLES pixels an (H, W, ...) image is sampled on."""
    return max(1, int(np.sqrt(shape[0] * shape[1] / FIT_SAMPLES)))


def fit_gain_bias(image: np.ndarray, warped: np.ndarray, valid: np.ndarray,
                  rounds: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Robust per-channel fit image ~ gain * warped + bias on (H, W, 3) uint8 arrays.

    valid: (H, W) bool, pixels that may take part (not the warp's empty border). Each round
    keeps the 50 % of pixels with the smallest residual and refits. Returns (gain, bias), each
    (3,) float64, bias in 0..255 units; gain clamped to GAIN_RANGE.
    """
    stride = sample_stride(image.shape)
    keep = valid[::stride, ::stride].reshape(-1)
    y = image[::stride, ::stride].reshape(-1, 3)[keep].astype(np.float64)  # (N, 3)
    x = warped[::stride, ::stride].reshape(-1, 3)[keep].astype(np.float64)
    if len(x) < 16:
        return np.ones(3), np.zeros(3)
    chosen = np.ones(len(x), bool)
    for _ in range(rounds + 1):
        gain, bias = _line_fit(x[chosen], y[chosen])
        residual = np.abs(y - (x * gain + bias)).sum(axis=1)  # (N,)
        chosen = residual <= np.median(residual)
    return gain, bias


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares y = gain * x + bias per column of (N, 3) arrays -> ((3,), (3,))."""
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    variance = ((x - x_mean) ** 2).mean(axis=0)
    covariance = ((x - x_mean) * (y - y_mean)).mean(axis=0)
    gain = np.where(variance > 1e-6, covariance / np.maximum(variance, 1e-6), 1.0)
    gain = np.clip(gain, *GAIN_RANGE)
    return gain, y_mean - gain * x_mean

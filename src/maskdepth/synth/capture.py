"""Capture conditions: what differs between a real background photo and the later image.

Each effect picks its own subset of the batch with its own probability (CaptureConfig); scenes
outside the subset get identity parameters, so the pure `apply_capture` treats the whole batch
alike. Images are (B, 3, H, W) float in [0, 1]. `apply_capture` runs the compiled kernel of
kernels/capture.py; `apply_capture_torch` is the same in PyTorch, the definition it is tested against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from maskdepth.synth.config import CaptureConfig
from maskdepth.synth.kernels import capture as capture_kernels
from maskdepth.synth.kernels.compiled import in_threads, kernel_array, thread_pool
from maskdepth.synth.shapes import sample_bilinear, uniform


@dataclass
class CaptureParams:
    """Per-scene capture parameters.

    gain, gamma: (B, 1, 1, 1); white_balance: (B, 3, 1, 1) — image = clip(gain * wb * x ** gamma).
    warp: (B, 2, 3) affine matrix (normalised coordinates) resampling the background;
    misaligned: (B, 1, 1, 1) float, 1 where the warp applies (elsewhere the background stays exact).
    noise: (N, 3, H, W) standard normal noise bank (shared, not copied); noise_ids: (B, 2) int64,
    the image's and the background's entry; sigma: (B, 1, 1, 1) noise std (0 = none); sign:
    (B, 1, 1, 1) +-1 on the background's noise.
    jpeg_quality: (B,) int, 0 = not compressed.
    """

    gain: torch.Tensor
    white_balance: torch.Tensor
    gamma: torch.Tensor
    warp: torch.Tensor
    misaligned: torch.Tensor
    noise: torch.Tensor
    noise_ids: torch.Tensor
    sigma: torch.Tensor
    sign: torch.Tensor
    jpeg_quality: torch.Tensor

    @property
    def image_noise(self) -> torch.Tensor:
        """(B, 3, H, W) the image's noise, scaled."""
        return self.noise[self.noise_ids[:, 0]] * self.sigma

    @property
    def background_noise(self) -> torch.Tensor:
        """(B, 3, H, W) the background's noise, scaled."""
        return self.noise[self.noise_ids[:, 1]] * (self.sigma * self.sign)

    def table(self) -> np.ndarray:
        """(B, capture_kernels.CAPTURE_COLUMNS) float32, the kernel's per-scene numbers."""
        b = self.gain.shape[0]
        exposed = (self.gain != 1) | (self.gamma != 1) | (self.white_balance != 1).any(1, keepdim=True)
        columns = [exposed, self.gain, self.white_balance, self.gamma, self.misaligned,
                   self.warp, self.sigma, self.sign]
        table = torch.cat([c.reshape(b, -1).float() for c in columns], dim=1)
        assert table.shape[1] == capture_kernels.CAPTURE_COLUMNS
        return np.ascontiguousarray(table.numpy())


def _chosen(b: int, p: float, g: torch.Generator) -> torch.Tensor:
    """(B, 1, 1, 1) float, 1 for the scenes that get an effect of probability p."""
    return (torch.rand(b, 1, 1, 1, generator=g) < p).float()


def _warps(b: int, height: int, width: int, cfg: CaptureConfig, g: torch.Generator) -> torch.Tensor:
    """Affine matrices (B, 2, 3): a shift of up to cfg.shift_px (at 160 px wide) and a rotation of
    up to cfg.rotate_deg about the centre."""
    angle = uniform(b, (-cfg.rotate_deg, cfg.rotate_deg), g) * math.pi / 180
    shift = uniform((b, 2), (-cfg.shift_px, cfg.shift_px), g)
    shift = shift * (width / 160) * 2 / torch.tensor([width, height])
    cos, sin = torch.cos(angle), torch.sin(angle)
    return torch.stack([  # rotation in pixel units, written in normalised coordinates
        torch.stack([cos, -sin * height / width, shift[:, 0]], 1),
        torch.stack([sin * width / height, cos, shift[:, 1]], 1),
    ], 1)


def sample_capture(b: int, height: int, width: int, noise_bank: torch.Tensor,
                   cfg: CaptureConfig, g: torch.Generator) -> CaptureParams:
    """Draw capture parameters for b scenes. noise_bank: (N, 3, H, W) standard normal noise,
    drawn once (fresh noise per batch costs more than the rest of the capture together)."""
    exposure = _chosen(b, cfg.exposure_p, g)
    gain = torch.lerp(torch.ones(b, 1, 1, 1), uniform((b, 1, 1, 1), cfg.gain, g), exposure)
    balance = torch.lerp(torch.ones(b, 3, 1, 1), uniform((b, 3, 1, 1), cfg.white_balance, g), exposure)
    gamma = torch.lerp(torch.ones(b, 1, 1, 1), uniform((b, 1, 1, 1), cfg.gamma, g), exposure)
    sigma = uniform((b, 1, 1, 1), cfg.noise_sigma, g) * _chosen(b, cfg.noise_p, g)
    sign = torch.where(torch.rand(b, 1, 1, 1, generator=g) < 0.5, -1.0, 1.0)
    noise_ids = torch.stack([torch.randint(len(noise_bank), (b,), generator=g),
                             torch.randint(len(noise_bank), (b,), generator=g)], dim=1)
    quality = torch.randint(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1, (b,), generator=g)
    quality = quality * _chosen(b, cfg.jpeg_p, g).view(b).long()
    return CaptureParams(gain, balance, gamma, _warps(b, height, width, cfg, g),
                         _chosen(b, cfg.misalign_p, g), noise_bank, noise_ids, sigma, sign, quality)


def to_8bit(images: torch.Tensor) -> torch.Tensor:
    """Round to the 8-bit levels a saved photo has, staying float in [0, 1] (images must be in
    [0, 1]: floor(x + 0.5) rounds them as round() does, at half its cost)."""
    return (images * 255).add_(0.5).floor_().div_(255)


def apply_capture(image: torch.Tensor, background: torch.Tensor,
                  p: CaptureParams) -> tuple[torch.Tensor, torch.Tensor]:
    """Exposure change (image), camera misalignment (background), sensor noise (both), then
    8-bit levels, in the compiled kernel: the same as `apply_capture_torch` to float rounding."""
    image, background = kernel_array(image), kernel_array(background)
    out_image, out_background = np.empty_like(image), np.empty_like(background)
    noise = kernel_array(p.noise)
    # The kernel does not check bounds: sizes must agree here.
    if image.shape != background.shape or noise.shape[1:] != image.shape[1:] or len(p.noise_ids) != len(image):
        raise ValueError(f"apply_capture: image {image.shape}, background {background.shape}, "
                         f"noise bank {noise.shape} and {len(p.noise_ids)} scenes' parameters disagree")
    in_threads(capture_kernels.capture_scenes, len(image), torch.get_num_threads(), image,
               background, p.table(), noise, np.ascontiguousarray(p.noise_ids.numpy()),
               out_image, out_background)
    return torch.from_numpy(out_image), torch.from_numpy(out_background)


def apply_capture_torch(image: torch.Tensor, background: torch.Tensor,
                        p: CaptureParams) -> tuple[torch.Tensor, torch.Tensor]:
    """Exposure change (image), camera misalignment (background), sensor noise (both), then
    8-bit levels. JPEG comes after, in `apply_jpeg` (libjpeg, outside torch). Each effect is
    computed only for the scenes it was drawn for (the others' parameters are the identity)."""
    b = image.shape[0]
    exposed = ((p.gain != 1) | (p.gamma != 1) | (p.white_balance != 1).any(1, keepdim=True))
    exposed = exposed.view(b).nonzero().flatten()
    if len(exposed):
        image = image.clone()
        changed = p.gain[exposed] * p.white_balance[exposed] * image[exposed].clamp(1e-6, 1) ** p.gamma[exposed]
        image[exposed] = changed.clamp(0, 1)
    moved = p.misaligned.view(b).nonzero().flatten()
    if len(moved):
        background = background.clone()
        grid = F.affine_grid(p.warp[moved], [len(moved), *background.shape[1:]], align_corners=False)
        background[moved] = sample_bilinear(background[moved], grid, "reflection")
    image = to_8bit((image + p.image_noise).clamp_(0, 1))
    background = to_8bit((background + p.background_noise).clamp_(0, 1))
    return image, background


def apply_jpeg(images: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """JPEG-compress images (B, 3, H, W) float32 in [0, 1] whose quality (B,) is non-zero,
    through libjpeg, on the shared threads (OpenCV releases the interpreter lock). The chosen images
    are replaced in place: pass a batch nothing else holds (as apply_capture returns)."""
    chosen = quality.nonzero().flatten().tolist()
    array = images.numpy()

    def round_trip(i: int) -> None:
        pixels = np.rint(np.clip(array[i].transpose(1, 2, 0), 0, 1) * 255).astype(np.uint8)
        _, data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, int(quality[i])])
        array[i] = cv2.imdecode(data, cv2.IMREAD_UNCHANGED).transpose(2, 0, 1) / np.float32(255)

    list(thread_pool().map(round_trip, chosen))
    return images

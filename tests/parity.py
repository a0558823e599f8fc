"""One rule for every compiled-kernel / reference pair of the scene engine (rooms, furniture,
capture, photos, lens), written so that it holds on any x86-64 CPU, whatever its vector width.

The kernels (Numba, compiled for the host CPU) and their references (PyTorch float32, OpenCV)
compute the same definitions in another order and at another precision, so they may differ by
float rounding everywhere and by more only where a ray meets a texture seam or an edge exactly.
tests/test_kernel_parity.py runs every test marked `kernel_parity` again with baseline x86-64
code (NUMBA_CPU_NAME=generic, ATEN_CPU_CAPABILITY=default) and with 1 and 2 torch threads.

    assert_same_render(fast, reference)        # rooms, furniture, photos: maps of a clean render
    assert_same_capture(fast, reference)       # images after capture (8-bit levels)
    assert_same_engine_batch(fast, reference)  # whole engine batches: render, lens and capture
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Depth in metres: the reference casts rays in float32 through about a dozen roundings, some
# amplified by a division by a small direction component; 256 float32 ulps of the depth (3e-5
# relative, 0.3 mm at 10 m) leaves four times the largest difference measured (62 ulps).
DEPTH_RTOL = 256 * torch.finfo(torch.float32).eps

# Colours and shadows in [0, 1]: float rounding alone stays far below 1e-4 (9e-6 measured).
COLOUR_ATOL = 1e-4

# Where a ray meets a texture seam or a box's edge exactly, the last bit decides which side's
# texel a pixel shows: such pixels may differ by anything, but they are rare (1 in 2 million
# measured; allowed: 1 in 1,000, and at least 4 per call for one small scene) ...
SEAM_SHARE = 1e-3
SEAM_PIXELS = 4
# ... and each shows the other side: its colour in one render is, within 2/100, the colour the
# other render shows at the pixel or one of its 8 neighbours (0.0007 measured).
SEAM_GAP = 0.02

# After capture every value is an 8-bit level; a value that lands on a rounding boundary may
# round to the neighbouring level (float order of operations), nothing more.
LEVEL = 1 / 255 + 1e-6
LEVEL_SHARE = 1e-3

COLOURS = ("image", "background", "shadow")
DEPTHS = ("depth", "background_depth")


def assert_same_render(fast: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> None:
    """Rendered maps (B, C, H, W) of the same scenes: the same keys, shapes and dtypes; masks
    equal; depths (metres) within DEPTH_RTOL; colours within COLOUR_ATOL except seam pixels."""
    assert set(fast) == set(reference)
    for key, value in fast.items():
        assert value.shape == reference[key].shape, key
        assert value.dtype == reference[key].dtype, key
    if "mask" in fast:
        assert torch.equal(fast["mask"], reference["mask"]), int((fast["mask"] != reference["mask"]).sum())
    for key in DEPTHS:
        if key in fast:
            assert_depth_close(fast[key], reference[key], key)
    for key in COLOURS:
        if key in fast:
            assert_colour_close(fast[key], reference[key], key)


def assert_depth_close(fast: torch.Tensor, reference: torch.Tensor, key: str = "depth") -> None:
    """Depths (metres, any shape) equal to DEPTH_RTOL of the reference's magnitude."""
    gap = (fast.double() - reference.double()).abs()
    bound = DEPTH_RTOL * reference.double().abs().clamp_min(1.0)
    worst = (gap / bound).max().item()
    assert worst <= 1, f"{key}: {worst * DEPTH_RTOL / torch.finfo(torch.float32).eps:.0f} ulps"


def assert_colour_close(fast: torch.Tensor, reference: torch.Tensor, key: str = "image") -> None:
    """Maps (B, C, H, W) in [0, 1]: every pixel within COLOUR_ATOL except at most SEAM_SHARE of
    them (SEAM_PIXELS at least), and each of those a seam pixel (see SEAM_GAP)."""
    off = (fast - reference).abs().amax(dim=1) > COLOUR_ATOL  # (B, H, W)
    allowed = max(SEAM_PIXELS, int(SEAM_SHARE * off.numel()))
    assert int(off.sum()) <= allowed, f"{key}: {int(off.sum())} pixels differ, {allowed} allowed"
    if off.any():
        gap = torch.minimum(_neighbour_gap(fast, reference), _neighbour_gap(reference, fast))
        worst = gap[off].max().item()
        assert worst <= SEAM_GAP, f"{key}: a differing pixel {worst:.4f} away from any neighbour's colour"


def assert_same_capture(fast: torch.Tensor, reference: torch.Tensor) -> None:
    """Captured images (B, 3, H, W) of 8-bit levels: within one level everywhere, and at most
    LEVEL_SHARE of the values on the other level."""
    difference = (fast - reference).abs()
    assert difference.max().item() <= LEVEL, difference.max().item()
    assert (difference > 0).float().mean().item() <= LEVEL_SHARE


def _neighbour_gap(one: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """(B, H, W): how far each pixel of `one` (B, C, H, W) is from the nearest colour `other`
    shows at the same pixel or one of its 8 neighbours (largest channel difference)."""
    b, c, h, w = other.shape
    around = F.pad(other, (1, 1, 1, 1), mode="replicate").unfold(2, 3, 1).unfold(3, 3, 1)
    around = around.reshape(b, c, h, w, 9)  # (B, C, H, W, 9)
    return (one[..., None] - around).abs().amax(dim=1).amin(dim=-1)


def assert_same_engine_batch(fast: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> None:
    """Whole engine batches (render, lens, capture without JPEG): as `assert_same_render`, but
    images after capture within one 8-bit level except seam pixels (at most SEAM_SHARE, at least
    SEAM_PIXELS per call), and at most LEVEL_SHARE of the pixels off at all."""
    plain = {k: v for k, v in fast.items() if k not in ("image", "background")}
    assert_same_render(plain, {k: reference[k] for k in plain})
    for key in ("image", "background"):
        difference = (fast[key] - reference[key]).abs().amax(dim=1)  # (B, H, W)
        beyond = int((difference > LEVEL).sum())
        allowed = max(SEAM_PIXELS, int(SEAM_SHARE * difference.numel()))
        assert beyond <= allowed, f"{key}: {beyond} pixels beyond one level, {allowed} allowed"
        assert (difference > COLOUR_ATOL).float().mean().item() <= LEVEL_SHARE, key

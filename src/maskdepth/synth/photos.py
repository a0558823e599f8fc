"""Cut-outs composed over real background photos: exact masks, unknown depth (0).

This lets training mix the appearance of real rooms (for the mask) with the exact depth of the
synthetic rooms. Placement follows how people frame such shots: the object is 35-95 % of the
frame tall, its bottom usually in the lower half, at least mostly inside the frame.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from maskdepth.errors import UserError
from maskdepth.synth.shapes import contact_shadow, sample_bilinear
from maskdepth.synth.sprites import SpriteBank

PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def load_photos(folder: str | Path, height: int, width: int) -> torch.Tensor:
    """Background photos from `folder`, resized to cover and centre-cropped: (N, 3, H, W) in [0, 1]."""
    from maskdepth.imageio import read_rgb

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    if not files:
        raise UserError(f"no photos ({', '.join(PHOTO_SUFFIXES)}) found in {folder}")
    photos = []
    for path in files:
        rgb = torch.from_numpy(read_rgb(path)).permute(2, 0, 1).float()[None] / 255
        scale = max(height / rgb.shape[2], width / rgb.shape[3])
        size = (max(height, round(rgb.shape[2] * scale)), max(width, round(rgb.shape[3] * scale)))
        rgb = F.interpolate(rgb, size=size, mode="area" if scale < 1 else "bilinear")
        top, left = (size[0] - height) // 2, (size[1] - width) // 2
        photos.append(rgb[0, :, top : top + height, left : left + width])
    return torch.stack(photos)


def compose_on_photos(photos: torch.Tensor, bank: SpriteBank, sprite: torch.Tensor,
                      shadow_strength: torch.Tensor, g: torch.Generator) -> dict[str, torch.Tensor]:
    """Paste sprites (B,) over random photos; returns the engine's sample dict (depth all 0).

    shadow_strength: (B, 1, 1) darkening of a soft shadow: a squashed, sheared copy of the
    cut-out's silhouette on the ground behind it plus a contact shadow at its base.
    """
    b, (h, w) = sprite.shape[0], photos.shape[2:]
    pick = torch.randint(len(photos), (b,), generator=g)
    background = photos[pick]
    flip_bg = torch.rand(b, generator=g) < 0.5
    background = torch.where(flip_bg.view(b, 1, 1, 1), background.flip(-1), background)
    size = bank.size_m[sprite]
    obj_h = (0.35 + 0.6 * torch.rand(b, generator=g)) * h
    obj_w = torch.minimum(obj_h * size[:, 0] / size[:, 1], torch.tensor(1.2 * w))
    x0 = -0.15 * obj_w + (w - 0.7 * obj_w) * torch.rand(b, generator=g)
    bottom = torch.minimum(h * (0.55 + 0.5 * torch.rand(b, generator=g)), obj_h / 0.7)
    flip = torch.where(torch.rand(b, generator=g) < 0.5, -1.0, 1.0).view(b, 1, 1)
    xs = torch.arange(w).view(1, 1, w) + 0.5
    ys = torch.arange(h).view(1, h, 1) + 0.5
    x0, obj_w, obj_h, bottom = (t.view(b, 1, 1) for t in (x0, obj_w, obj_h, bottom))

    def sample(channels: slice, px, py):
        gx = flip * (2 * (px - x0) / obj_w - 1)
        gy = 2 * (py - (bottom - obj_h)) / obj_h - 1
        grid = torch.stack(torch.broadcast_tensors(gx, gy), dim=-1)
        return sample_bilinear(bank.pixels[sprite, channels], grid)

    rgba = sample(slice(0, 4), xs, ys)
    alpha = rgba[:, 3:4]
    squash = 0.15 + 0.3 * torch.rand(b, 1, 1, generator=g)
    shear = -1.0 + 2.0 * torch.rand(b, 1, 1, generator=g)
    behind = (bottom - ys).clamp(min=0)
    cast = sample(slice(5, 6), xs - shear * behind, bottom - behind / squash)[:, 0] * (ys < bottom)
    contact = contact_shadow((xs - x0 - obj_w / 2) / (0.5 * obj_w), (ys - bottom) / (0.04 * obj_h))
    mask = alpha > 0.5
    shadow = shadow_strength * torch.maximum(cast, contact) * ~mask[:, 0]
    shaded = background * (1 - shadow.unsqueeze(1))
    image = shaded + (rgba[:, :3] - shaded) * alpha
    zeros = torch.zeros(b, 1, h, w)
    return {"image": image, "background": background, "mask": mask.float(), "depth": zeros,
            "background_depth": zeros, "shadow": shadow.unsqueeze(1)}

"""Real cut-outs composed over real background photos: exact masks, unknown depth (0).

The original recipe of this task, done with care: one to several RGBA cut-outs pasted over a
photo of the empty scene, at a random scale (small to frame-filling), position (partly out of
frame allowed) and flip, back to front in the order of their foot line (nearer objects stand
lower in the frame and cover the others), alpha-blended edges, a colour and brightness jitter
of each cut-out, and a soft cast shadow that darkens the background but is not foreground.

    compositor = PhotoCompositor("photos/backgrounds", "photos/foregrounds", PhotoConfig())
    batch = compositor.render(batch_size=16, seed=123)   # a maskdepth.batch.Batch

`compose` makes the clean composites; `render` adds the capture conditions of the scene engine
(noise, JPEG, exposure, misaligned background). The scene engine's `--backgrounds` mode and the
`photos` training source both call `compose`; `maskdepth build` writes `render`'s output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from maskdepth.batch import Batch
from maskdepth.errors import UserError
from maskdepth.io.images import IMAGE_SUFFIXES
from maskdepth.synth.capture import apply_capture, apply_jpeg, sample_capture
from maskdepth.synth.config import CaptureConfig
from maskdepth.synth.kernels import photo as photo_kernels
from maskdepth.synth.kernels.compiled import in_threads, kernel_array
from maskdepth.synth.photos.paste import WARP, Paste, cast_shadow, paste_object
from maskdepth.synth.shapes import uniform
from maskdepth.synth.sprites import load_cutouts
from maskdepth.tensors.convert import from_numpy_image


@dataclass
class PhotoConfig:
    """Random ranges of the photo composites. Heights are fractions of the frame height."""

    height: int = 160
    width: int = 160
    objects: tuple[int, int] = (1, 3)  # cut-outs per sample (before empty_p)
    empty_p: float = 0.03  # samples with no cut-out at all (empty mask)
    object_height: tuple[float, float] = (0.2, 1.05)  # small to frame-filling
    min_inside: float = 0.55  # least fraction of an object's width inside the frame
    foot: tuple[float, float] = (0.45, 1.15)  # foot line, fraction of the frame height
    zoom: tuple[float, float] = (0.75, 1.0)  # background crop: fraction of the photo kept
    brightness: tuple[float, float] = (0.75, 1.25)  # cut-out colour jitter
    channel: tuple[float, float] = (0.9, 1.1)  # per-channel factor of the jitter
    saturation: tuple[float, float] = (0.7, 1.3)
    cutout_res: int = 160  # cut-outs are kept at this many pixels per side
    capture: CaptureConfig = field(default_factory=CaptureConfig)


def list_images(folder: str | Path, suffixes=IMAGE_SUFFIXES, what: str = "photos") -> list[Path]:
    """The image files of a folder, sorted; a clear error when it is missing or holds none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder of {what}; pass an existing folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes)
    if not files:
        raise UserError(f"no {what} ({', '.join(suffixes)}) found in {folder}")
    return files


def load_photos(folder: str | Path, height: int, width: int) -> torch.Tensor:
    """Background photos from `folder`, resized to cover and centre-cropped: (N, 3, H, W) in [0, 1]."""
    from maskdepth.io.images import read_rgb

    photos = []
    for path in list_images(folder):
        rgb = from_numpy_image(read_rgb(path))[None]
        scale = max(height / rgb.shape[2], width / rgb.shape[3])
        size = (max(height, round(rgb.shape[2] * scale)), max(width, round(rgb.shape[3] * scale)))
        rgb = F.interpolate(rgb, size=size, mode="area" if scale < 1 else "bilinear")
        top, left = (size[0] - height) // 2, (size[1] - width) // 2
        photos.append(rgb[0, :, top : top + height, left : left + width])
    return torch.stack(photos)


def crop_matrices(zoom: torch.Tensor, flip: torch.Tensor, h: int, w: int,
                  g: torch.Generator) -> np.ndarray:
    """(B, 4) float64 (a, c, d, e) of random crops keeping `zoom` (B,) of each side, mirrored
    where flip (B,): output pixel (j, i) samples the photo at (a j + c, d i + e) pixels, i.e. at
    normalised zoom * (+-x, y) + a random centre that keeps the crop inside the photo."""
    b = zoom.shape[0]
    zoom64 = zoom.double()
    centre = (1 - zoom64).view(b, 1) * (2 * torch.rand(b, 2, generator=g).double() - 1)
    a = zoom64 * torch.where(flip, -1.0, 1.0).double()
    c = a * 0.5 + w / 2 * (1 - a + centre[:, 0]) - 0.5
    e = zoom64 * 0.5 + h / 2 * (1 - zoom64 + centre[:, 1]) - 0.5
    return torch.stack([a, c, zoom64, e], dim=1).numpy()


def crop_photos(photos: torch.Tensor, pick: torch.Tensor, zoom: torch.Tensor, flip: torch.Tensor,
                g: torch.Generator, size: int | None = None) -> torch.Tensor:
    """Random crops of photos[pick] (see `crop_matrices`), resampled bilinearly by OpenCV to the
    photos' size, or to `size` x `size` when given (edges repeated): (B, 3, H, W)."""
    b, (h, w) = pick.shape[0], photos.shape[2:]
    oh, ow = (size, size) if size else (h, w)
    source = photos.permute(0, 2, 3, 1).numpy()
    out = np.empty((b, oh, ow, 3), np.float32)
    kx, ky = w / ow, h / oh  # output pixel j' is pixel (j' + 0.5) * h / oh - 0.5 of the full grid
    for i, (n, (a, c, d, e)) in enumerate(zip(pick.tolist(), crop_matrices(zoom, flip, h, w, g))):
        matrix = np.array([[a * kx, 0, c + a * (kx - 1) / 2], [0, d * ky, e + d * (ky - 1) / 2]])
        cv2.warpAffine(source[n], matrix, (ow, oh), dst=out[i], flags=WARP,
                       borderMode=cv2.BORDER_REPLICATE)
    return torch.from_numpy(out).permute(0, 3, 1, 2)


def texture_crops(folder: str | Path, res: int, g: torch.Generator,
                  surfaces: bool = False) -> torch.Tensor:
    """Texture tiles cut from photos, mirrored half the time: (4 N, 3, res, res) in [0, 1] for
    rooms, (8 N, 3, res, res) for surfaces, N photos.

    Rooms (the default): each whole photo and 3 random crops of 30-80 % of a side, so walls
    and floors may show a room's furniture and corners. Surfaces: 8 crops of 6-20 % of a side
    (a patch of wall, floor, upholstery or wood), cut from the photos at 4x `res` straight to
    `res` (a 160-pixel photo gives such a crop 10-32 pixels of its own: soft patches), so a
    wall near the camera does not look like a room seen from afar."""
    zoom_range, per_photo, side = ((0.06, 0.2), 8, 4 * res) if surfaces else ((0.3, 0.8), 3, 2 * res)
    photos = load_photos(folder, side, side)
    pick = torch.arange(len(photos)).repeat(per_photo)
    zoom = uniform(len(pick), zoom_range, g)
    flip = torch.rand(len(pick), generator=g) < 0.5
    if surfaces:
        return crop_photos(photos, pick, zoom, flip, g, size=res)
    crops = crop_photos(photos, pick, zoom, flip, g)
    return F.interpolate(torch.cat([photos, crops]), size=(res, res), mode="area")


@dataclass
class Placements:
    """Where each of K cut-outs of B samples goes, back to front; every field (B, K), pixels."""

    sprite: torch.Tensor  # index into the cut-out bank
    present: torch.Tensor  # bool
    left: torch.Tensor
    width: torch.Tensor
    height: torch.Tensor
    foot: torch.Tensor  # y of the bottom edge
    flip: torch.Tensor  # -1 mirrored, 1 as is
    shadow: torch.Tensor  # darkening of its cast shadow, 0 = none
    squash: torch.Tensor  # cast shadow height / object height
    shear: torch.Tensor  # lean of the cast shadow
    saturation: torch.Tensor  # colour jitter of the cut-out
    gain: torch.Tensor  # (B, K, 3) colour jitter: brightness x per-channel factor

    def table(self) -> np.ndarray:
        """(B, K, photo_kernels.PASTE_COLUMNS) float64, the kernels' view of the placements."""
        columns = [self.present, *(getattr(self, f) for f in PASTE_FIELDS), *self.gain.unbind(2)]
        table = torch.stack([c.double() for c in columns], dim=2)
        assert table.shape[2] == photo_kernels.PASTE_COLUMNS
        return np.ascontiguousarray(table.numpy())

    def pastes(self, i: int) -> list[tuple[int, Paste]]:
        """(cut-out index, Paste) of the present cut-outs of sample i, back to front."""
        rows = [getattr(self, f)[i].tolist() for f in PASTE_FIELDS]
        sprites, present = self.sprite[i].tolist(), self.present[i].tolist()
        gains = self.gain[i].numpy()
        return [(sprites[k], Paste(*(row[k] for row in rows), gain=gains[k]))
                for k in range(len(sprites)) if present[k]]


PASTE_FIELDS = ("left", "width", "height", "foot", "flip", "shadow", "squash", "shear", "saturation")


class PhotoCompositor:
    """Composites of RGBA cut-outs over background photos (see the module docstring).

    Args:
        backgrounds: folder of photos of empty scenes (JPEG/PNG, any size).
        foregrounds: folder of RGBA cut-outs (PNG with transparency).
        config: random ranges; config.capture sets the capture conditions of `render`.
        seed: fixes the noise bank made at construction.
    """

    def __init__(self, backgrounds: str | Path, foregrounds: str | Path,
                 config: PhotoConfig | None = None, seed: int = 0):
        self.config = cfg = config or PhotoConfig()
        g = torch.Generator().manual_seed(seed)
        self.photos = load_photos(backgrounds, cfg.height, cfg.width)
        self.cutouts = load_cutouts(foregrounds, cfg.cutout_res, g)
        pixels = self.cutouts.pixels.permute(0, 2, 3, 1).contiguous().numpy()  # (N, S, S, 6)
        self._rgba, self._soft_alpha = pixels[..., :4].copy(), pixels[..., 5].copy()
        self._photos = kernel_array(self.photos)
        self.noise_bank = torch.randn(32, 3, cfg.height, cfg.width, generator=g)

    def render(self, batch_size: int, seed: int, background_ids=None, cutout_ids=None,
               flips=None) -> Batch:
        """A batch with capture conditions applied (a Batch with depth 0)."""
        g = torch.Generator().manual_seed(seed)
        batch = self.compose(batch_size, g, background_ids, cutout_ids, flips)
        cfg = self.config
        capture = sample_capture(batch_size, cfg.height, cfg.width, self.noise_bank, cfg.capture, g)
        image, background = apply_capture(batch["image"], batch["background"], capture)
        batch["image"] = apply_jpeg(image, capture.jpeg_quality)
        batch["background"] = apply_jpeg(background, capture.jpeg_quality)
        return batch

    def _draw(self, b: int, g: torch.Generator, background_ids, cutout_ids, flips):
        """The random choices of b composites: photo ids, crop zooms, flips, placements."""
        if background_ids is None:
            background_ids = torch.randint(len(self.photos), (b,), generator=g)
        if flips is None:
            flips = torch.rand(b, generator=g) < 0.5
        return background_ids, uniform(b, self.config.zoom, g), flips

    def compose(self, b: int, g: torch.Generator, background_ids=None, cutout_ids=None,
                flips=None) -> Batch:
        """b clean composites. background_ids, cutout_ids (B,) and flips (B,) bool may fix the
        photo, the first cut-out and the mirroring of each sample (`maskdepth build` enumerates
        them); otherwise they are random. Runs the compiled kernels of kernels/photo.py: the same
        composites as `compose_opencv` to resampling rounding."""
        h, w = self.photos.shape[2:]
        pick, zoom, flips = self._draw(b, g, background_ids, cutout_ids, flips)
        crops = crop_matrices(zoom, flips, h, w, g)
        place = self.place(b, g, cutout_ids, flips)
        image, background = np.empty((b, 3, h, w), np.float32), np.empty((b, 3, h, w), np.float32)
        mask, shadow = np.empty((b, h, w), np.float32), np.empty((b, h, w), np.float32)
        in_threads(photo_kernels.compose_photos, b, torch.get_num_threads(), self._photos,
                   np.ascontiguousarray(pick.numpy()), crops, self._rgba, self._soft_alpha,
                   place.table(), np.ascontiguousarray(place.sprite.numpy()), image, background,
                   mask, shadow)
        zeros = torch.zeros(b, 1, h, w)
        return {"image": torch.from_numpy(image), "background": torch.from_numpy(background),
                "mask": torch.from_numpy(mask)[:, None], "depth": zeros, "background_depth": zeros,
                "shadow": torch.from_numpy(shadow)[:, None]}

    def compose_opencv(self, b: int, g: torch.Generator, background_ids=None, cutout_ids=None,
                       flips=None) -> Batch:
        """`compose` with OpenCV warps and numpy blends, one sample at a time (paste.py): the
        readable definition the kernels are tested against."""
        h, w = self.photos.shape[2:]
        pick, zoom, flips = self._draw(b, g, background_ids, cutout_ids, flips)
        background = crop_photos(self.photos, pick, zoom, flips, g)
        place = self.place(b, g, cutout_ids, flips)
        image = np.empty((b, h, w, 3), np.float32)
        mask, shadow = np.empty((b, h, w), np.float32), np.empty((b, h, w), np.float32)
        for i, photo in enumerate(background.permute(0, 2, 3, 1).numpy()):
            pastes = place.pastes(i)
            lit = np.ones((h, w), np.float32)
            for sprite, paste in pastes:
                cast_shadow(lit, self._soft_alpha[sprite], paste)
            image[i] = photo * lit[..., None]
            cover = np.zeros((h, w), np.float32)
            for sprite, paste in pastes:
                paste_object(image[i], cover, self._rgba[sprite], paste)
            mask[i] = cover > 0.5
            shadow[i] = (1 - lit) * (1 - mask[i])  # a shadow is background
        zeros = torch.zeros(b, 1, h, w)
        return {"image": torch.from_numpy(image).permute(0, 3, 1, 2).clamp(0, 1),
                "background": background, "mask": torch.from_numpy(mask)[:, None],
                "depth": zeros, "background_depth": zeros, "shadow": torch.from_numpy(shadow)[:, None]}

    def place(self, b: int, g: torch.Generator, cutout_ids=None, flips=None) -> Placements:
        """Random placements of up to config.objects[1] cut-outs per sample, sorted back to front
        (by foot line: the lower in the frame, the nearer)."""
        cfg, (h, w) = self.config, self.photos.shape[2:]
        k = cfg.objects[1]
        sprite = torch.randint(len(self.cutouts), (b, k), generator=g)
        if cutout_ids is not None:
            sprite[:, 0] = cutout_ids
        count = torch.randint(cfg.objects[0], k + 1, (b, 1), generator=g)
        count = count * (torch.rand(b, 1, generator=g) >= cfg.empty_p)
        present = torch.arange(k).view(1, k) < count
        height = uniform((b, k), cfg.object_height, g) * h
        # Later objects are smaller on average: a main subject with others around it.
        height[:, 1:] *= uniform((b, k - 1), (0.4, 1.0), g)
        size = self.cutouts.size_m[sprite]  # (B, K, 2) width, height
        width = torch.minimum(height * size[..., 0] / size[..., 1], torch.tensor(1.5 * w))
        out = 1 - cfg.min_inside
        left = -out * width + (w - (1 - 2 * out) * width - out * width) * torch.rand(b, k, generator=g)
        foot = torch.maximum(uniform((b, k), cfg.foot, g) * h, 0.6 * height)
        flip = torch.where(torch.rand(b, k, generator=g) < 0.5, -1.0, 1.0)
        if flips is not None:
            flip[:, 0] = torch.where(flips, -1.0, 1.0)
        has_shadow = torch.rand(b, k, generator=g) < cfg.capture.shadow_p
        shadow = uniform((b, k), cfg.capture.shadow_strength, g) * has_shadow
        squash, shear = uniform((b, k), (0.15, 0.45), g), uniform((b, k), (-1.0, 1.0), g)
        saturation = uniform((b, k), cfg.saturation, g)
        gain = uniform((b, k, 1), cfg.brightness, g) * uniform((b, k, 3), cfg.channel, g)
        order = foot.argsort(dim=1)
        fields = [t.gather(1, order) for t in (sprite, present, left, width, height, foot, flip,
                                               shadow, squash, shear, saturation)]
        return Placements(*fields, gain=gain.gather(1, order[..., None].expand(b, k, 3)))

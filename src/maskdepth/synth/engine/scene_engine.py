"""The scene engine: batches of (image, background, mask, depth, shadow) with exact ground truth.

    from maskdepth.synth import SceneEngine
    batch = SceneEngine(seed=0).render(batch_size=16, seed=123)

A batch is a `maskdepth.batch.Batch` (image, background, mask, depth, shadow and
background_depth; shapes, ranges and units are stated there). The same engine seed and render
seed always give the same batch.
"""

from __future__ import annotations

from pathlib import Path

import torch

from maskdepth.batch import Batch
from maskdepth.errors import UserError
from maskdepth.synth.capture import sample_capture
from maskdepth.synth.config import PHOTO_TEXTURES, SceneConfig
from maskdepth.synth.engine.renderers import make_renderer
from maskdepth.synth.engine.scene import Pickers, sample_rooms
from maskdepth.synth.lens import distort
from maskdepth.synth.photos.compositor import PhotoCompositor, PhotoConfig, texture_crops
from maskdepth.synth.sprites import SpriteBank, furniture, load_cutouts, people
from maskdepth.synth.textures import make_texture_banks

KEYS = ("image", "background", "mask", "depth", "background_depth", "shadow")


class SceneEngine:
    """Renders procedural indoor scenes (and, given photos, cut-outs over real backgrounds).

    Args:
        config: random ranges and capture-condition probabilities.
        seed: fixes the banks of textures, sprites and noise made at construction.
        foregrounds: optional folder of RGBA cut-outs (PNG with transparency), used as upright
            billboards in the rooms and over the photos.
        backgrounds: optional folder of real photos of empty scenes (needs `foregrounds`).
        textures: optional folder of texture photos for floors and walls.
        device: where batches are rendered (see renderers.make_renderer): "cpu" = the compiled
            kernels; "cuda" = the PyTorch definitions on the GPU, batches returned there;
            "auto" = cuda when present. The scenes are the same either way (drawn on the CPU).
    """

    def __init__(self, config: SceneConfig | None = None, seed: int = 0,
                 foregrounds: str | Path | None = None, backgrounds: str | Path | None = None,
                 textures: str | Path | None = None, device: str | torch.device = "cpu"):
        self.config = cfg = config or SceneConfig()
        if backgrounds is not None and foregrounds is None:
            raise UserError("--backgrounds needs --foregrounds: cut-outs to paste over the photos")
        if cfg.photo_textures not in PHOTO_TEXTURES:
            raise UserError(f"photo_textures must be rooms or surfaces, got {cfg.photo_textures!r}")
        g = torch.Generator().manual_seed(seed)
        self.textures = make_texture_banks(cfg.texture_count, cfg.texture_res, g)
        if textures is not None:
            photos = texture_crops(textures, cfg.texture_res, g, surfaces=cfg.photo_textures == "surfaces")
            self.textures.floor = torch.cat([self.textures.floor, photos])
            self.textures.wall = torch.cat([self.textures.wall, photos])
        n = cfg.sprite_count // 2
        banks = [people(n, cfg.sprite_res, g), furniture(n, cfg.sprite_res, g)]
        if foregrounds is not None:
            banks.append(load_cutouts(foregrounds, cfg.sprite_res, g))
        self.sprites = SpriteBank.cat(banks)
        ends = torch.tensor([len(b) for b in banks]).cumsum(0).tolist()
        self.pickers = Pickers(
            people=torch.arange(0, ends[0]),
            furniture=torch.arange(ends[0], ends[1]),
            cutouts=torch.arange(ends[1], ends[2]) if foregrounds is not None else None,
        )
        self.photos = None
        if backgrounds is not None:
            photo_config = PhotoConfig(height=cfg.height, width=cfg.width, capture=cfg.capture)
            self.photos = PhotoCompositor(backgrounds, foregrounds, photo_config, seed=seed)
        self.noise_bank = torch.randn(32, 3, cfg.height, cfg.width, generator=g)
        self.renderer = make_renderer(device)
        self.renderer.share(self.textures.floor, self.textures.wall, self.textures.ceiling,
                            self.sprites.pixels, self.noise_bank)

    def render(self, batch_size: int, seed: int) -> Batch:
        """Render one batch; see the module docstring for its contents."""
        cfg, g = self.config, torch.Generator().manual_seed(seed)
        scenes = sample_rooms(batch_size, cfg, self.textures, self.sprites, self.pickers, g)
        batch = distort(self.renderer.rooms(scenes, cfg.height, cfg.width), scenes.rays.distortion)
        if self.photos is not None:
            batch = self._replace_with_photos(batch, g)
        capture = sample_capture(batch_size, cfg.height, cfg.width, self.noise_bank, cfg.capture, g)
        image, background = self.renderer.capture(batch["image"], batch["background"], capture)
        batch["image"] = self.renderer.jpeg(image, capture.jpeg_quality)
        batch["background"] = self.renderer.jpeg(background, capture.jpeg_quality)
        return batch

    def _replace_with_photos(self, batch: dict, g: torch.Generator) -> dict:
        """Swap a share (config.photo_p) of the scenes for cut-outs composed over real photos."""
        b = batch["image"].shape[0]
        chosen = (torch.rand(b, generator=g) < self.config.photo_p).nonzero().flatten()
        if len(chosen) == 0:
            return batch
        photo = self.photos.compose(len(chosen), g)
        batch = {k: v.clone() for k, v in batch.items()}
        for key in KEYS:
            batch[key][chosen.to(batch[key].device)] = photo[key].to(batch[key].device)
        return batch

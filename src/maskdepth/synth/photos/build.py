"""The original dataset generator, done as a resumable export: every background photo x every
cut-out x 2 flips x `placements` random placements, composed by the same PhotoCompositor that
the `photos` training source uses (100 x 100 photos x 2 x 20 = the original 400,000 samples).

    render = build_renderer(compositor, count=1000, placements=20, seed=0, batch_size=64)
    export_dataset(render, "dataset", 1000, 64)

Sample i is a fixed (background, cut-out, flip) of a seeded shuffle of all combinations, so a
build of any size mixes every photo evenly, and the same seed always gives the same samples.
"""

from __future__ import annotations

import torch

from maskdepth.synth.photos.compositor import PhotoCompositor
from maskdepth.synth.stream import batch_seed


def combinations(backgrounds: int, cutouts: int, placements: int) -> int:
    """How many distinct (background, cut-out, flip, placement) samples a build enumerates."""
    return backgrounds * cutouts * 2 * placements


def build_plan(backgrounds: int, cutouts: int, count: int, placements: int, seed: int) -> torch.Tensor:
    """(count, 3) long rows (background index, cut-out index, flip 0/1) in a seeded shuffle of
    all combinations; past their number the shuffle repeats (with new placements)."""
    total = combinations(backgrounds, cutouts, placements)
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
    index = order[torch.arange(count) % total]
    return torch.stack([index % backgrounds, index // backgrounds % cutouts,
                        index // (backgrounds * cutouts) % 2], dim=1)


def build_renderer(compositor: PhotoCompositor, count: int, placements: int, seed: int,
                   batch_size: int):
    """render(k) for `export_dataset`: batch k of the build's samples (the last batch is padded
    to `batch_size` with samples that the export drops)."""
    plan = build_plan(len(compositor.photos), len(compositor.cutouts), count, placements, seed)

    def render(k: int) -> dict[str, torch.Tensor]:
        rows = plan[(torch.arange(batch_size) + k * batch_size) % count]
        return compositor.render(batch_size, batch_seed(seed, k), background_ids=rows[:, 0],
                                 cutout_ids=rows[:, 1], flips=rows[:, 2].bool())

    return render

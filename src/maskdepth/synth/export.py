"""Write scene-engine batches to disk in the dataset layout (see layout.py).

Batches are rendered by torch (all cores), then their PNG files are encoded by a thread pool
(OpenCV releases the GIL). Per scene: images/ID.png, backgrounds/ID.png, masks/ID.png,
depth/ID.png (16-bit mm; left out for photo scenes, whose depth is unknown) and, where the
scene has a shadow, shadows/ID.png. The manifest is written last, atomically: an interrupted
export leaves no manifest that points at missing files, and a journal of the finished batches
(io/journal.py) from which the same command resumes; the loop is io/dataset_writer.py's.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from maskdepth.io import images as imageio
from maskdepth.io.dataset_writer import write_dataset
from maskdepth.io.layout import SHADOW_DIR
from maskdepth.synth.stream import batch_seed
from maskdepth.tensors.convert import to_numpy_rgb


def write_scene(folder: Path, scene_id: str, scene: dict) -> dict[str, str]:
    """Write one scene's files (an item of `split_scenes`) under `folder`: images/, backgrounds/
    and masks/ID.png, and depth/ and shadows/ID.png where the scene has any; returns its manifest
    row (paths relative to folder)."""
    row = {"id": scene_id, "image": f"images/{scene_id}.png",
           "background": f"backgrounds/{scene_id}.png", "mask": f"masks/{scene_id}.png", "depth": ""}
    imageio.write_rgb(folder / row["image"], scene["image"])
    imageio.write_rgb(folder / row["background"], scene["background"])
    imageio.write_mask(folder / row["mask"], scene["mask"])
    if scene["depth"].any():
        row["depth"] = f"depth/{scene_id}.png"
        imageio.write_depth(folder / row["depth"], scene["depth"])
    if scene["shadow"].any():
        imageio.write_shadow(folder / SHADOW_DIR / f"{scene_id}.png", scene["shadow"])
    return row


def split_scenes(batch: dict) -> list[dict[str, np.ndarray]]:
    """Split a batch (the engine's dict of (B, C, H, W) CPU tensors) into per-scene numpy arrays
    ready for `write_scene`: image and background (H, W, 3) uint8, mask (H, W) bool, depth
    (H, W) metres, shadow (H, W) with values under half an 8-bit level set to 0."""
    out = []
    for i in range(batch["image"].shape[0]):
        shadow = batch["shadow"][i, 0].numpy()
        out.append({
            "image": to_numpy_rgb(batch["image"][i]),
            "background": to_numpy_rgb(batch["background"][i]),
            "mask": batch["mask"][i, 0].numpy() > 0.5,
            "depth": batch["depth"][i, 0].numpy(),
            "shadow": np.where(shadow >= 0.5 / 255, shadow, 0),
        })
    return out


def seeded(renderer, seed: int, batch_size: int):
    """render(k) for `export_dataset`: batch k of `renderer` (a SceneEngine or PhotoCompositor)
    rendered with the seed batch_seed(seed, k)."""
    return lambda k: renderer.render(batch_size, batch_seed(seed, k))


def export_dataset(render, folder: str | Path, count: int, batch_size: int = 64,
                   settings: dict | None = None, workers: int = 2, progress: bool = True,
                   desc: str = "synth") -> Path:
    """Write `count` samples into `folder` in the dataset layout; returns the manifest's path.

    render(k): batch k (a dict as made by the scene engine) of `batch_size` samples; batch k
    must always be the same. Ids are 000000, 000001, ... in render order. Resumable: each
    finished batch is noted in a journal, so re-running an interrupted export with the same
    `settings` (a JSON-able dict) renders only the batches it lacks, and the result equals an
    uninterrupted export. The manifest is written last, atomically.
    """
    settings = {"count": count, "batch_size": batch_size, **(settings or {})}
    sizes = [min(batch_size, count - first) for first in range(0, count, batch_size)]
    with ThreadPoolExecutor(max_workers=workers) as pool:

        def write_batch(k: int) -> list[dict[str, str]]:
            n, first = sizes[k], k * batch_size
            # Always render whole batches (one shape for a compiled renderer); keep n scenes.
            scenes = split_scenes(render(k))[:n]
            # Write the batch before rendering the next: overlapping the two makes torch's
            # worker threads and the writers fight over the cores, which is slower in all.
            ids = [f"{first + i:06d}" for i in range(n)]
            return list(pool.map(write_scene, [Path(folder)] * n, ids, scenes))

        return write_dataset(folder, settings, "export", sizes, write_batch, progress=progress,
                             desc=desc)

"""Write scene-engine batches to disk in the dataset layout (see layout.py).

Batches are rendered by torch (all cores), then their PNG files are encoded by a thread pool
(OpenCV releases the GIL). Per scene: images/ID.png, backgrounds/ID.png, masks/ID.png,
depth/ID.png (16-bit mm; left out for photo scenes, whose depth is unknown) and, where the
scene has a shadow, shadows/ID.png. The manifest is written last, atomically: an interrupted
export leaves no manifest that points at missing files.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from maskdepth import imageio
from maskdepth.layout import SHADOW_DIR, write_manifest
from maskdepth.synth.engine import SceneEngine
from maskdepth.synth.stream import batch_seed
from maskdepth.viz import to_numpy_rgb


def _write_scene(folder: Path, scene_id: str, scene: dict) -> dict[str, str]:
    """Write one scene's files; returns its manifest row (paths relative to folder)."""
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


def _scenes(batch: dict) -> list[dict[str, np.ndarray]]:
    """Split a batch into per-scene numpy arrays ready to write."""
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


def export_dataset(engine: SceneEngine, folder: str | Path, count: int, seed: int = 0,
                   batch_size: int = 64, workers: int = 2, progress: bool = True) -> Path:
    """Render `count` scenes with `seed` and write them as a dataset into `folder`.

    Returns the manifest's path. Scene ids are 000000, 000001, ... in render order; the same
    engine, seed and batch size give the same files.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list = []
    with ThreadPoolExecutor(max_workers=workers) as pool, \
            tqdm(total=count, unit="scene", disable=not progress, desc="synth") as bar:
        for k, first in enumerate(range(0, count, batch_size)):
            n = min(batch_size, count - first)
            # Always render whole batches (one shape for a compiled renderer); keep n scenes.
            scenes = _scenes(engine.render(batch_size, batch_seed(seed, k)))[:n]
            # Write the batch before rendering the next: overlapping the two makes torch's
            # worker threads and the writers fight over the cores, which is slower in all.
            ids = [f"{first + i:06d}" for i in range(n)]
            rows.extend(pool.map(_write_scene, [folder] * n, ids, scenes))
            bar.update(n)
    return write_manifest(folder, rows)

"""Write scene-engine batches to disk in the dataset layout (see layout.py).

Batches are rendered by torch (all cores), then their PNG files are encoded by a thread pool
(OpenCV releases the GIL). Per scene: images/ID.png, backgrounds/ID.png, masks/ID.png,
depth/ID.png (16-bit mm; left out for photo scenes, whose depth is unknown) and, where the
scene has a shadow, shadows/ID.png. The manifest is written last, atomically: an interrupted
export leaves no manifest that points at missing files, and a journal of the finished batches
from which the same command resumes.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from maskdepth.errors import UserError
from maskdepth.io import images as imageio
from maskdepth.io.layout import SHADOW_DIR, write_manifest
from maskdepth.io.tensors import to_numpy_rgb
from maskdepth.synth.stream import batch_seed


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


def seeded(renderer, seed: int, batch_size: int):
    """render(k) for `export_dataset`: batch k of `renderer` (a SceneEngine or PhotoCompositor)
    rendered with the seed batch_seed(seed, k)."""
    return lambda k: renderer.render(batch_size, batch_seed(seed, k))


JOURNAL_NAME = ".maskdepth-progress.jsonl"  # removed once the manifest is written


def _open_journal(folder: Path, settings: dict) -> tuple[dict[int, list], object]:
    """The batches already written by an interrupted export with the same settings (batch index
    -> manifest rows) and the journal opened for appending. A folder that holds other files but
    no journal, or a journal of other settings, is refused: nothing is overwritten."""
    journal = folder / JOURNAL_NAME
    done: dict[int, list] = {}
    if journal.exists():
        lines = journal.read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0]) if lines else {}
        if header.get("settings") != settings:
            raise UserError(f"{folder} holds an interrupted export with other settings "
                            f"({header.get('settings')}); re-run with those settings to finish "
                            f"it, or choose a new --out")
        for line in lines[1:]:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # the line being written when the export stopped
                break
            done[entry["batch"]] = entry["rows"]
        return done, journal.open("a", encoding="utf-8")
    if folder.exists() and any(folder.iterdir()):
        raise UserError(f"{folder} is not empty; choose a new --out (an export never mixes "
                        f"its files with others)")
    folder.mkdir(parents=True, exist_ok=True)
    handle = journal.open("w", encoding="utf-8")
    handle.write(json.dumps({"settings": settings}) + "\n")
    handle.flush()
    return done, handle


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
    folder = Path(folder)
    settings = {"count": count, "batch_size": batch_size, **(settings or {})}
    done, journal = _open_journal(folder, settings)
    starts = range(0, count, batch_size)
    try:
        with journal, ThreadPoolExecutor(max_workers=workers) as pool, \
                tqdm(total=count, unit="sample", disable=not progress, desc=desc) as bar:
            bar.update(sum(len(rows) for rows in done.values()))
            for k, first in enumerate(starts):
                if k in done:
                    continue
                n = min(batch_size, count - first)
                # Always render whole batches (one shape for a compiled renderer); keep n scenes.
                scenes = _scenes(render(k))[:n]
                # Write the batch before rendering the next: overlapping the two makes torch's
                # worker threads and the writers fight over the cores, which is slower in all.
                ids = [f"{first + i:06d}" for i in range(n)]
                done[k] = list(pool.map(_write_scene, [folder] * n, ids, scenes))
                journal.write(json.dumps({"batch": k, "rows": done[k]}) + "\n")
                journal.flush()
                bar.update(n)
    except OSError as error:
        raise UserError(f"{folder}: could not write the dataset ({error}); free space or fix "
                        f"permissions, then run the same command again to resume") from error
    manifest = write_manifest(folder, [row for k in range(len(starts)) for row in done[k]])
    (folder / JOURNAL_NAME).unlink()
    return manifest

"""Writing predictions for people and tools: per input, `<name>_mask.png` (0/255),
`<name>_depth.png` (16-bit mm), `<name>_depth_color.png` and `<name>_view.png` (image | mask
overlay | colour depth side by side); for video, the same per frame plus `<stem>_view.mp4`.

Every writer notes each finished batch in a progress journal (io/journal.py) and skips the
batches a resumed journal already holds, so a run killed at any moment and resumed writes the
same files as an uninterrupted one. Views are drawn from the depth as written (whole
millimetres), so a resumed video can redraw its finished frames from their PNGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from maskdepth.errors import UserError
from maskdepth.inference.api import MaskDepth, Prediction, to_rgb_array
from maskdepth.io import images as imageio
from maskdepth.io.journal import Journal
from maskdepth.io.layout import prediction_paths
from maskdepth.io.viz import colorize_depth, overlay_mask

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def side_by_side(image: np.ndarray, prediction: Prediction) -> np.ndarray:
    """(H, 3W, 3) uint8: the image, the mask over it, the colour depth (as written, in mm)."""
    colour = colorize_depth(imageio.as_written(prediction.depth))
    return np.concatenate([image, overlay_mask(image, prediction.mask), colour], axis=1)


def write_prediction(out: Path, name: str, image: np.ndarray, prediction: Prediction,
                     views: bool = True) -> None:
    mask_path, depth_path = prediction_paths(out, name)
    imageio.write_mask(mask_path, prediction.mask)
    imageio.write_depth(depth_path, prediction.depth)
    if views:
        colour = colorize_depth(imageio.as_written(prediction.depth))
        imageio.write_rgb(out / f"{name}_depth_color.png", colour)
        imageio.write_rgb(out / f"{name}_view.png", side_by_side(image, prediction))


def predict_pair(model: MaskDepth, image: Path, background: Path, out: Path, align: bool,
                 journal: Journal) -> int:
    """Returns the number of predictions written by this call (0 when resumed after it)."""
    if 0 in journal.done:
        return 0
    rgb = to_rgb_array(image)
    write_prediction(out, image.stem, rgb, model.predict(rgb, background, align=align))
    journal.record(0)
    return 1


def _batched(model, names, load, out, align, batch_size, views, journal: Journal) -> int:
    """Predict and write batch after batch, skipping those the journal holds; load(i) gives
    input i as (image, background) arrays. Returns the number of predictions written by this
    call."""
    written = 0
    with tqdm(total=len(names), unit="image", desc="predict") as bar:
        for k, start in enumerate(range(0, len(names), batch_size)):
            indices = range(start, min(start + batch_size, len(names)))
            if k in journal.done:
                bar.update(len(indices))
                continue
            pairs = [load(i) for i in indices]
            rgbs = [rgb for rgb, _ in pairs]
            predictions = model.predict(rgbs, [background for _, background in pairs], align=align)
            for i, rgb, prediction in zip(indices, rgbs, predictions):
                write_prediction(out, names[i], rgb, prediction, views)
            journal.record(k)
            written += len(indices)
            bar.update(len(indices))
    return written


def predict_manifest(model: MaskDepth, data: Path, out: Path, align: bool, batch_size: int,
                     journal: Journal) -> int:
    """Predictions in the layout's prediction format (<out>/<id>_mask.png, <id>_depth.png) for
    a dataset folder or a folder of the original archives."""
    from maskdepth.data.manifest import open_dataset

    dataset = open_dataset(data)
    return _batched(model, dataset.ids, dataset.pair, out, align, batch_size, False, journal)


def predict_folder(model: MaskDepth, folder: Path, background: Path, out: Path, align: bool,
                   batch_size: int, journal: Journal) -> int:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    stems: dict[str, list[str]] = {}
    for path in files:
        stems.setdefault(path.stem, []).append(path.name)
    clashes = [" and ".join(names) for names in stems.values() if len(names) > 1]
    if clashes:
        raise UserError(f"{folder}: {'; '.join(clashes[:5])} would write the same output files; "
                        f"rename them so that no two images share a name before the suffix")
    shared = to_rgb_array(background)
    return _batched(model, [p.stem for p in files], lambda i: (to_rgb_array(files[i]), shared),
                    out, align, batch_size, True, journal)


def predict_video(model: MaskDepth, video: Path, background: Path | None, out: Path, align: bool,
                  batch_size: int, max_frames: int | None, journal: Journal) -> int:
    """Every frame: mask and depth PNGs in <out>/<stem>_frames/, and <out>/<stem>_view.mp4.
    Without a background photo, the clean plate is the temporal median of a sample of the
    video's frames (<out>/<stem>_clean_plate.png). Resumed, the finished batches' frames are
    redrawn into the mp4 from their PNGs instead of being predicted again. Returns the number
    of frames predicted by this call."""
    from maskdepth.io.video import VideoWriter, clean_plate, read_frames, video_info

    fps, count, _, _ = video_info(video)
    plate_path = out / f"{video.stem}_clean_plate.png"
    if background is not None:
        plate = to_rgb_array(background)
    elif journal.done and plate_path.is_file():
        plate = imageio.read_rgb(plate_path)  # lossless: the plate the finished frames used
    else:
        plate = clean_plate(read_frames(video, max_frames))  # streamed: bounded memory
        imageio.write_rgb(plate_path, plate)
    frames_dir = out / f"{video.stem}_frames"
    predicted = 0
    total = min(count, max_frames) if max_frames else count
    with VideoWriter(out / f"{video.stem}_view.mp4", fps or 25.0) as writer, \
            tqdm(total=total or None, unit="frame", desc="predict") as bar:
        batch: list[np.ndarray] = []
        first = 0
        for frame in read_frames(video, max_frames):
            batch.append(frame)
            if len(batch) == batch_size:
                predicted += _video_batch(model, batch, first, plate, align, frames_dir, writer,
                                          journal)
                first += len(batch)
                bar.update(len(batch))
                batch = []
        if batch:
            predicted += _video_batch(model, batch, first, plate, align, frames_dir, writer,
                                      journal)
            bar.update(len(batch))
    return predicted


def _video_batch(model, frames, first, plate, align, frames_dir, writer, journal) -> int:
    """Frames `first`, `first + 1`, ...: predicted and written, or read back when the journal
    holds their batch; drawn into the view video either way. Returns how many were predicted."""
    names = [f"{first + i:06d}" for i in range(len(frames))]
    if first in journal.done:  # the journal's key for a video batch: its first frame
        for frame, name in zip(frames, names):
            mask_path, depth_path = prediction_paths(frames_dir, name)
            done = Prediction(imageio.read_mask(mask_path), np.zeros(0, np.float32),
                              imageio.read_depth(depth_path))
            writer.write(side_by_side(frame, done))
        return 0
    for frame, name, prediction in zip(frames, names, model.predict(frames, plate, align=align)):
        write_prediction(frames_dir, name, frame, prediction, views=False)
        writer.write(side_by_side(frame, prediction))
    journal.record(first)
    return len(frames)

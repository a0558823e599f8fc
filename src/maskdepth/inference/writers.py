"""Writing predictions for people and tools: per input, `<name>_mask.png` (0/255),
`<name>_depth.png` (16-bit mm), `<name>_depth_color.png` and `<name>_view.png` (image | mask
overlay | colour depth side by side); for video, the same per frame plus `<stem>_view.mp4`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from maskdepth.errors import UserError
from maskdepth.inference.api import MaskDepth, Prediction, to_rgb_array
from maskdepth.io import images as imageio
from maskdepth.io.layout import prediction_paths
from maskdepth.io.validate import check
from maskdepth.io.viz import colorize_depth, overlay_mask

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def side_by_side(image: np.ndarray, prediction: Prediction) -> np.ndarray:
    """(H, 3W, 3) uint8: the image, the mask over it, the colour depth."""
    colour = colorize_depth(prediction.depth)
    return np.concatenate([image, overlay_mask(image, prediction.mask), colour], axis=1)


def write_prediction(out: Path, name: str, image: np.ndarray, prediction: Prediction,
                     views: bool = True) -> None:
    mask_path, depth_path = prediction_paths(out, name)
    imageio.write_mask(mask_path, prediction.mask)
    imageio.write_depth(depth_path, prediction.depth)
    if views:
        imageio.write_rgb(out / f"{name}_depth_color.png", colorize_depth(prediction.depth))
        imageio.write_rgb(out / f"{name}_view.png", side_by_side(image, prediction))


def predict_pair(model: MaskDepth, image: Path, background: Path, out: Path, align: bool) -> int:
    rgb = to_rgb_array(image)
    write_prediction(out, image.stem, rgb, model.predict(rgb, background, align=align))
    return 1


def _batched(model, names, images, backgrounds, out, align, batch_size, views) -> int:
    with tqdm(total=len(names), unit="image", desc="predict") as bar:
        for start in range(0, len(names), batch_size):
            chunk = slice(start, start + batch_size)
            rgbs = [to_rgb_array(i) for i in images[chunk]]
            for name, rgb, prediction in zip(names[chunk], rgbs,
                                             model.predict(rgbs, backgrounds[chunk], align=align)):
                write_prediction(out, name, rgb, prediction, views)
            bar.update(len(rgbs))
    return len(names)


def predict_manifest(model: MaskDepth, data: Path, out: Path, align: bool, batch_size: int) -> int:
    """Predictions in the layout's prediction format (<out>/<id>_mask.png, <id>_depth.png)."""
    samples = check(data)
    return _batched(model, [s.id for s in samples], [s.image for s in samples],
                    [s.background for s in samples], out, align, batch_size, views=False)


def predict_folder(model: MaskDepth, folder: Path, background: Path, out: Path, align: bool,
                   batch_size: int) -> int:
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
    return _batched(model, [p.stem for p in files], files, [shared] * len(files), out, align,
                    batch_size, views=True)


def predict_video(model: MaskDepth, video: Path, background: Path | None, out: Path, align: bool,
                  batch_size: int, max_frames: int | None) -> int:
    """Every frame: mask and depth PNGs in <out>/<stem>_frames/, and <out>/<stem>_view.mp4.
    Without a background photo, the clean plate is the temporal median of the video's frames."""
    from maskdepth.io.video import VideoWriter, clean_plate, read_frames, video_info

    fps, count, _, _ = video_info(video)
    if background is not None:
        plate = to_rgb_array(background)
    else:
        plate = clean_plate(read_frames(video, max_frames))  # streamed: bounded memory
        imageio.write_rgb(out / f"{video.stem}_clean_plate.png", plate)
    frames_dir = out / f"{video.stem}_frames"
    written = 0
    total = min(count, max_frames) if max_frames else count
    with VideoWriter(out / f"{video.stem}_view.mp4", fps or 25.0) as writer, \
            tqdm(total=total or None, unit="frame", desc="predict") as bar:
        batch: list[np.ndarray] = []
        for frame in read_frames(video, max_frames):
            batch.append(frame)
            if len(batch) == batch_size:
                written = _video_batch(model, batch, plate, align, frames_dir, writer, written, bar)
                batch = []
        if batch:
            written = _video_batch(model, batch, plate, align, frames_dir, writer, written, bar)
    return written


def _video_batch(model, frames, plate, align, frames_dir, writer, written, bar) -> int:
    for frame, prediction in zip(frames, model.predict(frames, plate, align=align)):
        write_prediction(frames_dir, f"{written:06d}", frame, prediction, views=False)
        writer.write(side_by_side(frame, prediction))
        written += 1
        bar.update()
    return written

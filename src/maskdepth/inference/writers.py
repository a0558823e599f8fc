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
from maskdepth.io.images import IMAGE_SUFFIXES
from maskdepth.io.journal import Journal
from maskdepth.io.layout import prediction_paths
from maskdepth.io.viz import colorize_depth, overlay_mask


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


def write_cdnet(out: Path, name: str, image: np.ndarray, prediction: Prediction) -> None:
    """The mask as CDnet-2014 results name it: input `inNNNNNN` -> <out>/binNNNNNN.png (0/255)."""
    imageio.write_mask(out / f"bin{name[2:]}.png", prediction.mask)


def _batched(model, names, load, out, align, batch_size, views, journal: Journal,
             write=write_prediction) -> int:
    """Predict and write batch after batch, skipping those the journal holds; load(i) gives
    input i as (image, background) arrays; write(out, name, image, prediction[, views]) writes
    one. Returns the number of predictions written by this call."""
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
                if write is write_prediction:
                    write(out, names[i], rgb, prediction, views)
                else:
                    write(out, names[i], rgb, prediction)
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
                   batch_size: int, journal: Journal, cdnet: bool = False) -> int:
    """Every image of `folder` against one background. cdnet: the folder holds a CDnet video's
    frames (inNNNNNN.jpg), and only their masks are written, as binNNNNNN.png."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    if cdnet:
        odd = [p.name for p in files if not (p.stem.startswith("in") and p.stem[2:].isdigit())]
        if odd:
            raise UserError(f"{folder}: --cdnet needs frames named inNNNNNN (CDnet's input/ "
                            f"folder); {', '.join(odd[:3])} are not")
    stems: dict[str, list[str]] = {}
    for path in files:
        stems.setdefault(path.stem, []).append(path.name)
    clashes = [" and ".join(names) for names in stems.values() if len(names) > 1]
    if clashes:
        raise UserError(f"{folder}: {'; '.join(clashes[:5])} would write the same output files; "
                        f"rename them so that no two images share a name before the suffix")
    shared = to_rgb_array(background)
    return _batched(model, [p.stem for p in files], lambda i: (to_rgb_array(files[i]), shared),
                    out, align, batch_size, True, journal, write_cdnet if cdnet else write_prediction)


def predict_video(model: MaskDepth, video, background: Path | None, out: Path, align: bool,
                  batch_size: int, max_frames: int | None, journal: Journal,
                  stem: str | None = None, on_batch=None, frame_files: bool = True,
                  steady: bool = True) -> int:
    """Every frame: mask and depth PNGs in <out>/<stem>_frames/, and <out>/<stem>_view.mp4.

    video: a file, or an opened `read_frames`-like source with `frames()` and `fps` (a camera).
    Without a background photo, the clean plate is the temporal median of a sample of the
    video's frames (<out>/<stem>_clean_plate.png). With `align`, the background is aligned once
    and checked again every REALIGN_EVERY frames (a static camera; see inference/static.py).
    Decoding runs a batch ahead in a thread and the files are written by another while the
    model runs. Resumed, the finished batches' frames are redrawn into the mp4 from their PNGs
    instead of being predicted again. frame_files False writes only the view video (and the
    plate): nothing to resume from, so an interrupted run starts again. on_batch(frames_done,
    seconds): called after each batch. A camera stops at Ctrl-C with its files complete.
    steady: outside each frame's mask, write the empty scene's depth, predicted once per
    background (a static camera's background does not move; see inference/static.py).
    Returns the number of frames predicted by this call."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from maskdepth.inference.pipeline import batched, prefetch
    from maskdepth.inference.static import SceneDepth, StaticBackground, steady_depth
    from maskdepth.io.video import VideoWriter, clean_plate, read_frames, video_info

    camera = not isinstance(video, (str, Path))
    stem = stem or (video.stem if not camera else "camera")
    fps, count = (video.fps, 0) if camera else video_info(video)[:2]
    frames = (lambda: video.frames(max_frames)) if camera else (lambda: read_frames(video, max_frames))
    plate_path = out / f"{stem}_clean_plate.png"
    if background is not None:
        plate = to_rgb_array(background)
    elif journal.done and plate_path.is_file():
        plate = imageio.read_rgb(plate_path)  # lossless: the plate the finished frames used
    else:
        if camera:
            raise UserError("a camera needs --background (a photo of the empty scene)")
        plate = clean_plate(read_frames(video, max_frames))  # streamed: bounded memory
        imageio.write_rgb(plate_path, plate)
    static = StaticBackground(plate) if align else None
    scene_depth = SceneDepth(model) if steady else None
    frames_dir = out / f"{stem}_frames"
    predicted = 0
    total = min(count, max_frames) if max_frames else count
    start = time.perf_counter()
    with VideoWriter(out / f"{stem}_view.mp4", fps or 25.0) as writer, \
            ThreadPoolExecutor(max_workers=1) as files, ThreadPoolExecutor(max_workers=2) as pngs, \
            tqdm(total=total or None, unit="frame", desc="predict") as bar:
        pending = None
        try:
            for first, chunk in prefetch(batched(frames(), batch_size)):
                # Every batch passes the alignment checks, finished ones too, so that a resumed
                # run aligns exactly as an uninterrupted one did.
                scene = static.for_frame(chunk[0], first) if static else plate
                if first in journal.done:
                    predictions = None
                else:
                    predictions = model.predict(chunk, scene, align=False)
                    if scene_depth is not None:
                        predictions = [steady_depth(p, scene_depth.of(scene)) for p in predictions]
                    predicted += len(chunk)
                task = files.submit(_video_batch, chunk, predictions, first,
                                    frames_dir if frame_files else None, writer, journal, pngs)
                if pending is not None:
                    pending.result()  # errors surface here; at most two batches in flight
                pending = task
                bar.update(len(chunk))
                if on_batch is not None:
                    on_batch(first + len(chunk), time.perf_counter() - start)
        except KeyboardInterrupt:
            if not camera:
                raise
        if pending is not None:
            pending.result()
    return predicted


def _video_batch(frames, predictions, first, frames_dir, writer, journal, pngs) -> None:
    """Frames `first`, `first + 1`, ...: written with their predictions (PNGs by the `pngs`
    thread pool, OpenCV's encoder runs without the GIL), or read back when the journal holds
    their batch (predictions None); drawn into the view video either way, in order."""
    names = [f"{first + i:06d}" for i in range(len(frames))]
    if predictions is None:
        for frame, name in zip(frames, names):
            mask_path, depth_path = prediction_paths(frames_dir, name)
            done = Prediction(imageio.read_mask(mask_path), np.zeros(0, np.float32),
                              imageio.read_depth(depth_path))
            writer.write(side_by_side(frame, done))
        return
    written = [pngs.submit(write_prediction, frames_dir, name, frame, prediction, False)
               for frame, name, prediction in zip(frames, names, predictions)
               if frames_dir is not None]
    for frame, prediction in zip(frames, predictions):
        writer.write(side_by_side(frame, prediction))
    for task in written:
        task.result()
    if frames_dir is not None:
        journal.record(first)  # the journal's key for a video batch: its first frame

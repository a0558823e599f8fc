"""Writing predictions for people and tools: per input, `<name>_mask.png` (0/255),
`<name>_depth.png` (16-bit mm), `<name>_depth_color.png` and `<name>_view.png` (image | mask
overlay | colour depth side by side). Video: inference/video.py.

Every writer notes each finished batch in a progress journal (io/journal.py) and skips the
batches a resumed journal already holds, so a run killed at any moment and resumed writes the
same files as an uninterrupted one. Views are drawn from the depth as written (whole
millimetres)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskdepth.errors import UserError
from maskdepth.inference.api import MaskDepth, Prediction, to_rgb_array
from maskdepth.io import images as imageio
from maskdepth.io.images import IMAGE_SUFFIXES
from maskdepth.io.journal import Journal
from maskdepth.io.layout import prediction_paths
from maskdepth.io.progress import progress
from maskdepth.io.viz import colorize_depth_mm, side_by_side


def view(image: np.ndarray, prediction: Prediction) -> np.ndarray:
    """(H, 3W, 3) uint8: the image, the mask over it, the colour depth (as written, in mm)."""
    return side_by_side(image, prediction.mask, prediction.depth_mm)


def write_prediction(out: Path, name: str, image: np.ndarray, prediction: Prediction,
                     views: bool = True) -> None:
    mask_path, depth_path = prediction_paths(out, name)
    imageio.write_mask(mask_path, prediction.mask)
    imageio.write_depth_mm(depth_path, prediction.depth_mm)
    if views:
        imageio.write_rgb(out / f"{name}_depth_color.png", colorize_depth_mm(prediction.depth_mm))
        imageio.write_rgb(out / f"{name}_view.png", view(image, prediction))


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
    with progress(total=len(names), unit="image", desc="predict") as bar:
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
    from maskdepth.io.pairs import dataset_pairs

    ids, pair = dataset_pairs(data)
    return _batched(model, ids, pair, out, align, batch_size, False, journal)


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

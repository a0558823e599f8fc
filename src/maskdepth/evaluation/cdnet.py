"""Change-detection benchmarks in the CDnet-2014 layout, scored with its seven measures.

A sequence folder holds
    input/inNNNNNN.{jpg,png}      frames
    groundtruth/gtNNNNNN.png      0 static, 50 shadow (scored as background), 85 outside the
                                  region of interest, 170 unknown (both not scored), 255 moving
    ROI.bmp                       optional: the scored region (non-zero)
    temporalROI.txt               "first last": the frame numbers scored
    background.png                optional here: an empty view of the scene (maskdepth needs one)

    sequences = find_sequences("realvideo/")        # a sequence folder, or a folder of them
    counts = score_sequence(sequence, predict_mask)  # predict_mask(frame_path) -> (H, W) bool
    cdnet_measures(counts)   # recall, specificity, fpr, fnr, pwc, precision, f_measure,
                             # boundary_f (outline accuracy, 2 px; metrics/boundary.py)
    evaluate_sequences(sequences, {"model": mask_of})  # per video, category and overall

Counts are pooled over a sequence's frames (as CDnet does); a category's measures are the means
of its sequences' measures.
"""

from __future__ import annotations

import collections.abc
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskdepth.errors import UserError
from maskdepth.io.images import read_grey, read_mask, read_rgb
from maskdepth.metrics.boundary import boundary_counts, boundary_f

MOVING, SHADOW, OUTSIDE, UNKNOWN = 255, 50, 85, 170
MEASURES = ("recall", "specificity", "fpr", "fnr", "pwc", "precision", "f_measure", "boundary_f")
BOUNDARY_TOLERANCE_PX = 2


@dataclass
class Sequence:
    """One CDnet sequence: scored (frame, ground truth) paths, its ROI and background paths."""

    name: str
    frames: list[tuple[Path, Path]]
    roi: Path | None
    background: Path | None
    inputs: list[Path]  # every input frame, scored or not, in order
    category: str = ""  # the folder above the sequence's, when found under a category tree


def _number(path: Path) -> int:
    found = re.search(r"(\d+)$", path.stem)
    return int(found.group(1)) if found else -1


def read_sequence(folder: str | Path) -> Sequence:
    """The scored frames of a sequence: those in temporalROI.txt's range that have ground truth."""
    folder = Path(folder)
    inputs = {_number(p): p for p in sorted((folder / "input").glob("in*"))}
    truths = {_number(p): p for p in sorted((folder / "groundtruth").glob("gt*.png"))}
    if not inputs or not truths:
        raise UserError(f"{folder}: not a CDnet sequence: CDnet-2014's layout needs "
                        f"input/inNNNNNN.jpg frames and groundtruth/gtNNNNNN.png labels"
                        + ("" if (folder / "groundtruth").is_dir() else " (no groundtruth/ folder)"))
    first, last = min(truths), max(truths)
    roi_text = folder / "temporalROI.txt"
    if roi_text.is_file():
        try:
            first, last = (int(v) for v in roi_text.read_text().split()[:2])
        except ValueError:
            raise UserError(f"{roi_text}: must hold two frame numbers, 'first last'") from None
    frames = [(inputs[n], truths[n]) for n in sorted(truths) if first <= n <= last and n in inputs]
    if not frames:
        raise UserError(f"{folder}: no frame in temporalROI.txt's range {first}-{last} has both "
                        f"an input and a ground-truth file")
    roi = folder / "ROI.bmp"
    background = folder / "background.png"
    return Sequence(folder.name, frames, roi if roi.is_file() else None,
                    background if background.is_file() else None, [inputs[n] for n in sorted(inputs)])


def is_cdnet(folder: str | Path) -> bool:
    """Whether `folder` is a CDnet sequence or holds some (up to two levels down: category/video)."""
    folder = Path(folder)
    return any((p / "groundtruth").is_dir() and (p / "input").is_dir()
               for p in (folder, *folder.glob("*"), *folder.glob("*/*")))


def find_sequences(folder: str | Path) -> list[Sequence]:
    """`folder` itself when it is a sequence, else every sequence folder below it (sorted)."""
    folder = Path(folder)
    if (folder / "groundtruth").is_dir():
        return [read_sequence(folder)]
    found = sorted(p.parent for p in folder.rglob("groundtruth") if p.is_dir())
    if not found:
        raise UserError(f"{folder}: holds no CDnet sequence (a folder with input/ and groundtruth/)")
    sequences = [read_sequence(p) for p in found]
    for sequence, path in zip(sequences, found):
        sequence.category = path.parent.name if path.parent != folder else folder.name
    return sequences


class _LazyFrames(collections.abc.Sequence):
    """A sequence's input frames, each read only when indexed (clean_plate samples a few)."""

    def __init__(self, paths: list[Path]):
        self.paths = paths
        self.first: tuple[Path, tuple] | None = None  # the first frame read, and its shape

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index):
        frame = read_rgb(self.paths[index])
        if self.first is None:
            self.first = (self.paths[index], frame.shape)
        elif frame.shape != self.first[1]:
            (height, width), (first_height, first_width) = frame.shape[:2], self.first[1][:2]
            raise UserError(f"{self.paths[index]}: {width}x{height}, but {self.first[0]} is "
                            f"{first_width}x{first_height}; every frame and the background of a "
                            f"sequence must share one size")
        return frame


def sequence_background(sequence: Sequence, override: Path | None = None) -> np.ndarray:
    """(H, W, 3) uint8 the empty scene a sequence is scored against: `override`, else its
    background.png, else a clean plate (the temporal median of 40 of its frames, people voted
    out; see io.video.clean_plate)."""
    from maskdepth.io.video import PLATE_MIN_FRAMES, clean_plate

    if override is not None:
        return read_rgb(override)
    if sequence.background is not None:
        return read_rgb(sequence.background)
    if len(sequence.inputs) < PLATE_MIN_FRAMES:
        warnings.warn(f"{sequence.name}: no background.png and only {len(sequence.inputs)} "
                      f"frame(s): the clean plate is the frames themselves, whoever is in them "
                      f"included; give --background", stacklevel=2)
    return clean_plate(_LazyFrames(sequence.inputs))


def _frame_like(path: Path, empty: np.ndarray, sequence: Sequence, override: Path | None) -> np.ndarray:
    """A frame (H, W, 3) uint8, refused (naming both files) when its size is not the empty
    scene's: frames of two sizes, or a --background of another size."""
    frame = read_rgb(path)
    if frame.shape != empty.shape:
        source = override or sequence.background or f"{sequence.name}'s clean plate"
        raise UserError(f"{path}: {frame.shape[1]}x{frame.shape[0]}, but the empty scene "
                        f"({source}) is {empty.shape[1]}x{empty.shape[0]}; every frame and the "
                        f"background of a sequence must share one size")
    return frame


# A method starts on a sequence's empty scene ((H, W, 3) uint8) and returns its mask maker:
# frame (H, W, 3) uint8 -> (H, W) bool, called on the scored frames in order (a stream).
Method = Callable[[np.ndarray], Callable[[np.ndarray], np.ndarray]]


def per_pair(mask_of: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Method:
    """A Method of a (frame, background) -> mask function with no memory (the baselines)."""
    return lambda empty: lambda frame: mask_of(frame, empty)


def evaluate_sequences(sequences: list[Sequence], methods: dict[str, Method],
                       background: Path | None = None) -> dict[str, dict[str, float]]:
    """CDnet's measures per video, per category (the mean of its videos' measures) and over all
    videos, for each method: rows "video: method", "category (category): method" and
    "mean: method"."""
    results: dict[str, dict[str, float]] = {}
    per_method: dict[str, dict[str, list[dict[str, float]]]] = {m: {} for m in methods}
    for sequence in sequences:
        empty = sequence_background(sequence, background)
        for method, start in methods.items():
            mask_of = start(empty)
            counts = score_sequence(sequence, lambda frame, f=mask_of, e=empty, q=sequence: f(
                _frame_like(frame, e, q, background)))
            results[f"{sequence.name}: {method}"] = measures = cdnet_measures(counts)
            per_method[method].setdefault(sequence.category, []).append(measures)
    mean = lambda rows: {k: float(np.nanmean([r[k] for r in rows])) for k in MEASURES}
    for method, categories in per_method.items():
        if len(categories) > 1:
            for category, rows in categories.items():
                results[f"{category} (category): {method}"] = mean(rows)
        results[f"mean: {method}"] = mean([r for rows in categories.values() for r in rows])
    return results


def frame_counts(pred: np.ndarray, truth: np.ndarray, roi: np.ndarray | None = None) -> np.ndarray:
    """(tp, fp, fn, tn) int64 of one frame: pred (H, W) bool against CDnet labels (H, W) uint8;
    outside-ROI (85), unknown (170) and pixels outside `roi` (bool) are not scored."""
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {truth.shape} differ in size")
    scored = (truth != OUTSIDE) & (truth != UNKNOWN)
    if roi is not None:
        scored &= roi
    moving = truth == MOVING
    return np.array([(pred & moving & scored).sum(), (pred & ~moving & scored).sum(),
                     (~pred & moving & scored).sum(), (~pred & ~moving & scored).sum()], np.int64)


def frame_boundary_counts(pred: np.ndarray, truth: np.ndarray, roi: np.ndarray | None = None
                          ) -> np.ndarray:
    """metrics/boundary.boundary_counts of one frame against CDnet labels: the true outline is
    the edge of the "moving" (255) region as the annotators drew it; boundary pixels on unknown
    (170) or outside-ROI (85) labels, or outside `roi`, are not scored (CDnet's unscored band
    is the 170 pixels themselves, which run around every object)."""
    scored = (truth != OUTSIDE) & (truth != UNKNOWN)
    if roi is not None:
        scored &= roi
    return boundary_counts(pred, truth == MOVING, scored, BOUNDARY_TOLERANCE_PX)


def cdnet_measures(counts: np.ndarray) -> dict[str, float]:
    """CDnet's seven measures of pooled (tp, fp, fn, tn); PWC in percent. A ratio whose
    denominator is 0 is NaN. Given 8 counts (score_sequence's), the last 4 pooled boundary counts
    add boundary_f (NaN when no true boundary pixel was scored; means over videos leave it out)."""
    tp, fp, fn, tn = (float(c) for c in counts[:4])

    def ratio(num: float, den: float) -> float:
        return num / den if den else float("nan")

    recall, precision = ratio(tp, tp + fn), ratio(tp, tp + fp)
    measures = {"recall": recall, "specificity": ratio(tn, tn + fp), "fpr": ratio(fp, fp + tn),
                "fnr": ratio(fn, tp + fn), "pwc": 100 * ratio(fn + fp, tp + fp + fn + tn),
                "precision": precision,
                "f_measure": ratio(2 * precision * recall, precision + recall)}
    if len(counts) == 8:  # NaN without a scorable true outline: nothing to measure, not 0
        measures["boundary_f"] = boundary_f(counts[4:]) if counts[7] else float("nan")
    return measures


def score_sequence(sequence: Sequence, predict_mask: Callable[[Path], np.ndarray]) -> np.ndarray:
    """Pooled (tp, fp, fn, tn) and boundary counts (frame_boundary_counts) of predict_mask(frame
    path) -> (H, W) bool over the scored frames: (8,) int64. Ground truth and ROI of another
    size than the frames, labels CDnet does not define and an ROI that marks nothing are
    refused, naming the file (a guess would score something else)."""
    roi = read_roi(sequence.roi) if sequence.roi is not None else None
    total = np.zeros(8, np.int64)
    for frame, truth in sequence.frames:
        pred, labels = np.asarray(predict_mask(frame), bool), read_labels(truth)
        for path, shape in ((truth, labels.shape), (sequence.roi, None if roi is None else roi.shape)):
            if shape is not None and shape != pred.shape:
                raise UserError(f"{path}: {shape[1]}x{shape[0]}, but the frame {frame.name} is "
                                f"{pred.shape[1]}x{pred.shape[0]}; CDnet's files share the frames' size")
        total += np.concatenate([frame_counts(pred, labels, roi),
                                 frame_boundary_counts(pred, labels, roi)])
    return total


LABELS = (0, SHADOW, OUTSIDE, UNKNOWN, MOVING)


def read_labels(path: Path) -> np.ndarray:
    """A ground-truth frame (H, W) uint8, refused when it holds a label CDnet does not define."""
    labels = read_grey(path)
    unknown = np.setdiff1d(np.unique(labels), LABELS)
    if unknown.size:
        raise UserError(f"{path}: holds labels {unknown[:5].tolist()}; CDnet ground truth uses only "
                        f"0, 50, 85, 170 and 255")
    return labels


def read_roi(path: Path) -> np.ndarray:
    """A sequence's ROI.bmp as (H, W) bool (values above 127 inside), refused when it marks no
    pixel: CDnet's ROIs are 0 outside and 255 inside."""
    roi = read_mask(path)
    if not roi.any():
        raise UserError(f"{path}: marks no pixel as inside (no value above 127; CDnet ROIs are "
                        f"255 inside, 0 outside), so nothing would be scored")
    return roi

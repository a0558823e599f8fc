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
    cdnet_measures(counts)   # recall, specificity, fpr, fnr, pwc, precision, f_measure

Counts are pooled over a sequence's frames (as CDnet does); a category's measures are the means
of its sequences' measures.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskdepth.errors import UserError
from maskdepth.io.images import read_grey, read_mask

MOVING, SHADOW, OUTSIDE, UNKNOWN = 255, 50, 85, 170
MEASURES = ("recall", "specificity", "fpr", "fnr", "pwc", "precision", "f_measure")


@dataclass
class Sequence:
    """One CDnet sequence: scored (frame, ground truth) paths, its ROI and background paths."""

    name: str
    frames: list[tuple[Path, Path]]
    roi: Path | None
    background: Path | None


def _number(path: Path) -> int:
    found = re.search(r"(\d+)$", path.stem)
    return int(found.group(1)) if found else -1


def read_sequence(folder: str | Path) -> Sequence:
    """The scored frames of a sequence: those in temporalROI.txt's range that have ground truth."""
    folder = Path(folder)
    inputs = {_number(p): p for p in sorted((folder / "input").glob("in*"))}
    truths = {_number(p): p for p in sorted((folder / "groundtruth").glob("gt*.png"))}
    if not inputs or not truths:
        raise UserError(f"{folder}: not a CDnet sequence (needs input/inNNNNNN and "
                        f"groundtruth/gtNNNNNN.png)")
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
                    background if background.is_file() else None)


def find_sequences(folder: str | Path) -> list[Sequence]:
    """`folder` itself when it is a sequence, else every sequence folder below it (sorted)."""
    folder = Path(folder)
    if (folder / "groundtruth").is_dir():
        return [read_sequence(folder)]
    found = sorted(p.parent for p in folder.rglob("groundtruth") if p.is_dir())
    if not found:
        raise UserError(f"{folder}: holds no CDnet sequence (a folder with input/ and groundtruth/)")
    return [read_sequence(p) for p in found]


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


def cdnet_measures(counts: np.ndarray) -> dict[str, float]:
    """CDnet's seven measures of pooled (tp, fp, fn, tn); PWC in percent. A ratio whose
    denominator is 0 is NaN."""
    tp, fp, fn, tn = (float(c) for c in counts)

    def ratio(num: float, den: float) -> float:
        return num / den if den else float("nan")

    recall, precision = ratio(tp, tp + fn), ratio(tp, tp + fp)
    return {"recall": recall, "specificity": ratio(tn, tn + fp), "fpr": ratio(fp, fp + tn),
            "fnr": ratio(fn, tp + fn), "pwc": 100 * ratio(fn + fp, tp + fp + fn + tn),
            "precision": precision, "f_measure": ratio(2 * precision * recall, precision + recall)}


def score_sequence(sequence: Sequence, predict_mask: Callable[[Path], np.ndarray]) -> np.ndarray:
    """Pooled (tp, fp, fn, tn) of predict_mask(frame path) -> (H, W) bool over the scored frames."""
    roi = read_mask(sequence.roi) > 0 if sequence.roi is not None else None
    total = np.zeros(4, np.int64)
    for frame, truth in sequence.frames:
        total += frame_counts(np.asarray(predict_mask(frame), bool), read_grey(truth), roi)
    return total

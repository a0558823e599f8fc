"""CDnet-2014 layout and measures: labels 50/85/170, ROI, temporal ROI, pooled counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from maskdepth.errors import UserError
from maskdepth.evaluation.cdnet import cdnet_measures, find_sequences, frame_counts, score_sequence


def write_sequence(folder, truths, roi=None, temporal=None):
    (folder / "input").mkdir(parents=True)
    (folder / "groundtruth").mkdir()
    for n, truth in truths.items():
        Image.fromarray(np.zeros((*truth.shape, 3), np.uint8)).save(folder / "input" / f"in{n:06d}.png")
        Image.fromarray(truth).save(folder / "groundtruth" / f"gt{n:06d}.png")
    if roi is not None:
        Image.fromarray(roi).save(folder / "ROI.bmp")
    if temporal is not None:
        (folder / "temporalROI.txt").write_text(f"{temporal[0]} {temporal[1]}\n")
    return folder


def test_frame_counts_skip_unknown_outside_roi_and_score_shadow_as_background():
    truth = np.array([[255, 255, 0, 50], [170, 85, 0, 255]], np.uint8)
    pred = np.array([[True, False, True, True], [True, True, False, False]])
    tp, fp, fn, tn = frame_counts(pred, truth)
    assert (tp, fp, fn, tn) == (1, 2, 2, 1)  # 170 and 85 ignored; the shadow is a false positive
    roi = np.array([[True, True, False, False], [True, True, True, True]])
    assert tuple(frame_counts(pred, truth, roi)) == (1, 0, 2, 1)


def test_measures_follow_their_definitions():
    m = cdnet_measures(np.array([30, 10, 20, 940]))
    assert m["recall"] == pytest.approx(30 / 50) and m["precision"] == pytest.approx(30 / 40)
    assert m["specificity"] == pytest.approx(940 / 950) and m["fpr"] == pytest.approx(10 / 950)
    assert m["fnr"] == pytest.approx(20 / 50) and m["pwc"] == pytest.approx(100 * 30 / 1000)
    assert m["f_measure"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert math.isnan(cdnet_measures(np.array([0, 0, 0, 5]))["recall"])


def test_a_sequence_is_scored_over_its_temporal_roi_with_pooled_counts(tmp_path):
    truths = {n: np.zeros((4, 6), np.uint8) for n in (1, 2, 3, 4)}
    for n, truth in truths.items():
        truth[1:3, n:n + 2] = 255
    roi = np.full((4, 6), 255, np.uint8)
    roi[:, 5] = 0
    folder = write_sequence(tmp_path / "cat" / "seq", truths, roi, temporal=(2, 3))
    [sequence] = find_sequences(tmp_path)
    assert [f[0].name for f in sequence.frames] == ["in000002.png", "in000003.png"]
    tp, fp, fn, tn = score_sequence(sequence, lambda frame: np.ones((4, 6), bool))
    # Frame 2: columns 2-3 moving (4 px); frame 3: columns 3-4 (4 px); column 5 outside the ROI.
    assert (tp, fp, fn, tn) == (8, 2 * 20 - 8, 0, 0)
    assert find_sequences(folder)[0].name == "seq"


@pytest.mark.bad_input
def test_a_folder_without_sequences_is_refused(tmp_path):
    with pytest.raises(UserError, match="no CDnet sequence"):
        find_sequences(tmp_path)

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
    tp, fp, fn, tn = score_sequence(sequence, lambda frame: np.ones((4, 6), bool))[:4]
    # Frame 2: columns 2-3 moving (4 px); frame 3: columns 3-4 (4 px); column 5 outside the ROI.
    assert (tp, fp, fn, tn) == (8, 2 * 20 - 8, 0, 0)
    assert find_sequences(folder)[0].name == "seq"


@pytest.mark.bad_input
def test_a_folder_without_sequences_is_refused(tmp_path):
    with pytest.raises(UserError, match="no CDnet sequence"):
        find_sequences(tmp_path)


def _video(folder, background: bool = True):
    """Six 64x64 frames of a textured room with a dark block moving across; ground truth 255 on
    the block with an unknown (170) rim, 85 in the top rows, a ROI leaving out the right quarter,
    frames 2-5 scored."""
    rng = np.random.default_rng(0)
    empty = (rng.uniform(60, 200, (64, 64, 3))).astype(np.uint8)
    (folder / "input").mkdir(parents=True)
    (folder / "groundtruth").mkdir()
    for n in range(1, 7):
        frame, truth = empty.copy(), np.zeros((64, 64), np.uint8)
        x = 6 * n
        truth[18:50, x - 1 : x + 15] = 170
        truth[20:48, x : x + 14] = 255
        truth[:4] = 85
        frame[20:48, x : x + 14] = (20, 30, 40)
        Image.fromarray(frame).save(folder / "input" / f"in{n:06d}.png")
        Image.fromarray(truth).save(folder / "groundtruth" / f"gt{n:06d}.png")
    roi = np.full((64, 64), 255, np.uint8)
    roi[:, 48:] = 0
    Image.fromarray(roi).save(folder / "ROI.bmp")
    (folder / "temporalROI.txt").write_text("2 5\n")
    if background:
        Image.fromarray(empty).save(folder / "background.png")
    return folder


def _reference_counts(results, video):
    """Pooled (tp, fp, fn, tn) of the bin files against the ground truth, by numpy directly."""
    roi = np.array(Image.open(video / "ROI.bmp")) > 0
    total = np.zeros(4)
    for n in range(2, 6):
        pred = np.array(Image.open(results / f"bin{n:06d}.png")) == 255
        truth = np.array(Image.open(video / "groundtruth" / f"gt{n:06d}.png"))
        scored = roi & (truth != 85) & (truth != 170)
        moving = truth == 255
        total += [(pred & moving & scored).sum(), (pred & ~moving & scored).sum(),
                  (~pred & moving & scored).sum(), (~pred & ~moving & scored).sum()]
    return total


def test_evaluate_scores_cdnet_videos_as_predict_writes_their_results(tmp_path):
    from maskdepth.cli import main

    first = _video(tmp_path / "tree" / "indoor" / "office")
    _video(tmp_path / "tree" / "outdoor" / "yard", background=False)  # scored on a clean plate
    results, report = tmp_path / "results", tmp_path / "m.json"
    assert main(["predict", "--images", str(first / "input"), "--background",
                 str(first / "background.png"), "--out", str(results), "--cdnet"]) == 0
    assert sorted(p.name for p in results.glob("bin*.png")) == [f"bin{n:06d}.png" for n in range(1, 7)]
    assert main(["evaluate", "--checkpoint", "small", "--data", str(tmp_path / "tree"),
                 "--baselines", "--json", str(report)]) == 0
    scores = __import__("json").loads(report.read_text())
    tp, fp, fn, tn = _reference_counts(results, first)
    office = scores["office: model"]
    assert office["pwc"] == pytest.approx(100 * (fp + fn) / (tp + fp + fn + tn))
    assert office["specificity"] == pytest.approx(tn / (tn + fp))
    if tp + fn:
        assert office["recall"] == pytest.approx(tp / (tp + fn))
    assert scores["indoor (category): model"] == pytest.approx(office, nan_ok=True)
    for method in ("model", "absdiff", "mog2"):
        assert math.isfinite(scores[f"yard: {method}"]["pwc"])
        assert f"mean: {method}" in scores
    # The dark block on a bright room is easy: absdiff finds most of it.
    assert scores["office: absdiff"]["f_measure"] > 0.8


def test_predict_cdnet_needs_cdnet_frame_names(tmp_path, capsys):
    from maskdepth.cli import main

    folder = tmp_path / "frames"
    folder.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(folder / "photo.png")
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "bg.png")
    assert main(["predict", "--images", str(folder), "--background", str(tmp_path / "bg.png"),
                 "--out", str(tmp_path / "out"), "--cdnet"]) == 2
    assert "inNNNNNN" in capsys.readouterr().err


def test_a_square_ringed_by_the_unknown_band_scores_boundary_f_one():
    """CDnet's unscored band is the 170 pixels themselves: the true outline is the edge of the
    255 square inside its 1-px 170 ring, and a prediction equal to the square finds it all."""
    from maskdepth.evaluation.cdnet import cdnet_measures, frame_boundary_counts, frame_counts

    truth = np.zeros((32, 32), np.uint8)
    truth[7:25, 7:25] = 170
    truth[8:24, 8:24] = 255
    square = truth == 255
    counts = np.concatenate([frame_counts(square, truth), frame_boundary_counts(square, truth)])
    assert counts[7] == 4 * 15  # every pixel of the square's outline is scored
    assert cdnet_measures(counts)["boundary_f"] == 1.0
    grown = truth > 0  # the square and its ring: the ring's pixels are not scored
    grown_counts = np.concatenate([frame_counts(grown, truth), frame_boundary_counts(grown, truth)])
    assert cdnet_measures(grown_counts)["boundary_f"] == 1.0
    shrunk = np.zeros_like(square)
    shrunk[12:20, 12:20] = True  # 4 px inside the outline: beyond the 2 px tolerance
    shrunk_counts = np.concatenate([frame_counts(shrunk, truth), frame_boundary_counts(shrunk, truth)])
    assert cdnet_measures(shrunk_counts)["boundary_f"] == 0.0


def test_a_sequence_without_a_scorable_outline_reports_no_boundary_f_and_leaves_the_mean_alone():
    from maskdepth.evaluation.cdnet import cdnet_measures, frame_boundary_counts, frame_counts
    from maskdepth.metrics.table import format_table

    truth = np.full((16, 16), 170, np.uint8)  # everything unknown: no outline to score
    pred = np.zeros((16, 16), bool)
    pred[4:8, 4:8] = True
    measures = cdnet_measures(np.concatenate([frame_counts(pred, truth), frame_boundary_counts(pred, truth)]))
    assert math.isnan(measures["boundary_f"])
    assert "\u2013" in format_table({"seq": {"boundary_f": measures["boundary_f"]}})
    mean = float(np.nanmean([measures["boundary_f"], 0.5]))
    assert mean == 0.5


def _cdnet_error(tmp_path, capsys, *extra) -> str:
    from maskdepth.cli import main

    assert main(["evaluate", "--baselines", "--data", str(tmp_path / "v"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


@pytest.mark.bad_input
def test_an_roi_of_another_size_is_refused(tmp_path, capsys):
    video = _video(tmp_path / "v")
    Image.fromarray(np.full((1, 128), 255, np.uint8)).save(video / "ROI.bmp")  # 128x1
    assert "ROI.bmp: 128x1, but the frame in000002.png is 64x64" in _cdnet_error(tmp_path, capsys)


@pytest.mark.bad_input
def test_ground_truth_of_another_size_is_refused(tmp_path, capsys):
    video = _video(tmp_path / "v")
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(video / "groundtruth" / "gt000003.png")
    assert "gt000003.png: 32x32, but the frame in000003.png is 64x64" in _cdnet_error(tmp_path, capsys)


@pytest.mark.bad_input
def test_an_roi_that_marks_nothing_is_refused(tmp_path, capsys):
    video = _video(tmp_path / "v")
    Image.fromarray(np.ones((64, 64), np.uint8)).save(video / "ROI.bmp")  # 1 inside: not CDnet's 255
    assert "marks no pixel as inside" in _cdnet_error(tmp_path, capsys)


@pytest.mark.bad_input
def test_labels_cdnet_does_not_define_are_refused(tmp_path, capsys):
    video = _video(tmp_path / "v")
    truth = np.array(Image.open(video / "groundtruth" / "gt000004.png"))
    truth[truth == 255] = 1  # "moving" written as 1
    Image.fromarray(truth).save(video / "groundtruth" / "gt000004.png")
    assert "gt000004.png: holds labels [1]" in _cdnet_error(tmp_path, capsys)


@pytest.mark.bad_input
def test_frames_or_a_background_of_another_size_are_refused(tmp_path, capsys):
    video = _video(tmp_path / "v")
    Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(tmp_path / "small.png")
    err = _cdnet_error(tmp_path, capsys, "--background", str(tmp_path / "small.png"))
    assert "in000002.png: 64x64, but the empty scene" in err and "small.png) is 64x48" in err
    Image.fromarray(np.zeros((60, 64, 3), np.uint8)).save(video / "input" / "in000003.png")
    assert "in000003.png: 64x60, but the empty scene" in _cdnet_error(tmp_path, capsys)


@pytest.mark.bad_input
def test_a_missing_groundtruth_folder_is_named_as_cdnets(tmp_path):
    video = _video(tmp_path / "v")
    import shutil

    shutil.rmtree(video / "groundtruth")
    (video / "groundtruth").mkdir()
    with pytest.raises(UserError, match="CDnet-2014's layout needs input/inNNNNNN.jpg frames and groundtruth/"):
        find_sequences(video)


def test_a_one_frame_sequence_without_a_background_warns(tmp_path):
    from maskdepth.evaluation.cdnet import sequence_background

    video = _video(tmp_path / "v", background=False)
    sequence = find_sequences(video)[0]
    sequence.inputs = sequence.inputs[:1]
    with pytest.warns(UserWarning, match="only 1 frame"):
        sequence_background(sequence)


@pytest.mark.bad_input
def test_frames_of_two_sizes_without_a_background_are_refused_by_name(tmp_path, capsys):
    video = _video(tmp_path / "v")
    (video / "background.png").unlink(missing_ok=True)  # the clean plate reads the frames
    Image.fromarray(np.zeros((60, 64, 3), np.uint8)).save(video / "input" / "in000003.png")
    err = _cdnet_error(tmp_path, capsys)
    assert "in000003.png: 64x60, but" in err and "is 64x64; every frame and the background" in err

"""`maskdepth evaluate` scores exactly what `maskdepth predict` writes for the same inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from maskdepth.cli import main
from maskdepth.io import images as imageio
from maskdepth.io.layout import read_manifest


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Engine scenes larger than the working size (336 > 320 px: predict shrinks and grows
    back), with every capture condition on, so some backgrounds are misaligned."""
    folder = tmp_path_factory.mktemp("data") / "scenes"
    assert main(["synth", "--out", str(folder), "--n", "4", "--size", "336", "--seed", "5"]) == 0
    return folder


def test_evaluate_scores_the_files_predict_writes(dataset, tmp_path):
    predicted, saved, report = tmp_path / "predicted", tmp_path / "saved", tmp_path / "m.json"
    # One pair at a time, as evaluate reads a dataset (the network's float arithmetic may differ
    # in the last bit with the batch size, which can move a depth by a millimetre).
    assert main(["predict", "--data", str(dataset), "--out", str(predicted), "--batch-size", "1"]) == 0
    assert main(["evaluate", "--checkpoint", "small", "--data", str(dataset), "--json", str(report),
                 "--save-predictions", str(saved)]) == 0
    rows = read_manifest(dataset / "manifest.csv")
    ious = []
    for row in rows:
        for kind, read in (("mask", imageio.read_mask), ("depth", imageio.read_depth)):
            a = read(predicted / f"{row.id}_{kind}.png")
            b = read(saved / dataset.name / f"{row.id}_{kind}.png")
            assert np.array_equal(a, b), (row.id, kind)
        mask, truth = (imageio.read_mask(predicted / f"{row.id}_mask.png"),
                       imageio.read_mask(dataset / row.mask))
        union = np.logical_or(mask, truth).sum()
        ious.append(np.logical_and(mask, truth).sum() / union if union else 1.0)
    scored = json.loads(report.read_text())[f"{dataset.name}: model"]["mask_iou"]
    assert scored == pytest.approx(float(np.mean(ious)), abs=1e-5)


def test_raw_scores_the_bare_network(dataset, tmp_path):
    """--raw: the network on each pair as the files are (no alignment, no resizing); its masks
    and their IoU computed here by hand, pair by pair, are what evaluate saves and reports."""
    from maskdepth.inference.api import MaskDepth, to_batch, to_mask

    report, saved = tmp_path / "raw.json", tmp_path / "saved"
    assert main(["evaluate", "--checkpoint", "small", "--data", str(dataset), "--raw",
                 "--json", str(report), "--save-predictions", str(saved)]) == 0
    runner = MaskDepth.load("small").runner
    ious = []
    for row in read_manifest(dataset / "manifest.csv"):
        image, background = (imageio.read_rgb(dataset / name) for name in (row.image, row.background))
        probability, _ = runner.predict(to_batch([image]), to_batch([background]))
        mask, truth = to_mask(probability[0, 0]), imageio.read_mask(dataset / row.mask)
        assert mask.shape == (336, 336)  # the files' own size: nothing resized
        assert np.array_equal(imageio.read_mask(saved / dataset.name / f"{row.id}_mask.png"), mask), row.id
        union = np.logical_or(mask, truth).sum()
        ious.append(np.logical_and(mask, truth).sum() / union if union else 1.0)
    values = json.loads(report.read_text())[f"{dataset.name}: model"]
    assert values["mask_iou"] == pytest.approx(float(np.mean(ious)), abs=1e-5)
    assert 0.3 < values["mask_iou"] < 1  # the shipped model finds the people, not nothing
    assert values["depth_rmse"] > 0


def test_data_sets_of_one_name_are_told_apart(dataset, tmp_path, capsys):
    """Three sets whose folders share a name: each is scored and saved under the shortest path
    that tells it apart; the same set twice is refused."""
    import shutil

    from maskdepth.evaluation.suite import set_names

    copies = [tmp_path / "a" / "x", tmp_path / "b" / "x", tmp_path / "c"]
    for copy in copies:
        shutil.copytree(dataset, copy)
    assert set_names([copies[0] / "manifest.csv", copies[1], copies[2]]) == ["a/x", "b/x", "c"]
    report = tmp_path / "m.json"
    assert main(["evaluate", "--checkpoint", "small", "--data", *(str(c / "manifest.csv") for c in copies),
                 "--json", str(report), "--save-predictions", str(tmp_path / "saved")]) == 0
    rows = json.loads(report.read_text())
    assert {"a/x: model", "b/x: model", "c: model"} <= set(rows)
    assert rows["a/x: model"] == rows["b/x: model"]  # the same scenes, scored alike
    assert (tmp_path / "saved" / "b" / "x").is_dir() and (tmp_path / "saved" / "c").is_dir()
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", "small", "--data", str(copies[2]),
                 str(copies[2] / "manifest.csv")]) == 2
    assert "the same data set" in capsys.readouterr().err

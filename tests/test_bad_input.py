"""Bad input and faults as a user meets them: each gives a one-line message (no traceback), a
non-zero exit, and leaves the user's files as they were."""

from __future__ import annotations

import json

import numpy as np
import pytest

from maskdepth import MaskDepth
from maskdepth.cli import main
from maskdepth.errors import UserError
from maskdepth.io.images import write_rgb
from maskdepth.io.outputs import folder_lock
from maskdepth.models import build_model
from maskdepth.models.weights import CONFIG_KEY


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad") / "ds"
    assert main(["synth", "--out", str(folder), "--n", "2", "--size", "48"]) == 0
    return folder


def _fails(capsys, argv, *fragments, one_line: bool = True) -> str:
    """Run the CLI; it must exit 2 with a message (one line unless it lists dataset problems)
    holding every fragment, and no traceback."""
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and (not one_line or "\n" not in err), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


def _snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_predictions_never_overwrite_a_dataset(dataset, capsys):
    before = _snapshot(dataset)
    _fails(capsys, ["predict", "--data", dataset, "--out", dataset], "holds the input")
    _fails(capsys, ["predict", "--data", dataset, "--out", dataset, "--overwrite"], "holds the input")
    _fails(capsys, ["predict", "--data", dataset, "--out", dataset.parent], "holds the input")
    assert _snapshot(dataset) == before


def test_predictions_never_land_among_the_input_photos(tmp_path, capsys):
    shots = tmp_path / "shots"
    rng = np.random.default_rng(0)
    for name in ("shot.png", "room.png"):
        write_rgb(shots / name, rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))
    (shots / "shot_view.png").write_bytes(b"the user's own file")
    before = _snapshot(shots)
    _fails(capsys, ["predict", "--images", shots, "--background", shots / "room.png", "--out", shots],
           "holds the input")
    _fails(capsys, ["predict", "--image", shots / "shot.png", "--background", shots / "room.png",
                    "--out", shots], "holds the input")
    assert _snapshot(shots) == before
    write_rgb(shots / "shot.jpg", rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))
    _fails(capsys, ["predict", "--images", shots, "--background", shots / "room.png",
                    "--out", tmp_path / "out"], "shot.jpg and shot.png", "rename")


def test_a_second_run_into_the_same_folder_is_refused(dataset, tmp_path, capsys):
    out = tmp_path / "preds"
    assert main(["predict", "--data", str(dataset), "--out", str(out), "--no-align"]) == 0
    capsys.readouterr()
    masks = {p.name: p.read_bytes() for p in out.glob("*_mask.png")}
    _fails(capsys, ["predict", "--data", dataset, "--out", out], "not empty", "--overwrite")
    assert masks == {p.name: p.read_bytes() for p in out.glob("*_mask.png")}
    assert main(["predict", "--data", str(dataset), "--out", str(out), "--overwrite", "--no-align"]) == 0
    with folder_lock(out):
        for _ in range(2):  # a refused command must not free the lock for the next one
            with pytest.raises(UserError, match="another maskdepth command"), folder_lock(out):
                pass


@pytest.mark.parametrize("argv, fragment", [
    (["predict", "--data", "DS", "--out", "OUT", "--batch-size", "0"], "--batch-size"),
    (["predict", "--data", "DS", "--out", "OUT", "--batch-size", "-3"], "--batch-size"),
    (["predict", "--video", "v.mp4", "--out", "OUT", "--max-frames", "0"], "--max-frames"),
    (["synth", "--out", "OUT", "--size", "0"], "--size"),
    (["synth", "--out", "OUT", "--size", "1", "2", "3"], "--size"),
])
def test_bad_numbers_are_refused_before_any_work(argv, fragment, tmp_path, capsys):
    argv = [str(tmp_path / a) if a in ("DS", "OUT") else a for a in argv]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2 and fragment in capsys.readouterr().err
    assert not (tmp_path / "OUT").exists()


def test_missing_or_wrong_kinds_of_paths(dataset, tmp_path, capsys):
    photo = tmp_path / "p.png"
    write_rgb(photo, np.zeros((32, 32, 3), np.uint8))
    _fails(capsys, ["predict", "--images", tmp_path / "none", "--background", photo, "--out", tmp_path / "o"],
           "no such file or folder")
    _fails(capsys, ["predict", "--images", photo, "--background", photo, "--out", tmp_path / "o"],
           "not a folder")
    _fails(capsys, ["predict", "--data", dataset, "--out", photo], "is a file")
    _fails(capsys, ["synth", "--out", photo / "sub", "--n", "1", "--size", "32"], str(photo))
    _fails(capsys, ["synth", "--out", dataset, "--n", "1", "--size", "32"], "not empty")


def test_ids_that_cannot_name_files_are_refused(tmp_path, capsys):
    folder = tmp_path / "ds"
    assert main(["synth", "--out", str(folder), "--n", "1", "--size", "32"]) == 0
    capsys.readouterr()
    manifest = folder / "manifest.csv"
    lines = manifest.read_text().splitlines()
    lines[1] = '"line\nbreak"' + lines[1][len("000000"):]
    manifest.write_text("\n".join(lines) + "\n")
    err = _fails(capsys, ["predict", "--data", folder, "--out", tmp_path / "out"],
                 "not a plain file name", "'line\\nbreak'", one_line=False)
    assert err.count("\n") == 1  # the heading and one problem
    assert not any((tmp_path / "out").glob("*.png"))  # no prediction written


@pytest.mark.parametrize("make, fragment", [
    (lambda: np.full((24, 24, 3), 200.0, np.float32), "divide by 255"),
    (lambda: np.full((24, 24, 3), -1, np.int64), "integer images must be 0..255"),
    (lambda: np.full((24, 24, 3), np.nan, np.float32), "float values"),
    (lambda: np.zeros((24, 24, 3), bool), "not images"),
])
def test_arrays_in_the_wrong_range_are_refused_not_guessed(make, fragment):
    model = MaskDepth.load()
    good = np.zeros((24, 24, 3), np.uint8)
    with pytest.raises(UserError, match=fragment):
        model.predict(make(), good, align=False)


def test_integer_arrays_are_read_as_8_bit_levels():
    model = MaskDepth.load()
    rng = np.random.default_rng(0)
    image, background = (rng.integers(0, 256, (32, 32, 3)) for _ in range(2))
    as_uint8 = model.predict(image.astype(np.uint8), background.astype(np.uint8), align=False)
    for dtype in (np.int64, np.int32, np.uint16):
        other = model.predict(image.astype(dtype), background.astype(dtype), align=False)
        assert np.array_equal(other.mask, as_uint8.mask) and np.allclose(other.depth, as_uint8.depth)
    sixteen = model.predict((image * 257).astype(np.uint16), (background * 257).astype(np.uint16),
                            align=False)
    assert np.array_equal(sixteen.mask, as_uint8.mask)


def test_a_stored_depth_range_that_makes_no_sense_is_refused(tmp_path, dataset, capsys):
    from safetensors.torch import save_file

    model = build_model(variant="fast")
    path = tmp_path / "bad.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path),
              metadata={CONFIG_KEY: json.dumps({**model.config.to_dict(), "max_depth": -5.0})})
    _fails(capsys, ["evaluate", "--checkpoint", path, "--data", dataset], "depth range", str(path))


@pytest.mark.parametrize("override, fragment", [
    ("trainer.max_steps=abc", "trainer.max_steps must be a whole number"),
    ("optim.lr=abc", "optim.lr must be a number"),
    ("optim.lr=0", "optim.lr must be above 0"),
    ("data.batch_size=-2", "data.batch_size must be at least 1"),
    ("seed.x=1", "seed must be a whole number"),
    ("trainer.precision=fp7", "trainer.precision must be one of"),
    ("data.sources=[{kind: engine, weight: 0}]", "weight must be above 0"),
    ("data.sizes=[1,2", "not a YAML value"),
    ("data.size_steps=[5,0]", "data.size_steps must start at 0 and rise"),
    ("data.size_steps=[0]", "data.sizes and data.size_steps"),
    ("model.variant=giant", "model.variant must be one of"),
    ("model.shadow_head=maybe", "model.shadow_head must be true or false"),
    ("trainer.max_steps.x=1", "trainer.max_steps must be a whole number"),
    ("data.sources=engine", "data.sources must be a list"),
])
def test_config_values_are_checked_when_read(override, fragment, tmp_path, capsys):
    _fails(capsys, ["train", "--run", tmp_path / "run", "--set", override], fragment)
    assert not (tmp_path / "run").exists()


def test_a_broken_config_file_is_one_line(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("model: [unclosed\n")
    _fails(capsys, ["train", "--config", config, "--run", tmp_path / "run"], "cannot read the config")


def test_dataset_errors_survive_a_dataloader_worker():
    import pickle

    from maskdepth.io.layout import LayoutError

    error = LayoutError(["row 'a' (line 2): image not found"], "ds/manifest.csv")
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) and again.problems == error.problems


def test_images_over_the_pixel_limit_are_refused_before_decoding(tmp_path, monkeypatch, capsys):
    from maskdepth.io import images

    photo = tmp_path / "big.png"
    write_rgb(photo, np.zeros((60, 50, 3), np.uint8))
    monkeypatch.setattr(images, "MAX_PIXELS", 2_000)
    with pytest.raises(UserError, match="60 is more than 2,000 pixels"):
        images.read_rgb(photo)
    _fails(capsys, ["predict", "--image", photo, "--background", photo, "--out", tmp_path / "o"],
           "downscale")

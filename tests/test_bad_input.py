"""Bad input and faults as a user meets them: each gives a one-line message (no traceback), a
non-zero exit, and leaves the user's files as they were."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from maskdepth import MaskDepth
from maskdepth.cli import main
from maskdepth.errors import UserError
from maskdepth.io.images import write_rgb
from maskdepth.io.outputs import folder_lock
from maskdepth.models import build_model
from maskdepth.models.weights import CONFIG_KEY
from maskdepth.models.zoo import resolve_model

pytestmark = pytest.mark.bad_input


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad") / "ds"
    assert main(["synth", "--out", str(folder), "--n", "2", "--size", "48"]) == 0
    return folder


def _fails(capsys, argv, *fragments, one_line: bool = True, code: int = 2) -> str:
    """Run the CLI; it must exit with `code` and a message (one line unless it lists dataset
    problems; progress bars aside) holding every fragment, and no traceback."""
    try:
        assert main([str(a) for a in argv]) == code
        usage = False
    except SystemExit as stop:  # argparse's refusals: the usage, then one line
        assert stop.code == code
        usage = True
    captured = capsys.readouterr()
    report = captured.out if code == 1 else captured.err  # exit 1: validate's report of problems
    lines = [line for line in report.strip().splitlines() if "%|" not in line]  # tqdm's bar
    err = "\n".join(lines[-1:] if usage else lines)
    assert "Traceback" not in err and (not one_line or "\n" not in err), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


def _snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _photos(folder, *names):
    rng = np.random.default_rng(0)
    for name in names:
        write_rgb(folder / name, rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))
    return folder


def _shots(tmp):
    shots = _photos(tmp / "shots", "shot.png", "room.png")
    (shots / "shot_view.png").write_bytes(b"the user's own file")
    return shots


# name -> make(tmp, dataset) -> (argv, the folder that must be left as it was, message fragments)
CLI_CASES = {
    "predict --out is the dataset": lambda t, d: (
        ["predict", "--data", d, "--out", d], d, ["holds the input"]),
    "predict --out is the dataset, --overwrite": lambda t, d: (
        ["predict", "--data", d, "--out", d, "--overwrite"], d, ["holds the input"]),
    "predict --out holds the dataset": lambda t, d: (
        ["predict", "--data", d, "--out", d.parent], d, ["holds the input"]),
    "predict --out is the photo folder": lambda t, d: (
        ["predict", "--images", _shots(t), "--background", t / "shots/room.png", "--out",
         t / "shots"], t / "shots", ["holds the input"]),
    "predict --out holds the one image": lambda t, d: (
        ["predict", "--image", _shots(t) / "shot.png", "--background", t / "shots/room.png",
         "--out", t / "shots"], t / "shots", ["holds the input"]),
    "two photos with one name": lambda t, d: (
        ["predict", "--images", _photos(t / "s", "shot.png", "shot.jpg"), "--background",
         t / "s/shot.png", "--out", t / "o"], t / "s", ["shot.jpg and shot.png", "rename"]),
    "--images that does not exist": lambda t, d: (
        ["predict", "--images", t / "none", "--background", _photos(t, "p.png") / "p.png",
         "--out", t / "o"], t, ["no such file or folder"]),
    "--images that is a file": lambda t, d: (
        ["predict", "--images", _photos(t, "p.png") / "p.png", "--background", t / "p.png",
         "--out", t / "o"], t, ["not a folder"]),
    "--image that does not exist": lambda t, d: (
        ["predict", "--image", t / "none.png", "--background", _photos(t, "p.png") / "p.png",
         "--out", t / "o"], t, ["none.png: no such file"]),
    "--image without --background": lambda t, d: (
        ["predict", "--image", _photos(t, "p.png") / "p.png", "--out", t / "o"], t,
        ["need --background"]),
    "predict --out that is a file": lambda t, d: (
        ["predict", "--data", d, "--out", _photos(t, "p.png") / "p.png"], t, ["is a file"]),
    "predict --out that cannot be made": lambda t, d: (
        ["predict", "--data", d, "--out", "/proc/maskdepth-out"], d, ["cannot write"]),
    "--checkpoint that does not exist": lambda t, d: (
        ["predict", "--data", d, "--checkpoint", t / "gone.safetensors", "--out", t / "o"], d,
        ["gone.safetensors: no such file"]),
    "--engine onnx on a GPU": lambda t, d: (
        ["predict", "--data", d, "--engine", "onnx", "--device", "cuda", "--out", t / "o"], d,
        ["runs on the CPU"]),
    "an .onnx with the torch engine": lambda t, d: (
        ["predict", "--data", d, "--checkpoint", _onnx(t), "--engine", "torch", "--out", t / "o"],
        d, ["--engine onnx"]),
    "--device cuda with no GPU": lambda t, d: (
        ["predict", "--data", d, "--device", "cuda", "--out", t / "o"], d, ["no CUDA GPU"]),
    "--device that is not a device": lambda t, d: (
        ["predict", "--data", d, "--device", "toaster", "--out", t / "o"], d, ["unknown device 'toaster'"]),
    "synth --out under a file": lambda t, d: (
        ["synth", "--out", _photos(t, "p.png") / "p.png" / "sub", "--n", "1", "--size", "32"],
        t, ["p.png"]),
    "synth into a dataset": lambda t, d: (
        ["synth", "--out", d, "--n", "1", "--size", "32"], d, ["not empty"]),
    "synth --n 0": lambda t, d: (["synth", "--out", t / "o", "--n", "0"], t, ["--n"]),
    "synth --foregrounds that does not exist": lambda t, d: (
        ["synth", "--out", t / "o", "--n", "1", "--size", "32", "--foregrounds", t / "nope"], t,
        ["nope"]),
    "build without --foregrounds": lambda t, d: (
        ["build", "--backgrounds", _photos(t / "bg", "a.png"), "--out", t / "o"], t,
        ["--foregrounds"]),
    "export --out that is a folder": lambda t, d: (
        ["export", "--checkpoint", resolve_model(None).weights, "--out", d], d, [".onnx"]),
    "validate a folder with no manifest": lambda t, d: (
        ["validate", _photos(t / "photos", "a.png")], t, ["manifest.csv"]),
    "evaluate with nothing to evaluate": lambda t, d: (["evaluate", "--data", d], d,
                                                      ["--checkpoint"]),
    "serve --port past 65535": lambda t, d: (["serve", "--port", "99999"], t, ["1-65535"]),
    "train --config that is a photo": lambda t, d: (
        ["train", "--config", _photos(t / "p", "photo.png") / "photo.png", "--run", t / "run"],
        t, ["photo.png", "not a text file"]),
    "predict --video that is a text file named .png": lambda t, d: (
        ["predict", "--video", _text(t / "notes.png"), "--out", t / "o"], t,
        ["notes.png", "cannot read a frame"]),
    "predict --webcam that is a text file named .png": lambda t, d: (
        ["predict", "--webcam", _text(t / "notes.png"), "--background",
         _photos(t / "p", "room.png") / "room.png", "--out", t / "o"], t,
        ["notes.png", "cannot open it or read a frame"]),
}


def _text(path):
    path.write_text("shopping list\n")
    return path


def _onnx(folder):
    path = folder / "model.onnx"
    path.write_bytes(b"onnx")
    return path


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_refuses_with_one_line_and_leaves_the_files(name, dataset, tmp_path, capsys):
    argv, kept, fragments = CLI_CASES[name](tmp_path, dataset)
    before = _snapshot(kept)
    validating = name.startswith("validate")  # exit 1 and a list: the dataset has problems
    _fails(capsys, argv, *fragments, one_line=not validating, code=1 if validating else 2)
    assert _snapshot(kept) == before
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").glob("*.png"))


def test_a_second_run_into_the_same_folder_is_refused(dataset, tmp_path, capsys):
    out = tmp_path / "preds"
    assert main(["predict", "--data", str(dataset), "--out", str(out), "--no-align"]) == 0
    capsys.readouterr()
    masks = {p.name: p.read_bytes() for p in out.glob("*_mask.png")}
    _fails(capsys, ["predict", "--data", dataset, "--out", out], "not empty", "--overwrite")
    assert masks == {p.name: p.read_bytes() for p in out.glob("*_mask.png")}
    assert main(["predict", "--data", str(dataset), "--out", str(out), "--overwrite", "--no-align"]) == 0


def test_a_second_writer_is_locked_out(dataset, tmp_path, capsys):
    out = tmp_path / "preds"
    with folder_lock(out):
        for _ in range(2):  # a refused command must not free the lock for the next one
            with pytest.raises(UserError, match="another maskdepth command"), folder_lock(out):
                pass
        _fails(capsys, ["predict", "--data", dataset, "--out", out, "--overwrite"],
               "another maskdepth command")
        _fails(capsys, ["synth", "--out", out, "--n", "1", "--size", "32"],
               "another maskdepth command")


def test_a_second_training_on_one_run_folder_is_locked_out(tmp_path, capsys):
    """`train --run R` while another process trains into R: one line naming that PID, and R's
    files untouched."""
    import os

    from maskdepth.io.outputs import LOCK_NAME

    run = tmp_path / "run"
    with folder_lock(run):
        _fails(capsys, ["train", "--run", run, "--set", "trainer.max_steps=1"],
               f"another maskdepth command (PID {os.getpid()}) is writing to {run}")
    assert [p.name for p in run.iterdir()] == [LOCK_NAME]  # nothing of a run written


@pytest.mark.parametrize("command", ["predict", "synth"])
def test_a_full_disk_is_one_line_and_leaves_no_partial_file(command, dataset, tmp_path, capsys,
                                                            monkeypatch):
    import errno
    import os

    from maskdepth.io import atomic

    real_fdopen, writes = os.fdopen, []

    def fdopen(fd, *args, **kwargs):
        writes.append(fd)
        if len(writes) > 3:  # a few files fit, then the disk is full
            os.close(fd)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(atomic.os, "fdopen", fdopen)
    out = tmp_path / "out"
    argv = (["predict", "--data", dataset, "--out", out, "--no-align"] if command == "predict"
            else ["synth", "--out", out, "--n", "4", "--size", "32", "--batch-size", "2"])
    _fails(capsys, argv, "No space left on device")
    assert not [p for p in out.rglob("*") if atomic.TEMP_NAME.match(p.name)]
    assert not (out / "manifest.csv").exists()


@pytest.mark.parametrize("argv, fragment", [
    (["predict", "--data", "DS", "--out", "OUT", "--batch-size", "0"], "--batch-size"),
    (["predict", "--data", "DS", "--out", "OUT", "--batch-size", "-3"], "--batch-size"),
    (["predict", "--video", "v.mp4", "--out", "OUT", "--max-frames", "0"], "--max-frames"),
    (["synth", "--out", "OUT", "--size", "0"], "--size"),
    (["synth", "--out", "OUT", "--size", "1", "2", "3"], "--size"),
    (["predict", "--data", "DS", "--out", "OUT", "--overwrite", "--resume"], "not allowed with"),
])
def test_bad_numbers_are_refused_before_any_work(argv, fragment, tmp_path, capsys):
    argv = [str(tmp_path / a) if a in ("DS", "OUT") else a for a in argv]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2 and fragment in capsys.readouterr().err
    assert not (tmp_path / "OUT").exists()


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


def test_a_background_of_pure_noise_is_warned_about():
    from maskdepth.inference.mismatch import MISMATCH_WARNING

    rng = np.random.default_rng(0)
    image = np.zeros((96, 128, 3), np.uint8)
    image[:, :64] = 60
    image[20:70, 80:110] = 220  # a scene with edges
    noise = rng.integers(0, 256, image.shape, dtype=np.uint8)
    with pytest.warns(UserWarning, match="does not look like the image's scene"):
        prediction = MaskDepth.load().predict(image, noise)
    assert prediction.mismatch > MISMATCH_WARNING


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
    ("model.difference=maybe", "model.difference must be true or false"),
    ("model.shadow_head=true", "model.shadow_head=True: this maskdepth no longer has it"),
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


@pytest.mark.bad_input
def test_serve_on_a_port_in_use_is_refused_before_it_says_open(tmp_path, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = _fails(capsys, ["serve", "--port", port], f"127.0.0.1:{port}", "--port")
    assert "open http" not in err


@pytest.mark.bad_input
def test_every_unknown_config_key_is_named_in_one_message(tmp_path, capsys):
    """An unknown top-level key once hid the unknown keys inside known sections."""
    err = _fails(capsys, ["train", "--run", tmp_path / "run", "--set", "colour=red",
                          "optim.lrr=0.1", "data.sources=[{kind: engine, wieght: 2}]"],
                 "unknown key(s)")
    for key in ("colour", "optim.lrr", "data.sources[0].wieght"):
        assert key in err, (key, err)


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda md, room: md.predict(room, room, batch_size=0), "batch_size must be a whole number"),
    (lambda md, room: md.predict(room, room, batch_size=2.5), "got 2.5"),
    (lambda md, room: md.predict([room], room, batch_size=-1), "got -1"),
    (lambda md, room: md.predict(room.tolist(), room), "a nested list"),
    (lambda md, room: md.predict(b"\x89PNG...", room), "bytes of an encoded file"),
    (lambda md, room: MaskDepth(md.runner, max_side=0), "max_side must be a whole number"),
    (lambda md, room: MaskDepth(md.runner, max_side=-5), "got -5"),
])
@pytest.mark.bad_input
def test_api_arguments_that_make_no_sense_are_one_line_errors(call, fragment):
    md = MaskDepth.load()
    room = np.zeros((24, 32, 3), np.uint8)
    with pytest.raises(UserError, match=fragment) as error:
        call(md, room)
    assert "\n" not in str(error.value)


@pytest.mark.bad_input
def test_an_unwritable_json_path_is_refused_before_the_work(tmp_path, capsys):
    folder = tmp_path / "reports"
    folder.mkdir()
    assert main(["evaluate", "--baselines", "--engine-count", "4", "--json", str(folder)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_metrics_that_could_not_be_measured_are_null_in_the_json(tmp_path):
    from maskdepth.evaluation.suite import write_json

    write_json(tmp_path / "m.json", {"seq: model": {"f_measure": 0.5, "boundary_f": float("nan")}})
    text = (tmp_path / "m.json").read_text()
    assert "NaN" not in text
    assert json.loads(text) == {"seq: model": {"f_measure": 0.5, "boundary_f": None}}


@pytest.mark.bad_input
def test_big_endian_16_bit_and_premultiplied_pil_images_get_clear_answers():
    from PIL import Image

    from maskdepth.inference.api import to_rgb_array

    values = (np.arange(48 * 64).reshape(48, 64) * 20).astype(">u2")
    big_endian = Image.frombuffer("I;16B", (64, 48), values.tobytes(), "raw", "I;16B", 0, 1)
    for value in (values, big_endian):  # read as the 16-bit photo it is, like native uint16
        rgb = to_rgb_array(value)
        assert rgb.dtype == np.uint8 and rgb.max() == round(int(values.max()) * 255 / 65535)
    with pytest.raises(UserError, match="mode 'La', which PIL cannot turn into RGB"):
        to_rgb_array(Image.new("LA", (8, 8)).convert("La"))


@pytest.mark.parametrize("shape", [(1, 50), (50, 1), (7, 7)])
def test_photos_under_the_size_rule_get_one_line_everywhere(shape, tmp_path, capsys):
    """A 1-pixel-high, 1-pixel-wide or 7x7 photo: the API and the CLI give the one size rule's
    message (the HTTP API and live sessions: tests/test_serve.py), never an OpenCV assertion."""
    from maskdepth import MaskDepth
    from maskdepth.errors import UserError
    from maskdepth.io.images import write_rgb

    tiny = np.full((*shape, 3), 120, np.uint8)
    with pytest.raises(UserError, match="photos need at least 8x8"):
        MaskDepth.load().predict(tiny, tiny)
    write_rgb(tmp_path / "tiny.png", tiny)
    _fails(capsys, ["predict", "--image", tmp_path / "tiny.png", "--background",
                    tmp_path / "tiny.png", "--out", tmp_path / "out"], "photos need at least 8x8")


@pytest.mark.parametrize("argv", [["predict", "--checkpoint", "lite2", "--image", "{x}", "--background",
                                   "{x}", "--out", "{out}"],
                                  ["train", "--init", "lite2", "--run", "{out}"]])
def test_an_unknown_model_name_lists_the_shipped_ones(argv, tmp_path, capsys):
    from maskdepth.io.images import write_rgb

    write_rgb(tmp_path / "x.png", np.full((16, 16, 3), 90, np.uint8))
    argv = [a.format(x=tmp_path / "x.png", out=tmp_path / "out") for a in argv]
    _fails(capsys, argv, "lite2: no shipped model of that name", "shipped models: small, lite0")
    assert not (tmp_path / "out").exists()


def test_weights_with_nan_are_refused_by_every_loader(tmp_path, capsys):
    """A diverged run's weights (NaN in a tensor) are refused, naming the file, by --checkpoint,
    --init, export and the averaging script, before anything is written."""
    import subprocess
    import sys

    import torch

    from maskdepth.models import build_model
    from maskdepth.models.weights import save_model

    model = build_model(variant="fast")
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = float("nan")
    broken = save_model(model, tmp_path / "broken.safetensors")
    with torch.no_grad():
        next(model.parameters()).view(-1)[1] = float("inf")
    other = save_model(model, tmp_path / "other.safetensors")
    write = tmp_path / "x.png"
    from maskdepth.io.images import write_rgb
    write_rgb(write, np.full((16, 16, 3), 90, np.uint8))
    for argv in (["predict", "--checkpoint", broken, "--image", write, "--background", write,
                  "--out", tmp_path / "o1"],
                 ["train", "--init", broken, "--run", tmp_path / "o2"],
                 ["export", "--checkpoint", broken, "--out", tmp_path / "o3.onnx"]):
        _fails(capsys, argv, "broken.safetensors", "hold NaN or infinity")
    script = Path(__file__).resolve().parents[1] / "scripts" / "average_weights.py"
    done = subprocess.run([sys.executable, str(script), str(broken), str(other), "--out",
                           str(tmp_path / "soup.safetensors")], capture_output=True, text=True,
                          check=False)
    assert done.returncode != 0 and not (tmp_path / "soup.safetensors").exists()
    assert "hold NaN or infinity" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("setting, fragment", [
    ("optim.lr=.inf", "optim.lr must be a finite number, got inf"),
    ("optim.encoder_lr_scale=.inf", "optim.encoder_lr_scale must be a finite number, got inf"),
    ("trainer.max_minutes=.nan", "trainer.max_minutes must be a finite number, got nan"),
    ("optim.lr=5", "optim.lr must be at most 1, got 5.0"),
])
def test_non_finite_and_absurd_config_numbers_are_refused(setting, fragment, tmp_path, capsys):
    message = _fails(capsys, ["train", "--set", setting, "--run", tmp_path / "run"], fragment)
    assert "above 0" not in message  # one problem, said once
    assert not (tmp_path / "run").exists()


def test_a_yaml_number_read_as_text_is_taken_as_a_number():
    from maskdepth.training.checks import coerce

    assert coerce("1e-3", "float", "optim.lr") == 0.001  # YAML 1.1 reads 1e-3 as text
    with pytest.raises(Exception, match="optim.lr must be a number"):
        coerce("fast", "float", "optim.lr")


def test_a_batch_of_one_at_32_px_is_refused_before_training(tmp_path, capsys):
    _fails(capsys, ["train", "--set", "data.batch_size=1", "data.sizes=[32]", "data.size_steps=[0]",
                    "--run", tmp_path / "run"], "data.batch_size 1 with data.sizes 32 px")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["predict", "synth", "train", "evaluate"])
def test_no_writer_follows_a_symbolic_link_out_of_its_folder(command, dataset, tmp_path, capsys):
    """A link inside the output folder (to a folder elsewhere, holding a file): refused in one
    line naming the link, and nothing written or replaced through it."""
    from maskdepth.io.images import write_rgb

    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("a user's file")
    write_rgb(tmp_path / "x.png", np.full((16, 16, 3), 90, np.uint8))
    out.mkdir()
    (out / "x_frames").symlink_to(elsewhere, target_is_directory=True)
    argv = {"predict": ["predict", "--image", tmp_path / "x.png", "--background", tmp_path / "x.png",
                        "--out", out, "--overwrite"],
            "synth": ["synth", "--out", out, "--n", "1", "--size", "32"],
            "train": ["train", "--run", out, "--set", "trainer.max_steps=1"],
            "evaluate": ["evaluate", "--checkpoint", "small", "--data", dataset,
                         "--save-predictions", out]}[command]
    _fails(capsys, argv, f"{out / 'x_frames'}: a symbolic link inside")
    assert [p.name for p in elsewhere.iterdir()] == ["keep.txt"]
    assert (elsewhere / "keep.txt").read_text() == "a user's file"


def test_a_config_names_every_bad_key_in_one_message(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("optim:\n  lr: abc\ntrainer:\n  max_steps: xyz\n  bogus: 1\n")
    message = _fails(capsys, ["train", "--config", config, "--run", tmp_path / "run"],
                     "unknown key(s) trainer.bogus", "optim.lr must be a number, got 'abc'",
                     "trainer.max_steps must be a whole number, got 'xyz'")
    assert message.count("trainer.bogus") == 1
    _fails(capsys, ["train", "--set", "trainer=5", "--run", tmp_path / "run"],
           "trainer must be a section of keys (trainer.NAME: value), got 5")


def test_a_missing_webcam_is_one_line_without_opencvs_warnings(tmp_path):
    import subprocess
    import sys

    from maskdepth.io.images import write_rgb

    write_rgb(tmp_path / "room.png", np.full((32, 32, 3), 90, np.uint8))
    done = subprocess.run([sys.executable, "-m", "maskdepth", "predict", "--webcam", "63",
                           "--background", str(tmp_path / "room.png"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    expected = ("maskdepth predict: error: camera 63: OpenCV cannot open it or read a frame; "
                "check that it is connected and not in use (or give a video file or stream URL)")
    assert done.stderr.strip().splitlines() == [expected]


def test_a_jpeg_cut_short_behind_a_large_header_is_refused(tmp_path):
    """Headers claiming 12000x1000 pixels, a few hundred bytes of picture, an end marker:
    libjpeg decodes that into grey without an error; maskdepth refuses it as truncated."""
    import io

    from PIL import Image

    from maskdepth.errors import UserError
    from maskdepth.io.images import decode_rgb, read_rgb

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((1000, 12000, 3), np.uint8)).save(buffer, "JPEG")
    whole = buffer.getvalue()
    cut = whole[: whole.find(b"\xff\xda") + 200] + b"\xff\xd9"
    assert decode_rgb(whole, "whole").shape == (1000, 12000, 3)  # the intact file is fine
    with pytest.raises(UserError, match="cut: corrupt or truncated JPEG"):
        decode_rgb(cut, "cut")
    (tmp_path / "cut.jpg").write_bytes(cut)
    with pytest.raises(UserError, match="cut.jpg: corrupt or truncated JPEG"):
        read_rgb(tmp_path / "cut.jpg")

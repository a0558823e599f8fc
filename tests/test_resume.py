"""Long writers killed with SIGKILL at several points and resumed give exactly the files of an
uninterrupted run: synth, predict on a folder, a dataset and a video."""

from __future__ import annotations

import filecmp
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from maskdepth.io.atomic import TEMP_NAME
from maskdepth.io.faults import KILL_AFTER
from maskdepth.io.images import write_rgb
from maskdepth.io.journal import JOURNAL_NAME
from maskdepth.io.outputs import LOCK_NAME
from maskdepth.synth import SceneConfig, SceneEngine
from maskdepth.synth.export import export_dataset, seeded

pytestmark = pytest.mark.bad_input  # faults: kill -9 at any moment

# One thread in every run: the same float reductions, so the same bytes, run after run.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _maskdepth(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "maskdepth", *map(str, args)], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _finish(*args, process: subprocess.Popen | None = None) -> None:
    """Run a command to its end (or wait for `process`, started by _maskdepth) and check it
    succeeded."""
    process = process or _maskdepth(*args)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err


def _kill_after(entries: int, out: Path, *args) -> None:
    """Run a command that SIGKILLs itself as soon as its journal notes `entries` finished units
    (0: as soon as the journal exists, before anything is finished; io/faults.py)."""
    journal = out / JOURNAL_NAME
    before = len(journal.read_text().splitlines()) - 1 if journal.exists() else 0
    process = subprocess.Popen([sys.executable, "-m", "maskdepth", *map(str, args)],
                               env={**ENV, KILL_AFTER: str(entries)}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    _, err = process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL, f"it was not killed: {err}"
    assert len(journal.read_text().splitlines()) - 1 == max(entries, before)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and p.name != LOCK_NAME)


def _assert_same_files(expected: Path, actual: Path) -> None:
    names = _files(expected)
    assert names == _files(actual)
    assert not any(TEMP_NAME.match(Path(n).name) for n in names)
    assert JOURNAL_NAME not in names
    _, mismatch, errors = filecmp.cmpfiles(expected, actual, names, shallow=False)
    assert not mismatch and not errors, mismatch + errors


@pytest.mark.slow
def test_synth_killed_at_several_points_and_resumed_equals_one_run(tmp_path):
    args = ["synth", "--n", 30, "--batch-size", 3, "--size", 96, "--seed", 4]
    whole = _maskdepth(*args, "--out", tmp_path / "whole")  # beside the killed runs
    out = tmp_path / "killed"
    for entries in (0, 5):  # before the first batch, after five
        _kill_after(entries, out, *args, "--out", out)
    _finish(*args, "--out", out)  # the same command resumes
    _finish(process=whole)
    _assert_same_files(tmp_path / "whole", out)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> tuple[Path, Path]:
    """A folder of 24 images sharing one background, and a dataset of 24 samples (80x80)."""
    root = tmp_path_factory.mktemp("shots")
    engine = SceneEngine(SceneConfig(height=80, width=80), seed=2)
    manifest = export_dataset(seeded(engine, 2, 8), root / "dataset", 24, 8, progress=False)
    batch = engine.render(24, 5)
    images = root / "images"
    background = (batch["background"][0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    write_rgb(root / "background.png", background)
    for i in range(24):
        frame = (batch["image"][i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        write_rgb(images / f"shot{i:02d}.png", frame)
    return images, manifest.parent


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["images", "data"])
def test_predict_killed_at_several_points_and_resumed_equals_one_run(tmp_path, shots, mode):
    images, dataset = shots
    source = (["--images", images, "--background", images.parent / "background.png"]
              if mode == "images" else ["--data", dataset])
    args = ["predict", *source, "--batch-size", 2]
    whole = _maskdepth(*args, "--out", tmp_path / "whole")  # beside the killed runs
    out = tmp_path / "killed"
    _kill_after(0, out, *args, "--out", out)
    for entries in (1, 5):
        _kill_after(entries, out, *args, "--out", out, "--resume")
    _finish(*args, "--out", out, "--resume")
    _finish(process=whole)
    _assert_same_files(tmp_path / "whole", out)


@pytest.mark.slow
def test_predict_video_killed_and_resumed_equals_one_run(tmp_path, shots):
    from maskdepth.io.images import read_rgb
    from maskdepth.io.video import VideoWriter
    from maskdepth.io.video_out import read_video

    images, _ = shots
    video = tmp_path / "clip.mp4"
    with VideoWriter(video, fps=10) as writer:
        for path in sorted(images.iterdir()):
            writer.write(read_rgb(path))
    args = ["predict", "--video", video, "--batch-size", 3, "--segment-frames", 6, "--frames"]
    whole = _maskdepth(*args, "--out", tmp_path / "whole")  # beside the killed runs
    out = tmp_path / "killed"
    _kill_after(2, out, *args, "--out", out)  # 2 of the 4 segments finished
    assert (out / ".clip_mask.mkv.parts").is_dir() and not (out / "clip_mask.mkv").exists()
    _finish(*args, "--out", out, "--resume")
    _finish(process=whole)
    names = _files(tmp_path / "whole")
    assert {"clip_mask.mkv", "clip_depth.mkv", "clip_view.mp4",
            "clip_frames/000023_mask.png"} <= set(names)
    assert names == _files(out)
    stills = [n for n in names if n.endswith(".png")]
    _, mismatch, _ = filecmp.cmpfiles(tmp_path / "whole", out, stills, shallow=False)
    assert not mismatch
    # The videos: kept segments and new ones joined, frame for frame those of one run.
    for name, kind in (("clip_mask.mkv", "mask"), ("clip_depth.mkv", "depth"),
                       ("clip_view.mp4", "view")):
        whole = list(read_video(tmp_path / "whole" / name, kind))
        assert len(whole) == 24
        for expected, actual in zip(whole, read_video(out / name, kind), strict=True):
            assert np.array_equal(expected, actual), name


def test_predict_resume_refuses_other_options_and_finished_folders(tmp_path, shots, capsys):
    from maskdepth.cli import main as cli

    def main(args):
        return cli([str(a) for a in args])

    _, dataset = shots
    out = tmp_path / "killed"
    _kill_after(1, out, "predict", "--data", dataset, "--batch-size", 2, "--out", out)
    assert main(["predict", "--data", dataset, "--out", out]) == 2
    assert "interrupted run; add --resume" in capsys.readouterr().err
    assert main(["predict", "--data", dataset, "--batch-size", 4, "--out", out, "--resume"]) == 2
    assert "other settings (differing: batch_size)" in capsys.readouterr().err
    assert main(["predict", "--data", dataset, "--batch-size", 2, "--out", out, "--resume"]) == 0
    assert not (out / JOURNAL_NAME).exists()
    assert main(["predict", "--data", dataset, "--batch-size", 2, "--out", out, "--resume"]) == 2
    assert "holds no interrupted predict" in capsys.readouterr().err


@pytest.mark.bad_input
def test_a_resume_whose_video_was_replaced_at_the_same_path_is_refused(tmp_path, shots, capsys):
    """The journal keys inputs by content as well as by path: resuming onto another video would
    mix the old video's frames and clean plate with the new one's."""
    from maskdepth.cli import main
    from maskdepth.io.images import read_rgb
    from maskdepth.io.video import VideoWriter

    images, _ = shots
    frames = [read_rgb(path) for path in sorted(images.iterdir())]
    video, out = tmp_path / "clip.mp4", tmp_path / "out"
    with VideoWriter(video, fps=10) as writer:
        for frame in frames:
            writer.write(frame)
    _kill_after(1, out, "predict", "--video", video, "--batch-size", 3, "--out", out)
    with VideoWriter(video, fps=10) as writer:  # another video, same name
        for frame in frames[::-1]:
            writer.write(frame)
    assert main(["predict", "--video", str(video), "--batch-size", "3", "--out", str(out),
                 "--resume"]) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and f"content of {video.resolve()}" in err


@pytest.mark.bad_input
def test_a_kill_point_that_is_not_a_number_is_refused(tmp_path, monkeypatch, capsys):
    from maskdepth.cli import main

    monkeypatch.setenv(KILL_AFTER, "two")  # refused before any work: safe in this process
    assert main(["synth", "--n", "2", "--size", "32", "--out", str(tmp_path / "out")]) == 2
    assert "MASKDEPTH_KILL_AFTER='two' is not a whole number" in capsys.readouterr().err

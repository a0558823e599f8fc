"""End-to-end: the `maskdepth synth`, `bench` and top-level CLI."""

from __future__ import annotations

import json

import pytest

from maskdepth.cli import COMMANDS, main
from maskdepth.io.images import read_rgb
from maskdepth.io.validate import validate


def test_help_lists_every_command_with_an_example(capsys):
    assert main([]) == 0
    text = capsys.readouterr().out
    for name in COMMANDS:
        assert name in text
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        assert "example" in capsys.readouterr().out


def test_synth_writes_a_valid_dataset_and_a_contact_sheet(tmp_path, capsys):
    out = tmp_path / "scenes"
    assert main(["synth", "--out", str(out), "--n", "5", "--size", "64", "--seed", "2"]) == 0
    assert validate(out) == []
    sheet = read_rgb(out / "contact_sheet.png")
    assert sheet.shape[0] > 5 * 64 and sheet.shape[1] > 5 * 64
    assert "wrote 5 scenes" in capsys.readouterr().out


def test_synth_with_photos_and_cutouts(tmp_path, photo_folders):
    backgrounds, cutouts = photo_folders
    out = tmp_path / "mixed"
    args = ["synth", "--out", str(out), "--n", "4", "--size", "48", "64", "--clean",
            "--foregrounds", str(cutouts), "--backgrounds", str(backgrounds)]
    assert main(args) == 0
    assert validate(out) == []
    assert read_rgb(out / "images" / "000000.png").shape == (48, 64, 3)


def test_synth_reports_bad_input_without_a_traceback(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path), "--backgrounds", str(tmp_path)]) == 2
    assert "--foregrounds" in capsys.readouterr().err
    assert main(["synth", "--out", str(tmp_path), "--foregrounds", str(tmp_path)]) == 2
    assert "no RGBA cut-outs" in capsys.readouterr().err


def test_bench_synth_measures_both_rates(tmp_path):
    result = tmp_path / "bench.json"
    args = ["bench", "synth", "--size", "64", "--seconds", "0.2", "--export-n", "8",
            "--batch-size", "4", "--export-dir", str(tmp_path), "--json", str(result)]
    assert main(args) == 0
    numbers = json.loads(result.read_text())
    assert numbers["in_memory_scenes_per_s"] > 0 and numbers["to_disk_scenes_per_s"] > 0
    assert [p.name for p in tmp_path.iterdir()] == ["bench.json"]


@pytest.mark.parametrize("command", ["synth", "build", "export", "summary", "demo", "evaluate", "bench"])
def test_every_size_option_takes_one_or_two_positive_numbers(command, capsys):
    from maskdepth.cli import build_parser

    parser = build_parser()
    prefix = [command, "synth"] if command == "bench" else [command]
    required = {"build": ["--backgrounds", "b", "--foregrounds", "f", "--out", "o"],
                "export": ["--checkpoint", "c.safetensors", "--out", "o.onnx"]}.get(command, [])
    assert parser.parse_args([*prefix, *required, "--size", "48"]).size == (48, 48)
    assert parser.parse_args([*prefix, *required, "--size", "48", "64"]).size == (48, 64)
    for bad in (["1", "2", "3"], ["0"], ["-4"], ["big"]):
        with pytest.raises(SystemExit):
            parser.parse_args([*prefix, *required, "--size", *bad])
        assert "--size" in capsys.readouterr().err

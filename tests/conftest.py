"""Shared fixtures: small, fast scene-engine settings (64x64, tiny banks)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from maskdepth.synth import CaptureConfig, SceneConfig, SceneEngine

# 2 threads, as on the 2-core machines CI runs on; test_kernel_parity.py also runs with 1.
THREADS_ENV = "MASKDEPTH_TEST_THREADS"
torch.set_num_threads(int(os.environ.get(THREADS_ENV, "2")))


def small_config(**capture) -> SceneConfig:
    """64x64 scenes with small sprite and texture banks; capture effects off unless given."""
    clean = CaptureConfig.clean()
    for key, value in capture.items():
        setattr(clean, key, value)
    return SceneConfig(height=64, width=64, sprite_count=16, sprite_res=32, texture_count=6,
                       texture_res=16, capture=clean)


@pytest.fixture(scope="session")
def weights(tmp_path_factory):
    """An untrained small-sized model (seed 0) as a weights file: fast, any output."""
    from maskdepth.models import build_model
    from maskdepth.models.weights import save_model

    torch.manual_seed(0)
    return save_model(build_model(variant="fast"), tmp_path_factory.mktemp("w") / "m.safetensors")


@pytest.fixture(scope="session")
def clean_engine() -> SceneEngine:
    return SceneEngine(small_config(), seed=0)


@pytest.fixture()
def photo_folders(tmp_path):
    """Two background photos and two RGBA cut-outs on disk."""
    import cv2

    from maskdepth.io.atomic import atomic_write_bytes
    from maskdepth.io.images import write_rgb

    rng = np.random.default_rng(0)
    backgrounds, cutouts = tmp_path / "bg", tmp_path / "fg"
    for i in range(2):
        write_rgb(backgrounds / f"room{i}.png", rng.integers(0, 255, (90, 120, 3), dtype=np.uint8))
        rgba = np.zeros((60, 30, 4), np.uint8)
        rgba[..., :3] = rng.integers(0, 255, 3)
        rgba[5:55, 5:25, 3] = 255
        _, data = cv2.imencode(".png", rgba)
        atomic_write_bytes(cutouts / f"thing{i}.png", data.tobytes())
    return backgrounds, cutouts


BAD_INPUT = "bad_input"  # marker of a test of bad input or a fault (one kind per test item)


def pytest_collection_finish(session):
    """Note the bad-input tests that will run (after -k / -m deselection)."""
    session.config.stash[_bad_input_key] = {item.nodeid for item in session.items
                                            if item.get_closest_marker(BAD_INPUT)}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print how many kinds of bad input and faults the run checked, and how many passed."""
    marked = config.stash.get(_bad_input_key, set())
    if not marked:
        return
    passed = {r.nodeid for r in terminalreporter.stats.get("passed", []) if r.when == "call"}
    terminalreporter.write_sep("=", f"bad input and faults: {len(marked)} kinds checked, "
                                    f"{len(marked & passed)} passed")


_bad_input_key = pytest.StashKey[set]()

"""The light install: prediction, the API, video and the web app run without torch; the fastest
engine is the default; the shipped ONNX file is the export of the shipped weights."""

from __future__ import annotations

import numpy as np
import pytest

from light import without_train_extra
from maskdepth.cli import TRAIN_MODULES
from maskdepth.errors import UserError
from maskdepth.inference.api import MaskDepth
from maskdepth.io.atomic import file_digest
from maskdepth.models.zoo import resolve_model
from maskdepth.runtime.loader import choose_engine, load_runner, load_torch_model
from maskdepth.runtime.onnx_runner import SOURCE_KEY, OnnxRunner
from maskdepth.runtime.torch_runner import TorchRunner


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 12-frame 96x64 clip of a square crossing a textured room, and the empty room."""
    from maskdepth.io.images import write_rgb
    from maskdepth.io.video import VideoWriter

    folder = tmp_path_factory.mktemp("clip")
    rng = np.random.default_rng(0)
    room = np.kron(rng.integers(40, 220, (8, 12, 3), dtype=np.uint8), np.ones((8, 8, 1), np.uint8))
    with VideoWriter(folder / "walk.mp4", 10) as writer:
        for t in range(12):
            frame = room.copy()
            frame[16:56, 4 + 6 * t:24 + 6 * t] = (200, 60, 40)
            writer.write(frame)
    write_rgb(folder / "room.png", room)
    return folder / "walk.mp4", folder / "room.png"


@pytest.mark.slow
def test_predict_the_api_and_the_web_app_never_import_torch(tmp_path, clip):
    from maskdepth.cli import main

    video, room = clip
    assert main(["synth", "--out", str(tmp_path / "dataset"), "--n", "2", "--size", "64"]) == 0
    result = without_train_extra(f"""
        import numpy as np
        from maskdepth import MaskDepth
        from maskdepth.cli import main
        md = MaskDepth.load()
        assert md.runner.engine == "onnx"
        image = np.zeros((48, 64, 3), np.uint8)
        assert md.predict(image, image).mask.shape == (48, 64)
        assert main(["predict", "--video", {str(video)!r}, "--background", {str(room)!r},
                     "--out", "video_out"]) == 0
        assert main(["predict", "--image", {str(room)!r}, "--background", {str(room)!r},
                     "--out", "photo_out"]) == 0
        assert main(["predict", "--data", "dataset", "--out", "data_out"]) == 0
        from fastapi.testclient import TestClient
        from maskdepth.web.app import create_app
        assert TestClient(create_app(md)).get("/health").json()["engine"] == "onnx"
        assert main(["synth", "--out", "scenes", "--n", "1"]) == 2
        print("modules:", sorted(m for m in sys.modules if m.split(".")[0] in {TRAIN_MODULES!r}))
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "modules: []" in result.stdout
    assert 'pip install "maskdepth[train]"' in result.stderr  # synth named the extra
    assert (tmp_path / "video_out" / "walk_mask.mkv").is_file()
    assert (tmp_path / "photo_out" / "room_mask.png").is_file()
    assert len(list((tmp_path / "data_out").glob("*_mask.png"))) == 2


def test_the_fastest_engine_is_the_default():
    assert choose_engine("auto", "cpu") == "onnx" and choose_engine("auto", "cuda") == "torch"
    assert choose_engine("torch", "cpu") == "torch"
    with pytest.raises(UserError, match="runs on the CPU"):
        choose_engine("onnx", "cuda")
    with pytest.raises(UserError, match="unknown engine"):
        choose_engine("tensorrt", "cpu")
    default = load_runner()
    assert isinstance(default, OnnxRunner) and default.path == resolve_model("small").onnx
    assert isinstance(load_runner("small", engine="torch"), TorchRunner)
    assert isinstance(MaskDepth.load(engine="torch").runner, TorchRunner)
    # a shipped model named by its weights file (what --checkpoint small resolves to)
    assert load_runner(resolve_model("small").weights).path == resolve_model("small").onnx


def test_the_shipped_onnx_is_the_export_of_the_shipped_weights():
    from maskdepth.runtime.export import validate_onnx

    onnx_path = resolve_model("small").onnx
    runner = OnnxRunner(onnx_path)
    assert runner.metadata[SOURCE_KEY] == file_digest(resolve_model("small").weights)
    assert runner.lineage and runner.config is not None
    differences = validate_onnx(load_torch_model("small").network, onnx_path, 90, 130)
    assert max(differences.values()) < 1e-4, differences


def test_a_stale_shipped_onnx_is_not_used(tmp_path, monkeypatch):
    """Weights retrained without a new export: the loader exports them itself (cached)."""
    from maskdepth.models import build_model, zoo
    from maskdepth.runtime.export import export_onnx

    stale = export_onnx(build_model(variant="fast").eval(), tmp_path / "stale.onnx", 64, 64,
                        source_sha256="0" * 64)
    shipped_path = zoo.shipped_path
    monkeypatch.setattr(zoo, "shipped_path", lambda name, suffix=".safetensors":
                        stale if suffix == ".onnx" else shipped_path(name, suffix))
    monkeypatch.setenv("MASKDEPTH_CACHE", str(tmp_path / "cache"))
    runner = load_runner()
    assert runner.path.parent == tmp_path / "cache"
    assert runner.metadata[SOURCE_KEY] == file_digest(resolve_model("small").weights)


def test_the_engines_agree(tmp_path):
    rng = np.random.default_rng(3)
    background = rng.integers(0, 255, (72, 96, 3), dtype=np.uint8)
    image = background.copy()
    image[20:60, 30:60] = (220, 40, 40)
    onnx = MaskDepth.load(engine="onnx").predict(image, background, align=False)
    torch_result = MaskDepth.load(engine="torch").predict(image, background, align=False)
    assert (onnx.mask == torch_result.mask).mean() > 0.999
    assert np.abs(onnx.depth - torch_result.depth).max() <= 0.0015
    assert onnx.depth_mm.dtype == np.uint16
    assert np.array_equal(onnx.depth_mm.astype(np.float32) / 1000, onnx.depth)

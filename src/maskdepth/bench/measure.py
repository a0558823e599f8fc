"""`maskdepth bench all`, the measuring: every speed of the project in one run, side by side
(report.py writes them as docs/BENCHMARKS.md).

Measured: the machine's fp32 (and native bf16) matmul rate; scene engine and photo compositor
rates in memory and to disk; training images/s per variant and precision with a step profile;
inference images/s per variant for PyTorch and ONNX Runtime at 160 and 320 px, with GFLOPs and
the fraction of the matmul rate they reach; the video targets (bench/video.py); and the
classical baselines' speed on the same frames.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from maskdepth.bench.rates import (
    engine_stages,
    machine,
    model_rates,
    synth_export_rate,
    synth_stream_rate,
    timed,
)

# Where the photos of the photo compositor's rates are looked for when none are given: the
# training photos beside a checkout (docs/development.md).
DEFAULT_PHOTOS = Path("../shared/photos")


def photo_folder(given: Path | None) -> Path | None:
    """The folder of backgrounds/ and foregrounds/ to measure with: `given`, else DEFAULT_PHOTOS
    when it is there, else None (those rates are left out). A given folder without them is a
    UserError."""
    from maskdepth.errors import UserError

    if given is None:
        return DEFAULT_PHOTOS if (DEFAULT_PHOTOS / "backgrounds").is_dir() else None
    if not (given / "backgrounds").is_dir() or not (given / "foregrounds").is_dir():
        raise UserError(f"--photos {given}: needs backgrounds/ and foregrounds/ folders")
    return given


@dataclass
class Settings:
    """What to measure and how long. tiny: a seconds-long smoke run (CI) with tiny sizes."""

    tiny: bool = False
    seconds: float = 5.0
    photos: Path | None = None  # a folder with backgrounds/ and foregrounds/ (build rates)
    export_dir: str = "."

    @property
    def sizes(self) -> tuple[int, ...]:
        return (32, 64) if self.tiny else (160, 320)

    @property
    def video(self) -> tuple[int, int, int]:
        """(frames, height, width) of the end-to-end video."""
        return (16, 48, 64) if self.tiny else (300, 480, 640)


def matmul_gflops(dtype: torch.dtype, seconds: float, n: int = 2048) -> float:
    """The machine's dense matmul rate (GFLOP/s) for n x n matrices of `dtype`."""
    a, b = torch.rand(n, n, dtype=dtype), torch.rand(n, n, dtype=dtype)
    return 2 * n**3 * timed(lambda: a @ b, seconds, warmup=1) / 1e9


def _engine_rates(settings: Settings) -> dict:
    from maskdepth.synth import SceneConfig, SceneEngine

    size = 32 if settings.tiny else 160
    batch = 8 if settings.tiny else 64
    engine = SceneEngine(SceneConfig(height=size, width=size), seed=0)
    out = {"engine_stages": engine_stages(engine, batch, 2 if settings.tiny else 5),
           "engine_memory": synth_stream_rate(engine, batch, settings.seconds),
           "engine_disk": synth_export_rate(engine, batch * (1 if settings.tiny else 8), batch,
                                            settings.export_dir)}
    if settings.photos is not None:
        from maskdepth.synth.photos.compositor import PhotoCompositor, PhotoConfig

        compositor = PhotoCompositor(settings.photos / "backgrounds",
                                     settings.photos / "foregrounds",
                                     PhotoConfig(height=size, width=size), seed=0)
        out["build_memory"] = synth_stream_rate(compositor, batch, settings.seconds)
        out["build_disk"] = synth_export_rate(compositor, batch * (1 if settings.tiny else 8),
                                              batch, settings.export_dir)
    return out


def _variant_rates(settings: Settings, matmul: float) -> list[dict]:
    """Per variant and size: parameters, GFLOPs, PyTorch and ONNX Runtime inference and
    training images/s (fp32), and the fraction of the matmul rate inference reaches."""
    from maskdepth.models import build_model
    from maskdepth.models.config import VARIANT_NAMES
    from maskdepth.models.summary import gflops, parameter_count
    from maskdepth.runtime.export import export_onnx
    from maskdepth.runtime.onnx_runner import OnnxRunner

    rows = []
    batch = 2 if settings.tiny else 8
    for variant in VARIANT_NAMES:
        model = build_model(variant=variant, difference=True, refine=8)
        with tempfile.TemporaryDirectory() as folder:
            onnx_path = export_onnx(model.eval(), Path(folder) / "m.onnx", 64, 64)
            onnx = OnnxRunner(onnx_path)
            for size in settings.sizes:
                flops = gflops(model, size, size)
                rates = model_rates(model, size, size, batch, settings.seconds)
                x = torch.rand(batch, 3, size, size).numpy()
                onnx_rate = timed(lambda o=onnx, x=x: o.predict(x, x), settings.seconds) * batch
                rows.append({"variant": variant, "size": size,
                             "parameters_m": parameter_count(model) / 1e6, "gflops": flops,
                             "torch_infer": rates["inference_img_per_s"],
                             "onnx_infer": onnx_rate, "torch_train": rates["train_img_per_s"],
                             "matmul_fraction": flops * max(rates["inference_img_per_s"],
                                                            onnx_rate) / matmul})
    return rows


def _training_profile(settings: Settings) -> dict:
    """Step profile of the default recipe's model on engine data (a short run)."""
    from maskdepth.training.config import load_config
    from maskdepth.training.fit import fit

    size = 32 if settings.tiny else 160
    steps = 6 if settings.tiny else 40
    with tempfile.TemporaryDirectory() as run:
        config = load_config(None, [f"data.sizes=[{size}]", "data.size_steps=[0]",
                                    f"trainer.max_steps={steps}", f"trainer.val_every={steps}",
                                    "data.val_count=2", f"data.val_size={size}",
                                    "trainer.checkpoint_every=1000000"])
        fit(config, run, profile=True)
        report = json.loads((Path(run) / "profile.json").read_text())
    report["images_per_s"] = 1000 * config.data.batch_size / report["step_ms"]
    return report


def _video(settings: Settings) -> dict:
    """The video targets (bench/video.py) and the classical baselines' frames/s at 640x480."""
    from maskdepth.bench.clip import make_clip
    from maskdepth.bench.video import video_benchmark
    from maskdepth.io.images import read_rgb
    from maskdepth.io.video import read_frames

    frames, height, width = settings.video
    sizes = ((width, height),) if settings.tiny else ((1280, 720), (640, 480))
    results = video_benchmark(sizes, frames, runs=1 if settings.tiny else 3)
    with tempfile.TemporaryDirectory() as folder:
        clip, background = make_clip(Path(folder) / "clip.mp4", (width, height), 24)
        baselines = _baseline_rates(list(read_frames(clip)), read_rgb(background), settings.seconds)
    return {"sizes": results, "baselines": baselines}


def _baseline_rates(frames: list[np.ndarray], room: np.ndarray, seconds: float) -> dict:
    from maskdepth.evaluation.baselines import BASELINES

    rates = {}
    for name, method in BASELINES.items():
        index = iter(range(10**9))
        rates[name] = timed(lambda m=method, i=index: m(frames[next(i) % len(frames)], room),
                             seconds)
    return rates


def measure(settings: Settings, progress=print) -> dict:
    """Run every benchmark; returns the numbers (see report.render)."""
    results: dict = {"machine": machine(), "tiny": settings.tiny}
    from maskdepth.training.precision import cpu_has_native_bf16

    progress("matmul rates")
    results["matmul_fp32"] = matmul_gflops(torch.float32, settings.seconds)
    results["native_bf16"] = cpu_has_native_bf16()
    if results["native_bf16"]:
        results["matmul_bf16"] = matmul_gflops(torch.bfloat16, settings.seconds)
    progress("scene engine and photo compositor")
    results.update(_engine_rates(settings))
    progress("models: PyTorch and ONNX Runtime")
    results["variants"] = _variant_rates(settings, results["matmul_fp32"])
    progress("training step profile")
    results["profile"] = _training_profile(settings)
    share = results["profile"]["percent"]
    results["data_loss_percent"] = share.get("data_wait", 0) + share.get("loss", 0)
    progress("video end to end and baselines")
    results["video"] = _video(settings)
    for name, row in results["video"]["sizes"].items():
        results[f"video_fps_{name}"] = row["best_fps"]
    return results

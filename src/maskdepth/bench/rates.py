"""Single rates: throughput of one part measured on the machine at hand (never asserted in
tests), what `maskdepth bench synth|build|model` prints and `bench all` builds on.

    maskdepth bench synth --size 160
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from maskdepth.synth.engine.scene_engine import SceneEngine
from maskdepth.synth.export import export_dataset, seeded
from maskdepth.synth.photos.compositor import PhotoCompositor
from maskdepth.synth.stream import batch_seed


def engine_benchmark(engine: SceneEngine | PhotoCompositor, batch_size: int, seconds: float,
                     export_n: int, export_dir: str | Path) -> dict:
    """`bench synth` and `bench build`: scenes per second in memory and written to disk."""
    return {
        "batch_size": batch_size,
        "in_memory_scenes_per_s": round(synth_stream_rate(engine, batch_size, seconds), 1),
        "to_disk_scenes_per_s": round(synth_export_rate(engine, export_n, batch_size, export_dir), 1),
    }


def model_benchmark(variant: str, height: int, width: int, batch_size: int, seconds: float) -> dict:
    """`bench model`: a variant's parameters, GFLOPs per sample and its rates (model_rates)."""
    from maskdepth.models import build_model
    from maskdepth.models.summary import gflops, parameter_count

    model = build_model(variant=variant)
    return {
        "variant": variant,
        "batch_size": batch_size,
        "parameters": parameter_count(model),
        "gflops_per_sample": round(gflops(model, height, width), 2),
        **model_rates(model, height, width, batch_size, seconds),
    }


def synth_stream_rate(engine: SceneEngine | PhotoCompositor, batch_size: int, seconds: float, warmup: int = 2) -> float:
    """Scenes per second rendered in memory (as a training loop would draw them)."""
    for k in range(warmup):
        engine.render(batch_size, batch_seed(0, k))
    done, start, k = 0, time.perf_counter(), warmup
    while time.perf_counter() - start < seconds:
        engine.render(batch_size, batch_seed(0, k))
        done, k = done + batch_size, k + 1
    return done / (time.perf_counter() - start)


def engine_stages(engine: SceneEngine, batch_size: int, repeats: int = 5) -> dict[str, float]:
    """Wall milliseconds per scene of each stage of `SceneEngine.render` (best of `repeats`
    batches), and of encoding its five PNG files on one thread."""
    from maskdepth.synth.capture import apply_capture, apply_jpeg, sample_capture
    from maskdepth.synth.engine.scene import render_rooms, sample_rooms
    from maskdepth.synth.export import split_scenes, write_scene

    cfg = engine.config
    g = torch.Generator().manual_seed(1)
    scenes = sample_rooms(batch_size, cfg, engine.textures, engine.sprites, engine.pickers, g)
    clean = render_rooms(scenes, cfg.height, cfg.width)
    capture = sample_capture(batch_size, cfg.height, cfg.width, engine.noise_bank, cfg.capture, g)
    image, _ = apply_capture(clean["image"], clean["background"], capture)
    one = split_scenes(engine.render(batch_size, 0))[0]

    def best(step, per: int = batch_size) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        return 1000 * min(times) / per

    with tempfile.TemporaryDirectory(prefix=".maskdepth-bench-") as folder:
        return {
            "sample": best(lambda: sample_rooms(batch_size, cfg, engine.textures, engine.sprites,
                                                engine.pickers, torch.Generator().manual_seed(1))),
            "render": best(lambda: render_rooms(scenes, cfg.height, cfg.width)),
            "capture": best(lambda: apply_capture(clean["image"], clean["background"], capture)),
            "JPEG": best(lambda: apply_jpeg(image, capture.jpeg_quality)),
            "PNG files (one thread)": best(lambda: write_scene(Path(folder), "000000", one), per=1),
        }


def synth_export_rate(engine: SceneEngine | PhotoCompositor, count: int, batch_size: int, where: str = ".") -> float:
    """Samples per second rendered and written to disk as PNG files with a manifest, in a
    temporary folder under `where` (disks differ: measure on the one you will export to)."""
    with tempfile.TemporaryDirectory(dir=where, prefix=".maskdepth-bench-") as folder:
        start = time.perf_counter()
        export_dataset(seeded(engine, 0, batch_size), folder, count, batch_size, progress=False)
        return count / (time.perf_counter() - start)


def vector_width() -> str:
    """The widest x86 vector instructions the CPU offers ("AVX-512 with bf16", "AVX-512",
    "AVX2", "no AVX2"; from /proc/cpuinfo), on which speed figures depend."""
    try:
        with open("/proc/cpuinfo") as file:
            flags = next((line.split(":", 1)[1].split() for line in file if line.startswith("flags")), [])
    except OSError:
        return "unknown vector width"
    if "avx512f" in flags:
        return "AVX-512 with bf16" if "avx512_bf16" in flags else "AVX-512"
    return "AVX2" if "avx2" in flags else "no AVX2"


def machine() -> str:
    """A one-line description of where a benchmark ran: CPU model and cores, vector width,
    torch and its threads."""
    from maskdepth.models.lineage import hardware_name

    return (f"{hardware_name()}, {vector_width()}, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads")


def timed(step, seconds: float, warmup: int = 2) -> float:
    """Calls per second of `step()` over about `seconds` (after `warmup` calls)."""
    for _ in range(warmup):
        step()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or calls < 2:
        step()
        calls += 1
    return calls / (time.perf_counter() - start)


def model_rates(model, height: int, width: int, batch_size: int, seconds: float) -> dict[str, float]:
    """Images per second on this machine: inference (no grad) and training (forward, loss,
    backward, SGD step) on random inputs, and the share of the training step spent in the loss."""
    from maskdepth.training.losses import LossWeights, MaskDepthLoss

    image, background = torch.rand(2, batch_size, 3, height, width)
    batch = {"mask": (torch.rand(batch_size, 1, height, width) > 0.7).float(),
             "depth": 1 + 5 * torch.rand(batch_size, 1, height, width)}
    criterion = MaskDepthLoss(LossWeights())
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def infer():
        with torch.inference_mode():
            model(image, background)

    def train():
        optimizer.zero_grad(set_to_none=True)
        loss, _ = criterion(model(image, background), batch)
        loss.backward()
        optimizer.step()

    model.eval()
    inference = timed(infer, seconds) * batch_size
    model.train()
    training = timed(train, seconds) * batch_size
    return {"inference_img_per_s": round(inference, 1), "train_img_per_s": round(training, 1)}

"""Benchmarks: throughput measured on the machine at hand (never asserted in tests).

    maskdepth bench synth --size 160
"""

from __future__ import annotations

import tempfile
import time

import torch

from maskdepth.synth.engine import SceneEngine
from maskdepth.synth.export import export_dataset
from maskdepth.synth.stream import batch_seed


def synth_stream_rate(engine: SceneEngine, batch_size: int, seconds: float, warmup: int = 2) -> float:
    """Scenes per second rendered in memory (as a training loop would draw them)."""
    for k in range(warmup):
        engine.render(batch_size, batch_seed(0, k))
    done, start, k = 0, time.perf_counter(), warmup
    while time.perf_counter() - start < seconds:
        engine.render(batch_size, batch_seed(0, k))
        done, k = done + batch_size, k + 1
    return done / (time.perf_counter() - start)


def synth_export_rate(engine: SceneEngine, count: int, batch_size: int, where: str = ".") -> float:
    """Scenes per second rendered and written to disk as PNG files with a manifest, in a
    temporary folder under `where` (disks differ: measure on the one you will export to)."""
    with tempfile.TemporaryDirectory(dir=where, prefix=".maskdepth-bench-") as folder:
        start = time.perf_counter()
        export_dataset(engine, folder, count, batch_size=batch_size, progress=False)
        return count / (time.perf_counter() - start)


def machine() -> str:
    """A one-line description of where a benchmark ran."""
    import os
    import platform

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads")

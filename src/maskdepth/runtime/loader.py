"""The one model loader: every command, the API, the web app and training open models here.

    runner = load_runner()                                  # the shipped small model, fastest engine
    runner = load_runner("model.onnx")                      # ONNX Runtime
    runner = load_runner("runs/x/model.safetensors", engine="torch", device="cuda")
    runner = load_runner("runs/x/checkpoints/last.ckpt")    # exported to ONNX once, then cached
    loaded = load_torch_model("small")                      # the network itself: export, warm start

Each takes a model reference (models/zoo.py ModelRef, resolved once where the name or path
came in) or anything resolve_model takes. load_runner returns a runner
(runtime/onnx_runner.py): `predict(image, background)` on numpy arrays.
Engines: "onnx" (ONNX Runtime; the fastest on CPUs, and all the light install has), "torch"
(PyTorch, any device; needs `pip install "maskdepth[train]"`), "auto" (the default: torch on a
GPU, ONNX Runtime on the CPU). The shipped models come as ONNX too, so the default path never
imports torch; other .safetensors/.ckpt files run by ONNX Runtime are exported once with PyTorch
and cached by content (see onnx_cache_dir). Nothing is unpickled: weights are safetensors,
checkpoints are read with torch.load(weights_only=True), ONNX files by ONNX Runtime.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskdepth.errors import UserError
from maskdepth.models.zoo import ModelRef, resolve_model

MODEL_SUFFIXES = (".safetensors", ".ckpt", ".onnx")
ENGINES = ("auto", "onnx", "torch")
TRAIN_EXTRA = 'pip install "maskdepth[train]"'


def choose_engine(engine: str, device: str) -> str:
    """"onnx" or "torch" for a requested engine ("auto", "onnx", "torch") and device."""
    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    on_cpu = str(device) == "cpu"
    if engine == "onnx" and not on_cpu:
        raise UserError(f"--engine onnx runs on the CPU here; use --device cpu, or --engine "
                        f"torch for --device {device}")
    if engine == "auto":
        return "onnx" if on_cpu else "torch"
    return engine


def load_runner(value: ModelRef | str | os.PathLike | None = None, engine: str = "auto",
                device: str = "cpu", threads: int | None = None):
    """The model `value` (a ModelRef, a shipped model's name, None = small, or a .safetensors,
    .ckpt or .onnx file) ready to run on `engine` (see the module docstring) and `device`.
    threads: ONNX Runtime's threads (default: one per core)."""
    engine = choose_engine(engine, device)
    ref = _existing(value)
    if engine == "torch":
        if ref.suffix == ".onnx":
            raise UserError(f"{ref.weights}: an ONNX file runs with --engine onnx (or auto)")
        from maskdepth.runtime.torch_runner import TorchRunner

        loaded = load_torch_model(ref, device)
        return TorchRunner(loaded.network, loaded.lineage)
    from maskdepth.runtime.onnx_runner import SOURCE_KEY, OnnxRunner

    if ref.suffix == ".onnx":
        return OnnxRunner(ref.weights, threads)
    if ref.onnx is not None:
        runner = OnnxRunner(ref.onnx, threads)
        if runner.metadata.get(SOURCE_KEY) == ref.digest:  # exported from these weights
            return runner
    return _cached_runner(ref, threads)


@dataclass
class TorchModel:
    """A model's network opened with PyTorch: `network` (MaskDepthNet, eval mode, on the device
    asked for), the `lineage` stored with it and the reference it was opened from."""

    network: Any
    lineage: list[dict]
    ref: ModelRef


def load_torch_model(value: ModelRef | str | os.PathLike | None, device: str = "cpu") -> TorchModel:
    """The PyTorch network of a shipped name, .safetensors or .ckpt (a ModelRef or anything
    resolve_model takes): for what needs the network itself (the torch engine, export,
    summary, training from weights). The one place weights files are opened."""
    ref = _existing(value)
    try:
        import torch
    except ModuleNotFoundError:
        raise UserError(f"running {ref.weights.name} with PyTorch needs PyTorch, which this "
                        f"install lacks; {TRAIN_EXTRA}, or use --engine onnx") from None
    from maskdepth.models.weights import load_weights

    try:
        device = torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {device}: no CUDA GPU is available here; use --device cpu")
    network, lineage = load_weights(ref.weights)
    return TorchModel(network.to(device).eval(), lineage, ref)


def _existing(value) -> ModelRef:
    """resolve_model(value), refusing a file that is not there."""
    ref = resolve_model(value)
    if not ref.weights.is_file():
        raise UserError(f"{ref.weights}: no such model file; give a {', '.join(MODEL_SUFFIXES)} file")
    return ref


def onnx_cache_dir() -> Path:
    """Where ONNX exports of model files are kept: $MASKDEPTH_CACHE, else
    $XDG_CACHE_HOME/maskdepth, else ~/.cache/maskdepth."""
    if os.environ.get("MASKDEPTH_CACHE"):
        return Path(os.environ["MASKDEPTH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "maskdepth"


def _cached_runner(ref: ModelRef, threads: int | None):
    """An OnnxRunner of the ONNX export of a .safetensors/.ckpt file, made once (a few seconds)
    and cached by the file's SHA-256, so later loads take none. A cached export is used only
    when it reads and names these weights' SHA-256 as its source; otherwise it is made again
    (or, without PyTorch, refused naming the cache file)."""
    from maskdepth.runtime.onnx_runner import SOURCE_KEY, OnnxRunner

    cached = onnx_cache_dir() / f"{ref.digest[:20]}.onnx"
    problem = None
    if cached.is_file():
        try:
            runner = OnnxRunner(cached, threads)
        except UserError as error:
            problem = f"is damaged ({error})"
        else:
            if runner.metadata.get(SOURCE_KEY) == ref.digest:
                return runner
            problem = "was exported from other weights"
    _export_to_cache(ref, cached, problem)
    return OnnxRunner(cached, threads)


def _export_to_cache(ref: ModelRef, cached: Path, problem: str | None) -> None:
    """Export the weights `ref` to `cached` (replacing a bad one, `problem` saying what)."""
    try:
        from maskdepth.runtime.export import export_onnx
    except ModuleNotFoundError:
        if problem is not None:
            raise UserError(f"{cached}: the cached ONNX export of {ref.weights} {problem}; delete "
                            f"it (it is made again where PyTorch is installed)") from None
        raise UserError(f"{ref.weights} is PyTorch weights; running them with ONNX Runtime needs "
                        f"an export once, which needs PyTorch: {TRAIN_EXTRA}, or run `maskdepth "
                        f"export` where PyTorch is installed and pass the .onnx file") from None
    loaded = load_torch_model(ref)
    try:
        export_onnx(loaded.network, cached, lineage=loaded.lineage, source_sha256=ref.digest)
    except OSError as error:
        raise UserError(f"cannot write the ONNX export to {cached.parent} ({error.strerror});"
                        f" set MASKDEPTH_CACHE to a writable folder") from None

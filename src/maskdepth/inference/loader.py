"""The one model loader: every command, the API and the web app open models through `load_runner`.

    runner = load_runner()                                  # the shipped small model, fastest engine
    runner = load_runner("model.onnx")                      # ONNX Runtime
    runner = load_runner("runs/x/model.safetensors", engine="torch", device="cuda")
    runner = load_runner("runs/x/checkpoints/last.ckpt")    # exported to ONNX once, then cached

Each returns a runner (inference/runtime.py): `predict(image, background)` on numpy arrays.
Engines: "onnx" (ONNX Runtime; the fastest on CPUs, and all the light install has), "torch"
(PyTorch, any device; needs `pip install "maskdepth[train]"`), "auto" (the default: torch on a
GPU, ONNX Runtime on the CPU). The shipped models come as ONNX too, so the default path never
imports torch; other .safetensors/.ckpt files run by ONNX Runtime are exported once with PyTorch
and cached by content (see onnx_cache_dir). Nothing is unpickled: weights are safetensors,
checkpoints are read with torch.load(weights_only=True), ONNX files by ONNX Runtime.
"""

from __future__ import annotations

import os
from pathlib import Path

from maskdepth.errors import UserError
from maskdepth.models.zoo import resolve_weights, shipped_onnx

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


def load_runner(value: str | os.PathLike | None = None, engine: str = "auto",
                device: str = "cpu", threads: int | None = None):
    """The model `value` (a shipped model's name, None = small, or a .safetensors, .ckpt or
    .onnx file) ready to run on `engine` (see the module docstring) and `device`. threads: ONNX
    Runtime's threads (default: one per core)."""
    engine = choose_engine(engine, device)
    path = resolve_weights(value)
    if not path.is_file():
        raise UserError(f"{path}: no such model file; give a {', '.join(MODEL_SUFFIXES)} file")
    onnx_file = path.suffix.lower() == ".onnx"
    if engine == "torch":
        if onnx_file:
            raise UserError(f"{path}: an ONNX file runs with --engine onnx (or auto)")
        from maskdepth.inference.predictor import TorchRunner

        return TorchRunner(*_torch_model(path, device))
    from maskdepth.inference.runtime import SOURCE_KEY, OnnxRunner
    from maskdepth.io.atomic import file_digest

    if onnx_file:
        return OnnxRunner(path, threads)
    shipped = shipped_onnx(path)
    if shipped is not None:
        runner = OnnxRunner(shipped, threads)
        if runner.metadata.get(SOURCE_KEY) == file_digest(path):  # exported from these weights
            return runner
    return _cached_runner(path, threads)


def load_torch_model(value: str | os.PathLike | None, device: str = "cpu"):
    """The PyTorch model (MaskDepthNet, eval mode) of a shipped name, .safetensors or .ckpt:
    for what needs the network itself (export, training from weights)."""
    path = resolve_weights(value)
    if not path.is_file():
        raise UserError(f"{path}: no such model file; give a {', '.join(MODEL_SUFFIXES)} file")
    return _torch_model(path, device)[0]


def _torch_model(path: Path, device: str):
    """(MaskDepthNet on `device`, its lineage)."""
    try:
        import torch
    except ModuleNotFoundError:
        raise UserError(f"running {path.name} with PyTorch needs PyTorch, which this install "
                        f"lacks; {TRAIN_EXTRA}, or use --engine onnx") from None
    from maskdepth.models.weights import load_weights

    try:
        device = torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {device}: no CUDA GPU is available here; use --device cpu")
    model, lineage = load_weights(path)
    return model.to(device), lineage


def onnx_cache_dir() -> Path:
    """Where ONNX exports of model files are kept: $MASKDEPTH_CACHE, else
    $XDG_CACHE_HOME/maskdepth, else ~/.cache/maskdepth."""
    if os.environ.get("MASKDEPTH_CACHE"):
        return Path(os.environ["MASKDEPTH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "maskdepth"


def _cached_runner(path: Path, threads: int | None):
    """An OnnxRunner of the ONNX export of a .safetensors/.ckpt file, made once (a few seconds)
    and cached by the file's SHA-256, so later loads take none. A cached export is used only
    when it reads and names these weights' SHA-256 as its source; otherwise it is made again
    (or, without PyTorch, refused naming the cache file)."""
    from maskdepth.inference.runtime import SOURCE_KEY, OnnxRunner
    from maskdepth.io.atomic import file_digest

    digest = file_digest(path)
    cached = onnx_cache_dir() / f"{digest[:20]}.onnx"
    problem = None
    if cached.is_file():
        try:
            runner = OnnxRunner(cached, threads)
        except UserError as error:
            problem = f"is damaged ({error})"
        else:
            if runner.metadata.get(SOURCE_KEY) == digest:
                return runner
            problem = "was exported from other weights"
    _export_to_cache(path, cached, digest, problem)
    return OnnxRunner(cached, threads)


def _export_to_cache(path: Path, cached: Path, digest: str, problem: str | None) -> None:
    """Export the weights `path` to `cached` (replacing a bad one, `problem` saying what)."""
    try:
        from maskdepth.inference.onnx import export_onnx
        from maskdepth.models.weights import load_weights
    except ModuleNotFoundError:
        if problem is not None:
            raise UserError(f"{cached}: the cached ONNX export of {path} {problem}; delete it "
                            f"(it is made again where PyTorch is installed)") from None
        raise UserError(f"{path} is PyTorch weights; running them with ONNX Runtime needs an "
                        f"export once, which needs PyTorch: {TRAIN_EXTRA}, or run `maskdepth "
                        f"export` where PyTorch is installed and pass the .onnx file") from None
    model, lineage = load_weights(path)
    try:
        export_onnx(model, cached, lineage=lineage, source_sha256=digest)
    except OSError as error:
        raise UserError(f"cannot write the ONNX export to {cached.parent} ({error.strerror});"
                        f" set MASKDEPTH_CACHE to a writable folder") from None

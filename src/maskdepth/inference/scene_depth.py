"""Depth models for the empty scene: run once per background to give the scene prior's metric
depth (inference/prior.py). Torch-free.

    model = load_scene_depth_model("builtin")               # FastDepth, shipped as ONNX
    model = load_scene_depth_model("depth_anything.onnx")   # a user's model (ONNX or TFLite)
    metres = model(background)                              # (h, w) float32 at the model's size

The built-in model is FastDepth (Wofk et al., ICRA 2019; MIT), trained on NYU Depth v2's real
rooms, pruned and quantised to int8 as distributed in openmv/openmv, converted to ONNX by
scripts/convert_tflite_depth.py (provenance and licence: weights/NOTICE.md). It is good at room
scale and weak within arm's reach (docs/experiments.md).

A user's model, ONNX or TFLite, takes one RGB image and gives metric depth:
- input (1, H, W, 3) or (1, 3, H, W); uint8 inputs get 0..255, float inputs RGB in [0, 1]
  normalised by ImageNet's mean and std (the convention of Depth Anything, DPT and ZoeDepth
  exports); a fixed H, W is used as it is, a free one becomes DYNAMIC_SIDE on the longer side
  (a multiple of 14, Depth Anything's patch) with the photo's aspect;
- its first output: metres, any shape that squeezes to (h, w).
TFLite files need `pip install ai-edge-litert`.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from maskdepth.errors import UserError

BUILTIN = "builtin"  # the name that selects the shipped model
BUILTIN_FILE = "fastdepth.onnx"
BUILTIN_DESCRIPTION = "FastDepth (NYU Depth v2, int8), built in"
NONE = "none"  # no scene-depth model: the network's depth alone
DYNAMIC_SIDE = 518  # a free input size's longer side (37 patches of 14 px)
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
SUFFIXES = (".onnx", ".tflite")
LITERT_EXTRA = "pip install ai-edge-litert"


def builtin_path() -> Path:
    return Path(str(resources.files("maskdepth") / "weights" / BUILTIN_FILE))


class SceneDepthModel:
    """A metric depth model on one RGB photo. `source`: what `/health`, `--json` and `summary`
    report (its name, or file name, and the first 12 hex digits of its SHA-256)."""

    def __init__(self, path: Path, description: str | None = None):
        self.path = path
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        self.source = f"{description or path.name} (sha256 {digest})"
        self._run, self._input = (_tflite_session if path.suffix.lower() == ".tflite"
                                  else _onnx_session)(path)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (h, w) float32 metres at the model's own size (not the
        photo's); 0 where the model gives nothing finite or positive."""
        shape, dtype, channels_last = self._input
        height, width = _input_size(shape, rgb.shape[:2], channels_last)
        small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA
                           if height < rgb.shape[0] else cv2.INTER_LINEAR)
        if dtype == np.uint8:
            batch = small[None]
        else:
            batch = ((small.astype(np.float32) / 255 - IMAGENET_MEAN) / IMAGENET_STD)[None]
        if not channels_last:
            batch = batch.transpose(0, 3, 1, 2)
        depth = np.asarray(self._run(np.ascontiguousarray(batch.astype(dtype))), np.float32)
        depth = depth.squeeze()
        if depth.ndim != 2:
            raise UserError(f"{self.path}: the scene-depth model's output has shape "
                            f"{depth.shape}; it must squeeze to (height, width) metres")
        return np.where(np.isfinite(depth) & (depth > 0), depth, 0).astype(np.float32)


def _input_size(shape, size: tuple[int, int], channels_last: bool) -> tuple[int, int]:
    height, width = (shape[1], shape[2]) if channels_last else (shape[2], shape[3])
    if isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0:
        return height, width
    scale = DYNAMIC_SIDE / max(size)
    return tuple(max(14, round(side * scale / 14) * 14) for side in size)


def _layout(path: Path, shape) -> bool:
    """True for channels last (N, H, W, 3), False for (N, 3, H, W); else a UserError."""
    if len(shape) == 4 and shape[3] == 3:
        return True
    if len(shape) == 4 and shape[1] == 3:
        return False
    raise UserError(f"{path}: the scene-depth model's input has shape {list(shape)}; it must "
                    f"take one RGB image, (1, H, W, 3) or (1, 3, H, W)")


def _onnx_session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    # basic graph optimisations only: the extended ones fuse an int8 model's quantise pairs into
    # int8 convolutions whose x86 kernels saturate (scripts/convert_tflite_depth.py)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - onnxruntime's errors share no base class
        raise UserError(f"{path}: ONNX Runtime cannot open it as a depth model "
                        f"({str(error).splitlines()[0][:120]})") from None
    source = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else None for d in source.shape]
    dtype = np.uint8 if source.type == "tensor(uint8)" else np.float32
    name = source.name
    return (lambda batch: session.run(None, {name: batch})[0]), (shape, dtype, _layout(path, shape))


def _tflite_session(path: Path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise UserError(f"{path}: TFLite models need LiteRT; {LITERT_EXTRA} (or convert the "
                        f"model to ONNX)") from None
    try:
        interpreter = Interpreter(str(path))
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        raise UserError(f"{path}: LiteRT cannot open it as a depth model ({error})") from None
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    shape = [int(d) for d in source["shape"]]
    if source["dtype"] not in (np.uint8, np.float32):  # uint8 inputs take 0..255, as quantised
        raise UserError(f"{path}: inputs of type {source['dtype'].__name__} are not supported; "
                        f"give a model with uint8 or float32 input")
    dtype = source["dtype"]
    out_scale, out_zero = target["quantization"]

    def run(batch: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(source["index"], batch)
        interpreter.invoke()
        output = interpreter.get_tensor(target["index"]).astype(np.float32)
        return (output - out_zero) * out_scale if out_scale else output

    return run, (shape, dtype, _layout(path, shape))


def load_scene_depth_model(value: str | Path | None) -> SceneDepthModel | None:
    """"builtin" (the shipped FastDepth), "none" or None (no model), or an .onnx/.tflite file."""
    if value is None or str(value) == NONE:
        return None
    if str(value) == BUILTIN:
        return SceneDepthModel(builtin_path(), BUILTIN_DESCRIPTION)
    path = Path(value)
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(f"{path}: a scene-depth model must be an {' or '.join(SUFFIXES)} file "
                        f"(or '{BUILTIN}', or '{NONE}')")
    if not path.is_file():
        raise UserError(f"{path}: no such scene-depth model file")
    return SceneDepthModel(path)

"""ONNX export of a MaskDepthNet, its parity check, and running the exported file.

    maskdepth export --checkpoint model.safetensors --out model.onnx

    export_onnx(model, "model.onnx")                   # dynamic batch, height and width
    validate_onnx(model, "model.onnx", 197, 213)       # {"mask_logits": 3e-8, "depth": 1e-6}
    onnx_model = load_onnx("model.onnx")               # onnxruntime only; no torch model code runs
    outputs = onnx_model(image, background)            # same dict as MaskDepthNet.forward

The graph takes the same inputs and gives the same outputs as `MaskDepthNet.forward`:
image, background (B, 3, H, W) float32 in [0, 1], any H and W; mask_logits, depth (metres)
[, shadow_logits] (B, 1, H, W). The padding to a multiple of 32 and the crop back are traced
from the input's shape, so they stay dynamic in the graph. The model config is stored in the
file's metadata under the same key as in weights files, so the file describes itself.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from maskdepth.errors import UserError
from maskdepth.io.atomic import atomic_write_bytes
from maskdepth.models import ModelConfig
from maskdepth.models.lineage import LINEAGE_KEY, parse_lineage
from maskdepth.models.weights import CONFIG_KEY

INPUT_NAMES = ("image", "background")
DYNAMIC_AXES = {0: "batch", 2: "height", 3: "width"}


def export_onnx(model: nn.Module, path: str | os.PathLike, height: int = 160, width: int = 160,
                opset: int = 17, lineage: list[dict] | None = None) -> Path:
    """Trace `model` (float32; put in eval mode) on (1, 3, height, width) inputs and write ONNX
    atomically, with the model config and `lineage` (models/lineage.py) in its metadata.
    Returns the path written.

    Uses the TorchScript exporter (dynamo=False): the dynamo one needs onnxscript, and tracing
    already records the padding arithmetic on the input's symbolic shape."""
    import onnx

    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(0)
    image, background = (torch.rand(1, 3, height, width, generator=generator).to(device) for _ in range(2))
    with torch.no_grad():
        channels = {name: value.shape[1] for name, value in model(image, background).items()}
    output_names = list(channels)  # the dict's keys, in the order the exporter flattens them
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The exporter's deprecation notice and the TracerWarning of forward's shape check
        # (a Python bool, rightly constant in the graph) say nothing the user can act on.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            model, (image, background), buffer, dynamo=False, opset_version=opset,
            input_names=list(INPUT_NAMES), output_names=output_names,
            dynamic_axes={name: DYNAMIC_AXES for name in (*INPUT_NAMES, *output_names)})
    proto = onnx.load_from_string(buffer.getvalue())
    for output in proto.graph.output:  # the crop `[..., :H, :W]` leaves the channel dim symbolic
        output.type.tensor_type.shape.dim[1].dim_value = channels[output.name]
    config = getattr(model, "config", None)
    props = {CONFIG_KEY: json.dumps(config.to_dict())} if config is not None else {}
    if lineage:
        props[LINEAGE_KEY] = json.dumps(lineage)
    onnx.helper.set_model_props(proto, props)
    return atomic_write_bytes(path, proto.SerializeToString())


class OnnxModel:
    """An exported model run by ONNX Runtime, called like MaskDepthNet (torch tensors in and out).

    device: where inputs must be (CPU: tensors go to ONNX Runtime as numpy arrays).
    config: the ModelConfig stored at export, or None if the file has none; lineage: the runs
    that shaped its weights ([] when none were recorded).
    """

    def __init__(self, path: str | os.PathLike, providers: list[str] | None = None):
        import onnxruntime

        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"{self.path}: no such ONNX model file")
        options = onnxruntime.SessionOptions()
        # No busy-waiting between runs: the cores go to decoding and writing, which overlap
        # the model in video prediction (spinning cost about a third of the frame rate there).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = onnxruntime.InferenceSession(
                str(self.path), options, providers=providers or ["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime's errors share no base class but Exception
            raise UserError(f"{self.path}: not a readable ONNX model ({error}); "
                            f"write one with `maskdepth export`") from error
        inputs = [node.name for node in self.session.get_inputs()]
        if sorted(inputs) != sorted(INPUT_NAMES):
            raise UserError(f"{self.path}: inputs are {inputs}, not {list(INPUT_NAMES)}; "
                            f"is it a model written by `maskdepth export`?")
        self.output_names = [node.name for node in self.session.get_outputs()]
        self.device = torch.device("cpu")
        metadata = self.session.get_modelmeta().custom_metadata_map
        self.config = _read_config(metadata)
        self.lineage = parse_lineage(metadata.get(LINEAGE_KEY), self.path)

    def __call__(self, image: torch.Tensor, background: torch.Tensor) -> dict[str, torch.Tensor]:
        """image, background (B, 3, H, W) in [0, 1] -> {name: (B, 1, H, W)}, as MaskDepthNet."""
        if image.shape != background.shape or image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"image and background must both be (B, 3, H, W); got "
                             f"{tuple(image.shape)} and {tuple(background.shape)}")
        feed = {"image": _to_numpy(image), "background": _to_numpy(background)}
        outputs = self.session.run(self.output_names, feed)
        return {name: torch.from_numpy(value) for name, value in zip(self.output_names, outputs)}


def load_onnx(path: str | os.PathLike, providers: list[str] | None = None) -> OnnxModel:
    """An exported model, ready to call (see OnnxModel)."""
    return OnnxModel(path, providers)


@torch.no_grad()
def validate_onnx(model: nn.Module, path: str | os.PathLike, height: int, width: int,
                  batch_size: int = 2, seed: int = 0) -> dict[str, float]:
    """Max abs difference per output between PyTorch and ONNX Runtime (CPU) on the same random
    (batch_size, 3, height, width) inputs. Pick a size other than the export one (and not a
    multiple of 32) so that the check covers the dynamic shapes and padding."""
    generator = torch.Generator().manual_seed(seed)
    image, background = (torch.rand(batch_size, 3, height, width, generator=generator) for _ in range(2))
    model.eval()
    device = next(model.parameters()).device
    expected = model(image.to(device), background.to(device))
    actual = OnnxModel(path, ["CPUExecutionProvider"])(image, background)
    if set(actual) != set(expected):
        raise ValueError(f"{path}: outputs {sorted(actual)} differ from the model's {sorted(expected)}")
    return {name: (actual[name] - expected[name].float().cpu()).abs().max().item() for name in expected}


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().to("cpu", torch.float32).numpy())


def _read_config(metadata: dict[str, str]) -> ModelConfig | None:
    """The ModelConfig stored by export_onnx, or None."""
    if CONFIG_KEY not in metadata:
        return None
    return ModelConfig.from_dict(json.loads(metadata[CONFIG_KEY]))

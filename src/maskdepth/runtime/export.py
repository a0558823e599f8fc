"""ONNX export of a MaskDepthNet, its parity check, and running the exported file.

    maskdepth export --checkpoint model.safetensors --out model.onnx

    export_onnx(model, "model.onnx")                   # dynamic batch, height and width
    validate_onnx(model, "model.onnx", 197, 213)       # {"mask_logits": 3e-8, "depth": 1e-6}
    runner = OnnxRunner("model.onnx")                  # runtime/onnx_runner.py
    outputs = runner.outputs(image, background)        # numpy; same dict as MaskDepthNet.forward

The graph takes the same inputs and gives the same outputs as `MaskDepthNet.forward`:
image, background (B, 3, H, W) float32 in [0, 1], any H and W; mask_logits, depth (metres)
(B, 1, H, W). The padding to a multiple of 32 and the crop back are traced
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

from maskdepth.io.atomic import atomic_write_bytes
from maskdepth.models.config import CONFIG_KEY
from maskdepth.models.lineage import LINEAGE_KEY
from maskdepth.runtime.onnx_runner import INPUT_NAMES, PRIOR_INPUT, SOURCE_KEY, OnnxRunner

DYNAMIC_AXES = {0: "batch", 2: "height", 3: "width"}


def export_onnx(model: nn.Module, path: str | os.PathLike, height: int = 160, width: int = 160,
                opset: int = 17, lineage: list[dict] | None = None,
                source_sha256: str | None = None) -> Path:
    """Trace `model` (float32; put in eval mode) on (1, 3, height, width) inputs and write ONNX
    atomically, with the model config, `lineage` (models/lineage.py) and the SHA-256 of the
    weights file it came from (`source_sha256`) in its metadata. Returns the path written.

    Uses the TorchScript exporter (dynamo=False): the dynamo one needs onnxscript, and tracing
    already records the padding arithmetic on the input's symbolic shape."""
    import onnx

    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(0)
    image, background = (torch.rand(1, 3, height, width, generator=generator).to(device) for _ in range(2))
    inputs, names = (image, background), list(INPUT_NAMES)
    if getattr(getattr(model, "config", None), "prior", False):  # the scene prior, metres
        inputs, names = (*inputs, 1 + 4 * torch.rand(1, 1, height, width, generator=generator).to(device)), \
            [*names, PRIOR_INPUT]
    with torch.no_grad():
        channels = {name: value.shape[1] for name, value in model(*inputs).items()}
    output_names = list(channels)  # the dict's keys, in the order the exporter flattens them
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The exporter's deprecation notice and the TracerWarning of forward's shape check
        # (a Python bool, rightly constant in the graph) say nothing the user can act on.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            model, inputs, buffer, dynamo=False, opset_version=opset,
            input_names=names, output_names=output_names,
            dynamic_axes={name: DYNAMIC_AXES for name in (*names, *output_names)})
    proto = onnx.load_from_string(buffer.getvalue())
    for output in proto.graph.output:  # the crop `[..., :H, :W]` leaves the channel dim symbolic
        output.type.tensor_type.shape.dim[1].dim_value = channels[output.name]
    config = getattr(model, "config", None)
    props = {CONFIG_KEY: json.dumps(config.to_dict())} if config is not None else {}
    if lineage:
        props[LINEAGE_KEY] = json.dumps(lineage)
    if source_sha256:
        props[SOURCE_KEY] = source_sha256
    onnx.helper.set_model_props(proto, props)
    return atomic_write_bytes(path, proto.SerializeToString())


@torch.no_grad()
def validate_onnx(model: nn.Module, path: str | os.PathLike, height: int, width: int,
                  batch_size: int = 2, seed: int = 0) -> dict[str, float]:
    """Max abs difference per output between PyTorch and ONNX Runtime (CPU) on the same random
    (batch_size, 3, height, width) inputs. Pick a size other than the export one (and not a
    multiple of 32) so that the check covers the dynamic shapes and padding."""
    generator = torch.Generator().manual_seed(seed)
    image, background = (torch.rand(batch_size, 3, height, width, generator=generator) for _ in range(2))
    prior = None
    if getattr(getattr(model, "config", None), "prior", False):
        prior = 1 + 4 * torch.rand(batch_size, 1, height, width, generator=generator)
        prior[..., : height // 4, :] = 0  # unknown there
    model.eval()
    device = next(model.parameters()).device
    expected = model(image.to(device), background.to(device),
                     prior.to(device) if prior is not None else None)
    actual = OnnxRunner(path).outputs(image.numpy(), background.numpy(),
                                      prior.numpy() if prior is not None else None)
    if set(actual) != set(expected):
        raise ValueError(f"{path}: outputs {sorted(actual)} differ from the model's {sorted(expected)}")
    return {name: float(np.abs(actual[name] - expected[name].float().cpu().numpy()).max())
            for name in expected}

"""Running a model on numpy arrays: the contract every engine keeps, and ONNX Runtime's engine.

    runner = OnnxRunner("model.onnx")                         # torch is never imported here
    probability, depth = runner.predict(image, background)    # (B, 3, H, W) -> 2 x (B, 1, H, W)

A runner is what `MaskDepth` (inference/api.py) holds. It has `predict(image, background)`:
image, background (B, 3, H, W) float32 in [0, 1], any H and W -> (mask probability (B, 1, H, W)
float32 in [0, 1], depth (B, 1, H, W) float32 metres, rounded to the millimetres a depth PNG
stores); `config` (the ModelConfig, or None when the file has none), `lineage` (the runs that
shaped the weights) and `engine` ("onnx" or "torch"). The PyTorch runner lives in
runtime/torch_runner.py; this file needs only numpy and ONNX Runtime, so that prediction runs on
the light install (`pip install maskdepth`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from maskdepth.errors import UserError
from maskdepth.models.config import CONFIG_KEY, ModelConfig, stored_config
from maskdepth.models.lineage import LINEAGE_KEY, parse_lineage

INPUT_NAMES = ("image", "background")
PRIOR_INPUT = "prior"  # a third input of models with ModelConfig.prior: (B, 1, H, W) metres, 0 unknown
SOURCE_KEY = "maskdepth.source_sha256"  # ONNX metadata: SHA-256 of the weights it came from


def probability_and_depth(mask_logits: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The network's raw outputs (B, 1, H, W) -> (sigmoid probability in [0, 1], depth in
    metres rounded to whole millimetres), both float32: the one place either engine finishes."""
    logits = np.asarray(mask_logits, np.float32)
    probability = (0.5 * (1.0 + np.tanh(0.5 * logits))).astype(np.float32)  # sigmoid, no overflow
    return probability, (np.round(np.asarray(depth, np.float32) * 1000) / 1000).astype(np.float32)


class OnnxRunner:
    """An exported model run by ONNX Runtime on the CPU (see the module docstring).

    metadata: the file's metadata strings (config, lineage, the weights it came from).
    """

    engine = "onnx"

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        import onnxruntime

        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"{self.path}: no such ONNX model file")
        options = onnxruntime.SessionOptions()
        # No busy-waiting between runs: the cores go to decoding and writing, which overlap
        # the model in video prediction (spinning cost about a third of the frame rate there).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = onnxruntime.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime's errors share no base class but Exception
            raise UserError(f"{self.path}: not a readable ONNX model ({error}); "
                            f"write one with `maskdepth export`") from error
        inputs = [node.name for node in self.session.get_inputs()]
        self.takes_prior = PRIOR_INPUT in inputs
        if sorted(set(inputs) - {PRIOR_INPUT}) != sorted(INPUT_NAMES):
            raise UserError(f"{self.path}: inputs are {inputs}, not {list(INPUT_NAMES)}; "
                            f"is it a model written by `maskdepth export`?")
        self.output_names = [node.name for node in self.session.get_outputs()]
        if not {"mask_logits", "depth"} <= set(self.output_names):
            raise UserError(f"{self.path}: outputs are {self.output_names}, without mask_logits "
                            f"and depth; is it a model written by `maskdepth export`?")
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.config = read_config(self.metadata, self.path)
        self.lineage = parse_lineage(self.metadata.get(LINEAGE_KEY), self.path)

    def outputs(self, image: np.ndarray, background: np.ndarray, prior: np.ndarray | None = None
                ) -> dict[str, np.ndarray]:
        """image, background (B, 3, H, W) float32 in [0, 1] -> {name: (B, 1, H, W)}, the
        outputs of MaskDepthNet.forward (mask_logits, depth). prior: (B, 1, H,
        W) metres, 0 = unknown, for a model that takes it (None: unknown everywhere)."""
        image, background = np.asarray(image), np.asarray(background)
        if image.shape != background.shape or image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"image and background must both be (B, 3, H, W); got "
                             f"{image.shape} and {background.shape}")
        feed = {"image": np.ascontiguousarray(image, np.float32),
                "background": np.ascontiguousarray(background, np.float32)}
        if self.takes_prior:
            feed[PRIOR_INPUT] = (np.zeros((image.shape[0], 1, *image.shape[2:]), np.float32)
                                 if prior is None else np.ascontiguousarray(prior, np.float32))
        return dict(zip(self.output_names, self.session.run(self.output_names, feed)))

    def predict(self, image: np.ndarray, background: np.ndarray, prior: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """See the module docstring."""
        outputs = self.outputs(image, background, prior)
        return probability_and_depth(outputs["mask_logits"], outputs["depth"])


def read_config(metadata: dict[str, str], where="the ONNX file") -> ModelConfig | None:
    """The ModelConfig stored in a file's metadata by export (checked, models/config.py), or
    None when there is none."""
    if CONFIG_KEY not in metadata:
        return None
    return stored_config(metadata[CONFIG_KEY], where)

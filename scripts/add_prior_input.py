"""Give a trained model the scene prior as an input (ModelConfig.prior): the same weights, its
first convolution widened by the prior's two channels with zero weights, so the new model starts
out predicting exactly what the old one did and training teaches it to use the prior.

    python scripts/add_prior_input.py small --out runs/prior0/init.safetensors
    maskdepth train --config configs/prior.yaml --init runs/prior0/init.safetensors --run runs/prior0

The output keeps the input's lineage and adds one entry for the widening (0 steps).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from maskdepth.errors import UserError
from maskdepth.models import build_model
from maskdepth.models.config import ModelConfig
from maskdepth.models.lineage import hardware_name
from maskdepth.models.weights import save_model
from maskdepth.runtime.loader import load_torch_model


def with_prior_input(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of `model` with config.prior on; each weight whose input channels grew (the first
    convolution) keeps its old channels and gets zeros for the new ones."""
    if model.config.prior:
        raise UserError("the model already takes the scene prior")
    config = ModelConfig.from_dict({**model.config.to_dict(), "prior": True, "pretrained": False})
    widened = build_model(config)
    old = model.state_dict()
    state = {}
    for name, value in widened.state_dict().items():
        before = old[name]
        if before.shape != value.shape:
            if before.dim() != 4 or before.shape[0] != value.shape[0] or before.shape[1] >= value.shape[1]:
                raise UserError(f"{name}: cannot widen {tuple(before.shape)} to {tuple(value.shape)}")
            grown = torch.zeros_like(value)
            grown[:, : before.shape[1]] = before
            before = grown
        state[name] = before
    widened.load_state_dict(state)
    return widened.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a shipped model's name or a .safetensors/.ckpt file")
    parser.add_argument("--out", type=Path, required=True, help="the widened .safetensors")
    args = parser.parse_args()
    loaded = load_torch_model(args.model)
    model, lineage = loaded.network, loaded.lineage
    entry = {"run": "add_prior_input", "init": loaded.ref.digest, "steps": 0, "samples": 0,
             "hardware": hardware_name(), "train_hours": 0.0, "date": time.strftime("%Y-%m-%d")}
    save_model(with_prior_input(model), args.out, lineage=[*lineage, entry])
    print(f"wrote {args.out}: {args.model} with the scene prior as an input")


if __name__ == "__main__":
    main()

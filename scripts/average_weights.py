"""Average the weights of models fine-tuned from one start (a uniform "model soup").

    python scripts/average_weights.py src/maskdepth/weights/lite0.safetensors \
        runs/lite0d/model.safetensors --out runs/soup/model.safetensors --half

Every input (.safetensors or a training .ckpt) must have the same model config and share the
first run of its lineage: runs continued from one file (`maskdepth train --init`) do (`--force`
averages models that share no recorded run, which is rarely useful). Floating-point weights and BatchNorm
statistics are averaged in float32; integer buffers (BatchNorm's batch counter) come from the
last input. The output's lineage holds each input's runs once, in the inputs' order, and one entry for
the averaging itself ({"run": "average", "averaged": [SHA-256 of each input], 0 steps}), so the
compute behind the file is counted once. Score the result like any run (docs/training.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from maskdepth.errors import UserError
from maskdepth.io.atomic import file_digest
from maskdepth.models.lineage import hardware_name
from maskdepth.models.weights import save_model
from maskdepth.runtime.loader import load_torch_model


def average(paths: list[Path], force: bool = False) -> tuple[torch.nn.Module, list[dict]]:
    """The uniform average of the models in `paths` (one config, one first run unless `force`)
    and its lineage."""
    if len(paths) < 2:
        raise UserError("give at least two model files to average")
    digests = [file_digest(p) for p in paths]
    for k, digest in enumerate(digests):
        if digest in digests[:k]:
            raise UserError(f"{paths[k]}: the same weights as {paths[digests.index(digest)]}; "
                            f"give each model once")
    loaded = [load_torch_model(p) for p in paths]
    models, lineages = [m.network for m in loaded], [m.lineage for m in loaded]
    roots = {json.dumps(lineage[0], sort_keys=True) if lineage else None for lineage in lineages}
    if not force and (len(roots) > 1 or None in roots):
        raise UserError(f"{', '.join(map(str, paths))}: not runs continued from one file (their "
                        f"lineages do not share a first run); give --force to average them anyway")
    first = models[0].config.to_dict()
    for path, model in zip(paths[1:], models[1:]):
        if model.config.to_dict() != first:
            raise UserError(f"{path}: its model config differs from {paths[0]}'s; only runs of "
                            f"one model (continued from one file) can be averaged")
    states = [m.state_dict() for m in models]
    mean = {key: torch.stack([s[key].float() for s in states]).mean(0) if value.is_floating_point()
            else states[-1][key] for key, value in states[0].items()}
    models[0].load_state_dict(mean)
    runs, seen = [], set()
    for entry in (e for lineage in lineages for e in lineage):
        key = json.dumps(entry, sort_keys=True)
        if key not in seen:
            seen.add(key)
            runs.append(entry)
    runs.append({"run": "average", "averaged": digests, "init": None,
                 "steps": 0, "samples": 0, "hardware": hardware_name(), "train_hours": 0.0,
                 "date": time.strftime("%Y-%m-%d")})
    return models[0], runs


def _check_paths(models: list[Path], out: Path) -> None:
    """Refuse, before any work, inputs that are not files and an --out that is an input, a
    folder or not a .safetensors name."""
    for path in models:
        if not path.is_file():
            raise UserError(f"{path}: no such model file; give .safetensors or .ckpt files")
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give the file to write, e.g. "
                        f"{out / 'model.safetensors'}")
    if out.suffix.lower() != ".safetensors":
        raise UserError(f"--out {out}: the average is written as .safetensors; name it so (export "
                        f"it to ONNX afterwards with `maskdepth export`)")
    if any(out.resolve() == p.resolve() for p in models):
        raise UserError(f"{out}: is one of the inputs; write the average to a new file")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path, help="weights files (.safetensors or .ckpt)")
    parser.add_argument("--out", type=Path, required=True, help="the averaged .safetensors to write")
    parser.add_argument("--half", action="store_true", help="store fp16 (as the shipped files are)")
    parser.add_argument("--force", action="store_true",
                        help="average models whose lineages share no first run")
    args = parser.parse_args(argv)
    try:
        _check_paths(args.models, args.out)
        model, lineage = average(args.models, args.force)
        try:
            save_model(model, args.out, half=args.half, lineage=lineage)
        except OSError as error:  # read-only folder, full disk: nothing partial is left
            raise UserError(f"{args.out}: cannot write it ({error.strerror or error}); choose "
                            f"another --out") from None
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: the average of {len(args.models)} models")
    return 0


if __name__ == "__main__":
    sys.exit(main())

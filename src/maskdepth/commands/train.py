"""`maskdepth train`: train a model with Lightning (CPU laptop to many GPUs)."""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLE = """examples:
  maskdepth train                                        # configs/default.yaml's recipe on engine data only
  maskdepth train --config configs/default.yaml          # the shipped model's recipe (needs ../shared/photos)
  maskdepth train --config configs/original.yaml --run runs/original
  maskdepth train --set optim.name=adamw optim.lr=0.001 trainer.max_steps=500
  maskdepth train --run runs/default --resume           # continue after an interruption
  maskdepth train --config configs/default.yaml --init small --run runs/more   # warm start
  maskdepth train --devices 4 --strategy ddp --set trainer.precision=bf16-mixed
  maskdepth train --profile --set trainer.max_steps=40   # step-time breakdown
  maskdepth train --data s15/ --run runs/s15             # the original zip archives, read in place
  maskdepth train --config configs/video.yaml --print-config   # the recipe resolved, nothing run
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a model (Lightning; DDP, mixed precision, resumable checkpoints)",
        description="Train on the scene engine (default), dataset folders, or a weighted mix. "
                    "The resolved config is saved beside the run and inside every checkpoint.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="YAML config (default: the built-in defaults: configs/default.yaml's "
                             "recipe with scene-engine data only)")
    parser.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                        help="override config values, e.g. optim.lr=0.001 data.batch_size=8")
    parser.add_argument("--data", type=Path, nargs="+", metavar="DIR",
                        help="train on these dataset folders or folders of the original zip "
                             "archives (equal weights; replaces data.sources)")
    parser.add_argument("--run", type=Path, default=Path("runs/default"),
                        help="run folder: config, checkpoints, TensorBoard logs (default runs/default)")
    parser.add_argument("--resume", action="store_true", help="continue from RUN/checkpoints/last.ckpt")
    parser.add_argument("--init", metavar="WEIGHTS",
                        help="start from trained weights (.safetensors, .ckpt, or a shipped "
                             "model's name: small) with a fresh optimizer and schedule; the "
                             "model config comes from the file and its lineage is kept")
    parser.add_argument("--devices", help="devices per node (overrides trainer.devices), e.g. 2 or auto")
    parser.add_argument("--num-nodes", type=int, help="nodes (overrides trainer.num_nodes)")
    parser.add_argument("--strategy", help="e.g. ddp (overrides trainer.strategy)")
    parser.add_argument("--accelerator", help="cpu, gpu or auto (overrides trainer.accelerator)")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config (base recipes merged, --set applied) "
                             "as YAML and what differs from the defaults, then stop")
    parser.add_argument("--profile", action="store_true",
                        help="print and save (RUN/profile.json) where the step time goes")
    parser.set_defaults(func=run)


def _overrides(args: argparse.Namespace) -> list[str]:
    import json

    from maskdepth.io.original import is_archive_folder

    extra = list(args.set)
    if args.data:
        sources = [{"kind": "archive" if is_archive_folder(path) else "manifest", "path": str(path)}
                   for path in args.data]
        extra.insert(0, f"data.sources={json.dumps(sources)}")  # JSON is YAML
    for flag, key in (("devices", "devices"), ("num_nodes", "num_nodes"),
                      ("strategy", "strategy"), ("accelerator", "accelerator")):
        if getattr(args, flag) is not None:
            extra.append(f"trainer.{key}={getattr(args, flag)}")
    return extra


def _print_config(config) -> int:
    """Print a resolved config and the recipe its lineage entry would record."""
    import yaml

    from maskdepth.training.lineage import recipe_changes, recipe_digest

    print(yaml.safe_dump(config.to_dict(), sort_keys=False), end="")
    print(f"# differs from the defaults (config {recipe_digest(config)}): "
          f"{yaml.safe_dump(recipe_changes(config), default_flow_style=True, width=10**6).strip()}")
    return 0


def _run_lock(folder):
    """One process per run folder: the first takes the folder's lock (io/outputs.py), a second
    gets one line naming its PID. The processes a multi-GPU run launches (ranks above 0) share
    the first one's."""
    import contextlib
    import os

    from maskdepth.io.outputs import folder_lock

    launched = any(os.environ.get(name, "0") != "0" for name in ("LOCAL_RANK", "RANK", "NODE_RANK"))
    return contextlib.nullcontext() if launched else folder_lock(folder)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from maskdepth.errors import UserError
    from maskdepth.models.weights import safe_torch_load
    from maskdepth.training.config import load_config, warm_start_config
    from maskdepth.training.fit import WarmStart, fit

    last = args.run / "checkpoints" / "last.ckpt"
    saved = args.run / "config.yaml"
    # A resumed run keeps its saved config unless another is given; --set still applies on top.
    source = args.config if args.config or not (args.resume and saved.exists()) else saved
    config = load_config(source, _overrides(args))
    if args.print_config:
        return _print_config(config)
    if source is None:
        print("maskdepth train: no --config: the built-in defaults (configs/default.yaml's recipe "
              "on scene-engine data only; its photo sources need folders of photos)")
    if args.resume and not last.exists():
        raise UserError(f"--resume: {last} does not exist; start the run without --resume")
    if not args.resume and last.exists():
        raise UserError(f"{args.run} already has checkpoints; add --resume to continue it "
                        f"or choose another --run folder")
    init = None
    if args.init:
        if args.resume:
            raise UserError("--init starts a new run from weights and --resume continues a run; "
                            "use one of them")
        init = WarmStart.read(args.init)  # a broken file stops before any work
        warmed = warm_start_config(config, init.model.config, _overrides(args), args.init)
        if warmed.model != dataclasses.replace(config.model, pretrained=False):
            print(f"maskdepth train: --init {args.init}: the model is the file's "
                  f"({warmed.model.variant}), not the config's")
        config = warmed
    if args.resume:
        # Refuse a broken or code-carrying checkpoint, or a model other than its own, before
        # anything (the run's config.yaml included) is written.
        checkpoint = safe_torch_load(last)
        _check_resumed_model(checkpoint, config.model, last)
        _check_resumed_optimizer(checkpoint, config.optim, last)
    with _run_lock(args.run):  # after every check: a refused run leaves no folder behind
        fit(config, args.run, resume=last if args.resume else None, profile=args.profile, init=init)
    return 0


def _check_resumed_model(checkpoint: dict, model, last) -> None:
    """A UserError naming the differing model keys when `model` (a ModelConfig) is not the one
    the checkpoint `last` was trained with (pretrained aside: the checkpoint holds the weights)."""
    from maskdepth.errors import UserError

    try:
        stored = dict(checkpoint["maskdepth"]["config"]["model"])
    except (KeyError, TypeError, ValueError):
        raise UserError(f"{last}: not a maskdepth training checkpoint (no model config "
                        f"inside); start a new run") from None
    wanted = {k: v for k, v in model.to_dict().items() if k != "pretrained"}
    differing = sorted(k for k, v in wanted.items() if k in stored and stored[k] != v)
    if differing:
        raise UserError(f"--resume: the run was trained as model {', '.join(f'{k}={stored[k]!r}' for k in differing)}, "
                        f"not {', '.join(f'{k}={wanted[k]!r}' for k in differing)}; resume without "
                        f"changing model.*, or start a new --run")


def _check_resumed_optimizer(checkpoint: dict, optim, last) -> None:
    """A UserError when `optim` (an OptimConfig) would build an optimizer whose state the
    checkpoint `last` cannot fill: another optimizer, or another number of parameter groups
    (optim.encoder_lr_scale 1 or not), before anything is written."""
    from maskdepth.errors import UserError
    from maskdepth.training.module import parameter_group_count

    stored = (checkpoint.get("maskdepth", {}).get("config") or {}).get("optim") or {}
    was_name, was_scale = stored.get("name", optim.name), stored.get("encoder_lr_scale", 1.0)
    groups = len((checkpoint.get("optimizer_states") or [{}])[0].get("param_groups", [None]))
    wanted = parameter_group_count(optim)
    if was_name != optim.name or groups != wanted:
        raise UserError(f"--resume: the run's optimizer is {was_name} with {groups} parameter "
                        f"group(s) (optim.encoder_lr_scale={was_scale}), and optim.name="
                        f"{optim.name}, optim.encoder_lr_scale={optim.encoder_lr_scale} needs "
                        f"{wanted}; resume without changing them, or start a new run from its "
                        f"weights with --init {last}")

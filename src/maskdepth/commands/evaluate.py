"""`maskdepth evaluate`: every mask and depth metric of a model on datasets or engine scenes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from maskdepth.commands import add_checkpoint_argument, add_size_argument

EXAMPLE = """examples:
  maskdepth evaluate --checkpoint runs/default/model.safetensors --data ../shared/realdev/clean
  maskdepth evaluate --checkpoint runs/default/checkpoints/best.ckpt --engine-count 256 --baselines
  maskdepth evaluate --checkpoint model.safetensors --data d1 d2 --json metrics.json --save-predictions preds/
"""

SHOWN = ("mask_iou", "mask_dice", "mask_acc", "mask_bf", "depth_rmse", "depth_absrel",
         "depth_log10", "depth_d1", "depth_d2", "depth_d3", "depth_si_rmse", "depth_si_d1",
         "depth_fg_rmse", "depth_fg_absrel", "depth_bg_rmse", "depth_bg_absrel", "depth_ssi_mae",
         "depth_ssi_rmse")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="metrics of a model (and classical baselines) on datasets or engine scenes",
        description="Print a table of every mask and depth metric per data set. Without --data, "
                    "evaluates on engine scenes (all capture conditions on).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_checkpoint_argument(parser, ".safetensors, .ckpt or .onnx",
                            default_text="none; omit it with --baselines to evaluate only the baselines")
    parser.add_argument("--data", type=Path, nargs="+", default=[], help="dataset folders (layout)")
    parser.add_argument("--engine-count", type=int, default=0,
                        help="also evaluate on N engine scenes (without --data: training's "
                             "validation count)")
    parser.add_argument("--engine-seed", type=int,
                        help="seed of the engine scenes (default: training's validation seed)")
    add_size_argument(parser, "engine scene size")
    parser.add_argument("--baselines", action="store_true",
                        help="also score absdiff+Otsu+morphology and OpenCV MOG2 on the same data")
    parser.add_argument("--save-predictions", type=Path, metavar="DIR",
                        help="write <DIR>/<set>/<id>_mask.png and <id>_depth.png")
    parser.add_argument("--json", type=Path, help="write all metrics to this JSON file")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... (default cpu)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maskdepth.data.config import DataConfig
    from maskdepth.errors import UserError
    from maskdepth.evaluation.evaluate import engine_set, evaluate_set, manifest_set
    from maskdepth.inference.loader import load_model_file
    from maskdepth.io.atomic import atomic_write_bytes
    from maskdepth.metrics import format_table

    if args.checkpoint is None and not args.baselines:
        raise UserError("give --checkpoint (a model to evaluate), --baselines, or both")
    sets = {path.name or str(path): (lambda p=path: manifest_set(p)) for path in args.data}
    height, width = args.size
    if args.engine_count > 0 or not sets:
        count = args.engine_count or DataConfig.val_count
        seed = DataConfig.val_seed if args.engine_seed is None else args.engine_seed
        sets[f"engine{height}" if height == width else f"engine{height}x{width}"] = lambda: engine_set(count, seed, args.size)
    model = load_model_file(args.checkpoint, args.device) if args.checkpoint else None
    results: dict[str, dict[str, float]] = {}
    for name, make in sets.items():
        total, batches = make()
        save_dir = args.save_predictions / name if args.save_predictions else None
        for method, values in evaluate_set(model, batches, total, args.baselines, save_dir, name).items():
            results[f"{name}: {method}"] = values
    mask_rows = {row: {k: v for k, v in values.items() if k.startswith("mask")} for row, values in results.items()}
    depth_rows = {row: {k: values[k] for k in SHOWN if k in values and k.startswith("depth")}
                  for row, values in results.items() if any(k.startswith("depth") for k in values)}
    print(format_table(mask_rows))
    if depth_rows:
        print()
        print(format_table(depth_rows))
    if args.json:
        atomic_write_bytes(args.json, json.dumps(results, indent=2).encode())
    return 0

"""`maskdepth evaluate`: every mask and depth metric of a model on datasets or engine scenes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from maskdepth.commands import (
    add_checkpoint_argument,
    add_engine_argument,
    add_scene_depth_arguments,
    add_size_argument,
    positive_int,
)
from maskdepth.inference.profiles import PHOTO, PROFILES, VIDEO

EXAMPLE = """examples:
  maskdepth evaluate --checkpoint runs/default/model.safetensors --data ../shared/realdev/clean
  maskdepth evaluate --checkpoint runs/default/checkpoints/best.ckpt --engine-count 256 --baselines
  maskdepth evaluate --checkpoint model.safetensors --data d1 d2 --json metrics.json --save-predictions preds/
  maskdepth evaluate --checkpoint small --data ../shared/realvideo --baselines   (CDnet-layout videos)
  maskdepth evaluate --checkpoint small --engine-count 256 --background-depth engine
                      (the engine's exact empty-scene depth as the scene prior: the RGB-D case)
  maskdepth evaluate --checkpoint small --data rooms --scene-depth-model none   (the network alone)
"""

SHOWN = ("mask_iou", "mask_dice", "mask_acc", "mask_bf", "depth_rmse", "depth_absrel",
         "depth_log10", "depth_d1", "depth_d2", "depth_d3", "depth_si_rmse", "depth_si_d1",
         "depth_rank", "depth_fg_rmse", "depth_fg_absrel", "depth_fg_d1", "depth_bg_rmse",
         "depth_bg_absrel", "depth_bg_d1", "depth_ssi_mae",
         "depth_ssi_rmse")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="metrics of a model (and classical baselines) on datasets or engine scenes",
        description="Print a table of every mask and depth metric per data set, scored on what "
                    "`maskdepth predict` writes for the same inputs. Without --data, evaluates "
                    "on engine scenes (all capture conditions on).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_checkpoint_argument(parser, ".safetensors, .ckpt or .onnx",
                            default_text="none; omit it with --baselines to evaluate only the baselines")
    parser.add_argument("--data", type=Path, nargs="+", default=[],
                        help="dataset folders (layout), or CDnet-2014 videos (input/, "
                             "groundtruth/), folders of them or a category tree: scored with "
                             "CDnet's seven measures per video, category and overall")
    parser.add_argument("--background", type=Path, metavar="IMG",
                        help="CDnet videos: the empty scene (default: each video's "
                             "background.png, else a clean plate gathered from its frames)")
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
    add_scene_depth_arguments(parser, "the empty scene's depth as the scene prior instead of the "
                              "depth model: a folder of <id>_depth.png (16-bit, mm) for every "
                              "sample, or 'engine' (engine scenes' exact depth: the RGB-D case)")
    parser.add_argument("--raw", action="store_true",
                        help="score the bare network on the tensors as they are, instead of what "
                             "`maskdepth predict` writes (background alignment, working size)")
    add_engine_argument(parser)
    parser.add_argument("--max-side", type=positive_int,
                        help=f"the model's working size, longer side in px (default: as "
                             f"predict: {PROFILES[PHOTO]} for datasets and engine scenes, "
                             f"{PROFILES[VIDEO]} for CDnet-layout videos)")
    parser.add_argument("--edges", choices=["guided", "bilinear"], default="guided",
                        help="how the mask reaches the input's size (as predict's --edges)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... (default cpu)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maskdepth.data.config import DataConfig
    from maskdepth.errors import UserError
    from maskdepth.evaluation.cdnet import is_cdnet
    from maskdepth.evaluation.evaluate import (
        engine_background_depth,
        engine_set,
        evaluate_set,
        folder_background_depth,
        manifest_set,
    )
    from maskdepth.inference.api import DEFAULT_SCENE_DEPTH, MaskDepth
    from maskdepth.metrics import format_table

    if args.checkpoint is None and not args.baselines:
        raise UserError("give --checkpoint (a model to evaluate), --baselines, or both")
    _check_json_path(args.json)
    if args.save_predictions is not None and args.save_predictions.exists():
        from maskdepth.io.outputs import refuse_links

        refuse_links(args.save_predictions)
    videos = [path for path in args.data if is_cdnet(path)]
    if args.background is not None and not videos:
        raise UserError("--background is for CDnet-layout videos (input/, groundtruth/); a "
                        "dataset folder names each sample's background in its manifest")
    datasets = [path for path in args.data if path not in videos]
    sets = {name: (lambda p=path: manifest_set(p))
            for name, path in zip(set_names(datasets), datasets)}
    height, width = args.size
    if args.engine_count > 0 or not (sets or videos):
        count = args.engine_count or DataConfig.val_count
        seed = DataConfig.val_seed if args.engine_seed is None else args.engine_seed
        sets[f"engine{height}" if height == width else f"engine{height}x{width}"] = lambda: engine_set(count, seed, args.size)
    model = (MaskDepth.load(args.checkpoint, device=args.device, engine=args.engine,
                            max_side=args.max_side, edges=args.edges,
                            scene_depth=args.scene_depth_model or DEFAULT_SCENE_DEPTH)
             if args.checkpoint else None)
    depths, extra = {}, None
    if args.background_depth == "engine":
        depths = {name: engine_background_depth for name in sets if name.startswith("engine")}
        if not depths:
            raise UserError("--background-depth engine is the engine scenes' own depth; add "
                            "--engine-count N, or give a folder of <id>_depth.png for --data")
    elif args.background_depth is not None:
        folder = Path(args.background_depth)
        if not folder.is_dir():
            raise UserError(f"--background-depth {folder}: not a folder; give a folder of "
                            f"<id>_depth.png or 'engine'")
        depths = {name: folder_background_depth(folder) for name in sets if not name.startswith("engine")}
    if model is not None:
        prior = model.scene_depth_source if not depths else \
            f"background depth ({args.background_depth}), else {model.scene_depth_source}"
        print(f"scene prior: {prior}")
        extra = {"scene prior": {"source": prior}}
    results: dict[str, dict[str, float]] = {}
    for name, make in sets.items():
        total, batches = make()
        save_dir = args.save_predictions / name if args.save_predictions else None
        for method, values in evaluate_set(model, batches, total, args.baselines, save_dir, name,
                                           args.raw, depths.get(name)).items():
            results[f"{name}: {method}"] = values
    if videos:
        video_results = _evaluate_videos(videos, model, args)
        print(format_table(video_results))
        print()
        results.update(video_results)
    if not sets:
        _write_json(args.json, results, extra)
        return 0
    mask_rows = {row: {k: v for k, v in values.items() if k.startswith("mask")}
                 for row, values in results.items() if any(k.startswith("mask") for k in values)}
    depth_rows = {row: {k: values[k] for k in SHOWN if k in values and k.startswith("depth")}
                  for row, values in results.items() if any(k.startswith("depth") for k in values)}
    print(format_table(mask_rows))
    if depth_rows:
        print()
        print(format_table(depth_rows))
    _write_json(args.json, results, extra)
    return 0


def _evaluate_videos(roots: list[Path], model, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """CDnet's measures of the model (the frames in order through the stream session `maskdepth
    predict --video` runs: video's working size unless --max-side, the empty scene aligned once
    and checked again; --raw: not aligned) and, with --baselines, of the classical baselines, on
    every sequence under `roots`."""
    from maskdepth.evaluation.baselines import BASELINES
    from maskdepth.evaluation.cdnet import evaluate_sequences, find_sequences, per_pair
    from maskdepth.inference.session import StreamSession

    def stream(empty):
        session = StreamSession(model, empty, align=not args.raw, steady=False, max_side=args.max_side)
        return lambda frame: session.predict([frame], session.frames)[0].mask

    methods = {"model": stream} if model is not None else {}
    if args.baselines:
        methods.update({name: per_pair(mask_of) for name, mask_of in BASELINES.items()})
    sequences = [sequence for root in roots for sequence in find_sequences(root)]
    return evaluate_sequences(sequences, methods, args.background)


def set_names(paths: list[Path]) -> list[str]:
    """Each data set's name in tables, JSON and --save-predictions: its folder's name (a
    manifest file's folder), with as many parent folders as it takes to tell the sets apart
    (a/x, b/x). The same set given twice is a UserError."""
    import os

    from maskdepth.errors import UserError

    folders = [Path(os.path.abspath(p.parent if p.suffix.lower() == ".csv" else p)) for p in paths]
    for k, folder in enumerate(folders):
        if folder in folders[:k]:
            raise UserError(f"--data {paths[k]}: the same data set as {paths[folders.index(folder)]}; "
                            f"give each set once")
    def name(folder: Path) -> str:
        others = [f for f in folders if f != folder]
        depth = 1
        while any(f.parts[-depth:] == folder.parts[-depth:] for f in others):
            depth += 1
        return "/".join(folder.parts[-depth:])

    return [name(folder) for folder in folders]


def _check_json_path(path: Path | None) -> None:
    """Refuse a --json path that cannot be written, before the work (not after it)."""
    import os

    from maskdepth.errors import UserError

    if path is None:
        return
    if path.is_dir():
        raise UserError(f"--json {path} is a folder; give the file to write, e.g. {path / 'metrics.json'}")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise UserError(f"--json {path}: cannot write under {folder}; choose another path")


def _write_json(path: Path | None, results: dict, extra: dict | None = None) -> None:
    """The results as JSON; a value that could not be measured (NaN) is written as null, which
    every JSON reader accepts (a bare NaN is not JSON). extra: rows that are not metrics (the
    scene prior's source)."""
    import math

    from maskdepth.io.atomic import atomic_write_bytes

    if path is not None:
        clean = {row: {k: (None if isinstance(v, float) and math.isnan(v) else v)
                       for k, v in values.items()} for row, values in results.items()}
        clean.update(extra or {})
        atomic_write_bytes(path, json.dumps(clean, indent=2, allow_nan=False).encode())

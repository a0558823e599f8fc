"""`maskdepth evaluate`: every mask and depth metric of a model on datasets or engine scenes."""

from __future__ import annotations

import argparse
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
    from maskdepth.errors import UserError
    from maskdepth.evaluation.cdnet import is_cdnet
    from maskdepth.evaluation.suite import Request, check_json_path, run_suite, tables, write_json
    from maskdepth.inference.api import DEFAULT_SCENE_DEPTH, MaskDepth
    from maskdepth.metrics import format_table

    if args.checkpoint is None and not args.baselines:
        raise UserError("give --checkpoint (a model to evaluate), --baselines, or both")
    check_json_path(args.json)
    if args.save_predictions is not None and args.save_predictions.exists():
        from maskdepth.io.outputs import refuse_links

        refuse_links(args.save_predictions)
    videos = [path for path in args.data if is_cdnet(path)]
    if args.background is not None and not videos:
        raise UserError("--background is for CDnet-layout videos (input/, groundtruth/); a "
                        "dataset folder names each sample's background in its manifest")
    request = Request([path for path in args.data if path not in videos], videos,
                      args.engine_count, args.engine_seed, args.size, args.baselines,
                      args.save_predictions, args.background_depth, args.raw, args.max_side,
                      args.background)
    model = (MaskDepth.load(args.checkpoint, device=args.device, engine=args.engine,
                            max_side=args.max_side, edges=args.edges,
                            scene_depth=args.scene_depth_model or DEFAULT_SCENE_DEPTH)
             if args.checkpoint else None)
    results, extra = run_suite(model, request)
    print("\n\n".join(format_table(rows) for rows in tables(results)))
    write_json(args.json, results, extra)
    return 0

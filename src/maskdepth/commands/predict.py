"""`maskdepth predict`: masks and depth for a pair, a dataset, a folder or a video."""

from __future__ import annotations

import argparse
from pathlib import Path

from maskdepth.commands import (
    add_checkpoint_argument,
    add_engine_argument,
    add_scene_depth_arguments,
    positive_int,
)
from maskdepth.inference.profiles import PHOTO, PROFILES, VIDEO
from maskdepth.inference.video_settings import SEGMENT_FRAMES

EXAMPLE = """examples:
  maskdepth predict --image person.jpg --background room.jpg --out out/
  maskdepth predict --data dataset/ --out preds/                 (<out>/<id>_mask.png, _depth.png)
  maskdepth predict --images shots/ --background room.jpg --out out/
  maskdepth predict --images video/input --background video/background.png --out results/ --cdnet
  maskdepth predict --video call.mp4 --out out/   (call_mask.mkv, call_depth.mkv, call_view.mp4;
                                                   clean plate from the video itself)
  maskdepth predict --video call.mp4 --out out/ --resume         (after an interruption)
  maskdepth predict --video call.mp4 --out out/ --engine torch --device cuda
  maskdepth predict --webcam 0 --background empty.png --out live/
  maskdepth predict --image person.jpg --background room.jpg --background-depth room_depth.png --out out/
                                                  (the empty room's depth from an RGB-D camera)
  maskdepth predict --video call.mp4 --background room.jpg --out out/ --engine onnx --checkpoint model.onnx
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="predict masks and depth for a pair, a dataset, a folder or a video",
        description="Writes mask PNGs (0/255), 16-bit depth PNGs (mm), colour depth and a "
                    "side-by-side view; for video, a lossless mask video and 16-bit depth video "
                    "(FFV1 in MKV) and a view mp4. The background is aligned to each image first "
                    "(camera shift, exposure), with a warning if it does not match.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path, help="one image (with --background)")
    source.add_argument("--data", type=Path, help="a dataset folder or manifest.csv")
    source.add_argument("--images", type=Path, help="a folder of images sharing --background")
    source.add_argument("--video", type=Path, help="a video from a static camera")
    source.add_argument("--webcam", nargs="?", const="0", metavar="N",
                        help="a live camera (index N, default 0, or a stream URL or video file "
                             "standing in for one), with --background; Ctrl-C stops")
    parser.add_argument("--background", type=Path, help="the photo of the scene without the foreground")
    parser.add_argument("--out", type=Path, required=True,
                        help="output folder: new or empty, never one holding the inputs")
    writing = parser.add_mutually_exclusive_group()
    writing.add_argument("--overwrite", action="store_true",
                         help="allow a non-empty --out (outputs of the same names are replaced)")
    writing.add_argument("--resume", action="store_true",
                         help="finish an interrupted predict into the same --out (same inputs "
                              "and options): only what it lacks is predicted")
    add_checkpoint_argument(parser, ".safetensors, .ckpt or .onnx")
    add_engine_argument(parser)
    add_scene_depth_arguments(parser, "the empty scene's depth registered to --background (a "
                              "16-bit PNG of millimetres, 0 = unknown, e.g. from an RGB-D "
                              "camera): used instead of the depth model")
    parser.add_argument("--edges", choices=["guided", "bilinear"], default="guided",
                        help="how the mask reaches the input's size: guided (default: edges at "
                             "full resolution, from the image-background difference) or "
                             "bilinear (the working-size mask blown up)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ... (torch engine)")
    parser.add_argument("--batch-size", type=positive_int, default=8, help="images per batch (default 8)")
    parser.add_argument("--no-align", action="store_true", help="use the background as it is")
    parser.add_argument("--max-frames", type=positive_int, help="video: stop after this many frames")
    parser.add_argument("--max-side", type=positive_int,
                        help=f"the model's working size, longer side in px (default: "
                             f"{PROFILES[PHOTO]} for photos, {PROFILES[VIDEO]} for video and "
                             f"webcam; docs/BENCHMARKS.md measures the choice)")
    parser.add_argument("--per-frame-depth", action="store_true",
                        help="video/webcam: every pixel's depth from its own frame (default: "
                             "outside the mask, the empty scene's depth, predicted once: no "
                             "flicker)")
    parser.add_argument("--cdnet", action="store_true",
                        help="--images of a CDnet video (input/inNNNNNN.jpg): write only the "
                             "masks, named as CDnet's results (binNNNNNN.png), for its tools")
    parser.add_argument("--segment-frames", type=positive_int, default=SEGMENT_FRAMES,
                        help=f"video/webcam: frames per resumable piece of the output videos "
                             f"(default {SEGMENT_FRAMES}, about 10 s: what --resume may redo)")
    parser.add_argument("--frames", action="store_true",
                        help="video/webcam: also write a mask and a depth PNG per frame (in "
                             "<out>/<stem>_frames/) besides the mask, depth and view videos")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maskdepth.errors import UserError
    from maskdepth.inference.api import MaskDepth
    from maskdepth.inference.memory import keep_freed_memory
    from maskdepth.inference.video import predict_video
    from maskdepth.inference.writers import (
        predict_folder,
        predict_manifest,
        predict_pair,
    )
    from maskdepth.io.journal import Journal
    from maskdepth.io.outputs import output_folder

    if args.engine == "torch" and args.checkpoint is not None and args.checkpoint.suffix == ".onnx":
        raise UserError("an .onnx checkpoint runs with --engine onnx (or auto)")
    if (args.image or args.images or args.webcam) and args.background is None:
        raise UserError("--image, --images and --webcam need --background (the scene without "
                        "the foreground)")
    inputs = [p for p in (args.image, args.data, args.images, args.video, args.background,
                          args.checkpoint and args.checkpoint.weights) if p is not None]
    for path in inputs:
        if not path.exists():
            raise UserError(f"{path}: no such file or folder")
    if args.background_depth is not None:
        if args.background is None:
            raise UserError("--background-depth is the depth of --background; give both (a "
                            "dataset names each sample's background in its manifest)")
        args.background_depth = Path(args.background_depth)
        inputs.append(args.background_depth)
        if not args.background_depth.is_file():
            raise UserError(f"{args.background_depth}: no such file")
    if args.images is not None and not args.images.is_dir():
        raise UserError(f"--images {args.images} is not a folder; give a folder of images")
    if args.cdnet and args.images is None:
        raise UserError("--cdnet writes CDnet results for --images (a CDnet video's input/ folder)")
    from maskdepth.inference.api import DEFAULT_SCENE_DEPTH
    from maskdepth.models.zoo import resolve_model

    keep_freed_memory()
    args.scene_depth_model = args.scene_depth_model or DEFAULT_SCENE_DEPTH
    args.checkpoint = resolve_model(args.checkpoint)  # once: the loader and the journal share it
    model = MaskDepth.load(args.checkpoint, device=args.device, engine=args.engine,
                           max_side=args.max_side, edges=args.edges,
                           scene_depth=args.scene_depth_model,
                           background_depth=args.background_depth)
    camera = None
    if args.webcam is not None:  # opened (and refused) before anything is written
        from maskdepth.io.video import Camera

        camera = Camera(int(args.webcam) if args.webcam.isdigit() else args.webcam)
    elif args.video is not None:
        from maskdepth.io.video import video_info

        video_info(args.video)  # refuses a file OpenCV cannot decode a frame of
    settings = _settings(args)
    align = not args.no_align
    with output_folder(args.out, inputs, args.overwrite or args.resume) as out:
        journal = (Journal.resume(out, settings, "predict") if args.resume
                   else Journal.start(out, settings))
        with journal:
            if args.image:
                written = predict_pair(model, args.image, args.background, out, align, journal)
            elif args.data:
                written = predict_manifest(model, args.data, out, align, args.batch_size, journal)
            elif args.images:
                written = predict_folder(model, args.images, args.background, out, align,
                                         args.batch_size, journal, cdnet=args.cdnet)
            elif args.video:
                written = predict_video(model, args.video, args.background, out, journal,
                                        _video_settings(args, align, args.batch_size))
            else:
                written = _webcam(model, camera, args, out, align, journal)
            journal.finish()
    resumed = " (the rest were already there)" if args.resume else ""
    print(f"wrote {written} prediction(s) to {args.out}{resumed}")
    return 0


def _webcam(model, camera, args: argparse.Namespace, out, align: bool, journal) -> int:
    """Live prediction from an opened camera into <out>/camera_mask.mkv, _depth.mkv and
    _view.mp4 (and frame PNGs), printing the frame rate as it goes."""
    import sys

    from maskdepth.inference.video import predict_video

    def report(frames: int, seconds: float) -> None:
        print(f"\r{frames} frames, {frames / seconds:.1f} frames/s", end="", file=sys.stderr)

    batch = min(args.batch_size, 2)  # small batches: a frame waits for at most one other
    written = predict_video(model, camera, args.background, out, journal,
                            _video_settings(args, align, batch), stem="camera", on_batch=report)
    print(file=sys.stderr)
    return written


def _video_settings(args: argparse.Namespace, align: bool, batch_size: int):
    """The VideoSettings of a predict --video or --webcam run."""
    from maskdepth.inference.video_settings import VideoSettings

    return VideoSettings(align=align, batch_size=batch_size, max_frames=args.max_frames,
                         frame_files=args.frames, steady=not args.per_frame_depth,
                         segment_frames=args.segment_frames, max_side=args.max_side)


def _settings(args: argparse.Namespace) -> dict:
    """What decides the outputs of a predict, as stored in its journal: --resume continues only
    a run with exactly these (the model by content, inputs by absolute path)."""
    from maskdepth.inference.profiles import PHOTO, VIDEO, working_side
    from maskdepth.io.atomic import content_fingerprint

    def where(path):
        return str(path.resolve()) if path is not None else None

    return {"command": "predict", "image": where(args.image), "data": where(args.data),
            "images": where(args.images), "video": where(args.video), "webcam": args.webcam,
            "max_side": working_side(VIDEO if (args.video or args.webcam is not None) else PHOTO,
                                     args.max_side), "frame_files": args.frames,
            "segment_frames": args.segment_frames,
            "background": where(args.background),
            "model": args.checkpoint.digest, "engine": args.engine,
            "edges": args.edges,
            "align": not args.no_align, "batch_size": args.batch_size,
            "max_frames": args.max_frames, "steady_depth": not args.per_frame_depth,
            "cdnet": args.cdnet, "scene_depth_model": _scene_depth_setting(args.scene_depth_model),
            # Inputs by content too: a file replaced at the same path is another input.
            **{f"content of {path.resolve()}": content_fingerprint(path)
               for path in (args.image, args.data, args.images, args.video, args.background,
                            args.background_depth)
               if path is not None}}


def _scene_depth_setting(value: str) -> str:
    """The scene-depth model as a journal setting: a word as it is, a file by its content."""
    from maskdepth.io.atomic import file_digest

    path = Path(value)
    return file_digest(path) if path.suffix.lower() in (".onnx", ".tflite") and path.is_file() else value

"""`maskdepth bench`: measure throughput on this machine."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from maskdepth.commands import add_checkpoint_argument, positive_int
from maskdepth.commands.synth import add_scene_arguments, build_engine

EXAMPLE = """examples:
  maskdepth bench synth --size 160
  maskdepth bench synth --size 160 --json bench.json
  maskdepth bench build --backgrounds photos/backgrounds --foregrounds photos/foregrounds
  maskdepth bench model --variant fast --size 160 --batch-size 8
  maskdepth bench video --out docs/BENCHMARKS.md          (the video targets, ~3 min: its section)
  maskdepth bench all --out docs/BENCHMARKS.md            (everything, side by side; ~20 min)
  maskdepth bench video-sizes --sizes 160 224 --data ../shared/realvideo ../shared/realdev/clean
  maskdepth bench quality --shared ../shared --out docs/QUALITY.md   (~15 min)
  maskdepth bench serve --clients 8 --requests 3 --size 480 640
  maskdepth bench webcam --clip clip.mp4 --size 480 640 --seconds 20   (needs Chromium)
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench", help="measure speed (scene engine, models, video, server) and the shipped models' quality",
        description="synth: how fast the scene engine renders in memory and to disk. "
                    "build: the same for cut-outs composed over photos (maskdepth build). "
                    "model: a variant's parameters, GFLOPs and images/s for inference and training. "
                    "video: the default predict command on 300-frame clips at 1280x720 and "
                    "640x480, wall clock with start-up, and the cost of each stage. "
                    "video-sizes: video quality at several working sizes on footage (CDnet "
                    "layout) and datasets run as a still camera. serve: the web server under "
                    "load (latency, status codes, peak memory). webcam: the page's live mode in "
                    "headless Chromium. quality: the shipped models and the baselines on the "
                    "real evaluation sets (docs/QUALITY.md).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    from maskdepth.models.config import VARIANT_NAMES
    from maskdepth.models.zoo import DEFAULT_MODEL, ZOO

    parser.add_argument("what", choices=["all", "synth", "build", "model", "video", "video-sizes",
                                         "quality", "serve", "webcam"], help="what to measure")
    parser.add_argument("--out", type=Path, help="bench all: the Markdown report to write "
                                                 "(e.g. docs/BENCHMARKS.md); bench video: the "
                                                 "report whose video section it replaces")
    parser.add_argument("--frames", type=int, default=300, help="bench video: frames per clip")
    parser.add_argument("--runs", type=int, default=3, help="bench video: runs per clip")
    add_checkpoint_argument(parser, "bench video: as predict takes it", default_text="the default model")
    parser.add_argument("--max-side", type=positive_int,
                        help="bench video: the working size, longer side in px (default: the "
                             "video profile's, as predict --video)")
    parser.add_argument("--tiny", action="store_true",
                        help="bench all: tiny sizes and short timings (a smoke run, not figures)")
    parser.add_argument("--photos", type=Path,
                        help="bench all: a folder with backgrounds/ and foregrounds/ for the "
                             "photo compositor's rates (default ../shared/photos if present); "
                             "bench video: photo-textured clips instead of rendered rooms")
    parser.add_argument("--batch-size", type=int, help="default 64 (synth), 8 (model)")
    parser.add_argument("--seconds", type=float, default=10.0, help="time spent on each rate")
    parser.add_argument("--variant", default=ZOO[DEFAULT_MODEL].config.variant, choices=VARIANT_NAMES,
                        help=f"model variant (bench model; default: the {DEFAULT_MODEL} model's)")
    parser.add_argument("--export-n", type=int, default=1000, help="scenes written for the disk rate")
    parser.add_argument("--export-dir", default=".",
                        help="where the disk-rate scenes are written (then deleted); default .")
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[160, 224, 288, 320],
                        help="bench video-sizes: working sizes, longer side in px")
    parser.add_argument("--data", type=Path, nargs="+", default=[],
                        help="bench video-sizes: CDnet-layout footage and dataset folders")
    parser.add_argument("--shared", type=Path, default=Path("../shared"),
                        help="bench quality: the folder of realdev/, realvideo/ and realdepth/ "
                             "(default ../shared)")
    parser.add_argument("--clients", type=positive_int, default=8, help="bench serve: clients")
    parser.add_argument("--requests", type=positive_int, default=3,
                        help="bench serve: predictions each client posts")
    parser.add_argument("--clip", type=Path, help="bench webcam: the clip the fake camera plays "
                                                  "(scripts/make_clip.py)")
    parser.add_argument("--json", type=Path, help="also write the results here (JSON)")
    add_scene_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maskdepth.bench.rates import engine_benchmark, machine, model_benchmark

    if args.what == "all":
        return _bench_all(args)
    if args.what == "video":
        return _bench_video(args)
    if args.what in ("video-sizes", "quality", "serve", "webcam"):
        return _bench_use(args)
    results = {"machine": machine(), "size": args.size}
    if args.what == "model":
        results.update(model_benchmark(args.variant, *args.size, args.batch_size or 8, args.seconds))
    else:
        engine = build_engine(args) if args.what == "synth" else _build_compositor(args)
        results.update(engine_benchmark(engine, args.batch_size or 64, args.seconds, args.export_n,
                                        args.export_dir))
    for key, value in results.items():
        print(f"{key:>24}: {value}")
    if args.json:
        from maskdepth.io.atomic import atomic_write_bytes
        atomic_write_bytes(args.json, json.dumps(results, indent=2).encode())
    return 0


def _bench_all(args: argparse.Namespace) -> int:
    import sys

    from maskdepth.bench.measure import Settings, measure, photo_folder
    from maskdepth.bench.report import kept_sections, render
    from maskdepth.errors import UserError
    from maskdepth.io.atomic import atomic_write_bytes

    if args.out is None:
        raise UserError("bench all needs --out REPORT.md (e.g. docs/BENCHMARKS.md)")
    settings = Settings(tiny=args.tiny, seconds=0.3 if args.tiny else min(args.seconds, 5.0),
                        photos=photo_folder(args.photos), export_dir=args.export_dir)
    results = measure(settings, progress=lambda what: print(f"measuring {what} ...",
                                                            file=sys.stderr, flush=True))
    command = "maskdepth bench all --out " + str(args.out) + (" --tiny" if args.tiny else "")
    kept = kept_sections(args.out.read_text()) if args.out.is_file() else ""
    atomic_write_bytes(args.out, (render(results, command) + kept).encode())
    if args.json:
        atomic_write_bytes(args.json, json.dumps(results, indent=2, default=str).encode())
    print(f"wrote {args.out}")
    return 0


def _bench_video(args: argparse.Namespace) -> int:
    from maskdepth.bench.measure import photo_folder
    from maskdepth.bench.video import render_video, replace_section, video_benchmark
    from maskdepth.io.atomic import atomic_write_bytes

    photos = photo_folder(args.photos) if args.photos is not None else None  # rendered rooms
    sizes = ((96, 64),) if args.tiny else ((1280, 720), (640, 480))
    results = video_benchmark(sizes, 16 if args.tiny else args.frames, args.runs, photos,
                              args.max_side, args.checkpoint)
    command = "maskdepth bench video" + (f" --out {args.out}" if args.out else "") + (
        " --tiny" if args.tiny else "") + (f" --max-side {args.max_side}" if args.max_side else "") + (
        f" --checkpoint {args.checkpoint}" if args.checkpoint else "")
    section = render_video(results, command)
    print(section)
    if args.out is not None:
        report = args.out.read_text() if args.out.is_file() else "# Benchmarks\n"
        atomic_write_bytes(args.out, replace_section(report, section).encode())
        print(f"wrote its section of {args.out}")
    if args.json:
        atomic_write_bytes(args.json, json.dumps(results, indent=2).encode())
    return 0


def _bench_use(args: argparse.Namespace) -> int:
    """bench video-sizes, quality, serve and webcam: measured as a user runs the product."""
    from maskdepth.errors import UserError
    from maskdepth.io.atomic import atomic_write_bytes

    if args.what == "video-sizes":
        from maskdepth.bench.video_sizes import video_sizes
        from maskdepth.inference.api import MaskDepth

        if not args.data:
            raise UserError("bench video-sizes needs --data: CDnet-layout footage or dataset folders")
        missing = [str(p) for p in args.data if not p.exists()]
        if missing:
            raise UserError(f"--data {' '.join(missing)}: no such folder")
        model = MaskDepth.load(args.checkpoint, scene_depth="none")
        results = video_sizes(model, args.sizes, args.data,
                              progress=lambda side, row: print(side, json.dumps(row), flush=True))
    elif args.what == "quality":
        import sys

        from maskdepth.bench.quality import measure_quality, render_quality
        from maskdepth.models.zoo import shipped_models

        models = [str(args.checkpoint)] if args.checkpoint is not None else shipped_models()
        results = measure_quality(args.shared, models, lambda text: print(text, file=sys.stderr))
        report = render_quality(results, f"maskdepth bench quality --shared {args.shared}"
                                + (f" --out {args.out}" if args.out else ""))
        print(report)
        if args.out is not None:
            atomic_write_bytes(args.out, report.encode())
    elif args.what == "serve":
        from maskdepth.bench.serve_load import serve_load

        results = serve_load(args.clients, args.requests, args.size)
        for key, value in results.items():
            print(f"{key:>20}: {value}")
    else:
        from maskdepth.bench.webcam import webcam_rate

        if args.clip is None:
            raise UserError("bench webcam needs --clip (make one with scripts/make_clip.py)")
        results = webcam_rate(args.clip, args.size, args.seconds)
        for key, value in results.items():
            print(f"{key:>14}: {value}")
    if args.json:
        atomic_write_bytes(args.json, json.dumps(results, indent=2, default=str).encode())
    return 0


def _build_compositor(args: argparse.Namespace):
    """The PhotoCompositor of `maskdepth build` for the scene options given."""
    from maskdepth.commands.build import build_compositor
    from maskdepth.errors import UserError

    if args.backgrounds is None or args.foregrounds is None:
        raise UserError("bench build needs --backgrounds and --foregrounds (photo folders)")
    return build_compositor(args)

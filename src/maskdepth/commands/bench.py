"""`maskdepth bench`: measure throughput on this machine."""

from __future__ import annotations

import argparse
import json

from maskdepth.commands.synth import add_scene_arguments, build_engine

EXAMPLE = """examples:
  maskdepth bench synth --size 160
  maskdepth bench synth --size 160 --compile --json bench.json
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench", help="measure throughput (scene engine) on this machine",
        description="Measure how fast the scene engine renders in memory and to disk.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["synth"], help="what to measure")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0, help="time spent on the in-memory rate")
    parser.add_argument("--export-n", type=int, default=1000, help="scenes written for the disk rate")
    parser.add_argument("--export-dir", default=".",
                        help="where the disk-rate scenes are written (then deleted); default .")
    parser.add_argument("--json", type=argparse.FileType("w"), help="also write the results here")
    add_scene_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maskdepth.bench import machine, synth_export_rate, synth_stream_rate

    engine = build_engine(args)
    results = {
        "machine": machine(),
        "size": args.size,
        "batch_size": args.batch_size,
        "compile": args.compile,
        "in_memory_scenes_per_s": round(synth_stream_rate(engine, args.batch_size, args.seconds), 1),
        "to_disk_scenes_per_s": round(synth_export_rate(engine, args.export_n, args.batch_size, args.export_dir), 1),
    }
    for key, value in results.items():
        print(f"{key:>24}: {value}")
    if args.json:
        json.dump(results, args.json, indent=2)
    return 0

"""A test clip for video benchmarks: a person walking across a room (see bench/clip.py).

    python scripts/make_clip.py --size 1280x720 --frames 300 --out clip.mp4 [--photos ../shared/photos]

Writes clip.mp4 (H.264, 25 frames/s) and clip_background.png (the empty room) beside it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from maskdepth.bench.clip import make_clip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, help="a folder of backgrounds/ and foregrounds/")
    parser.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--out", type=Path, required=True, help="the clip to write (.mp4)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    clip, background = make_clip(args.out, (width, height), args.frames, args.photos)
    print(f"wrote {clip} and {background} ({args.frames} frames, {width}x{height})")


if __name__ == "__main__":
    main()

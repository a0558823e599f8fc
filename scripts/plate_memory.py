"""Peak memory of the clean plate `maskdepth predict --video` makes when no background is given.

    python scripts/plate_memory.py --frames 2400 --size 480 640 [--video clip.mp4]

Writes a static-camera video (a room photo, or a rendered room, with a person-sized block
walking across it) unless --video is given, then computes the clean plate from it in a fresh
process, as predict does (streamed frames), and prints that process's peak resident memory.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

MEASURE = """
import resource, sys
from maskdepth.io.video import clean_plate, read_frames
plate = clean_plate(read_frames(sys.argv[1]))
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{plate.shape[1]}x{plate.shape[0]} {peak_kib / 1024:.0f}")
"""


def write_video(path: Path, frames: int, height: int, width: int) -> None:
    from maskdepth.io.video import VideoWriter

    rng = np.random.default_rng(0)
    room = rng.integers(60, 200, (height // 8, width // 8, 3), dtype=np.uint8)
    room = np.kron(room, np.ones((8, 8, 1), np.uint8))[:height, :width]
    with VideoWriter(path, fps=25) as writer:
        for index in range(frames):
            frame = room.copy()
            left = int((width - width // 4) * index / max(frames - 1, 1))
            frame[height // 4:, left:left + width // 4] = (200, 150, 120)
            writer.write(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2400)
    parser.add_argument("--size", type=int, nargs=2, default=[480, 640], metavar=("H", "W"))
    parser.add_argument("--video", type=Path, help="measure this video instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        video = args.video
        if video is None:
            video = Path(folder) / "static.mp4"
            write_video(video, args.frames, *args.size)
        result = subprocess.run([sys.executable, "-c", MEASURE, str(video)], check=True,
                                capture_output=True, text=True)
        size, peak = result.stdout.split()
        print(f"clean plate of {video.name if args.video else f'{args.frames} frames'} at {size}: "
              f"peak resident memory {peak} MiB")


if __name__ == "__main__":
    main()

"""A test clip for video benchmarks: a cut-out person walking across a room photo.

    python scripts/make_clip.py --photos ../shared/photos --size 1280x720 --frames 300 --out clip.mp4

Writes `clip.mp4` (H.264, 25 frames/s, as cameras and phones record) and `clip_background.png`
(the empty room) beside it. The room and the person are the training photos, scaled up to the
size asked for, so the clip measures speed, not accuracy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from maskdepth.io.images import read_rgb, read_rgba, write_rgb
from maskdepth.io.video_out import SegmentedVideo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, required=True, help="../shared/photos")
    parser.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--out", type=Path, required=True, help="the clip to write (.mp4)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    room = read_rgb(min((args.photos / "backgrounds").glob("*.*g")))
    room = cv2.resize(room, (width, height), interpolation=cv2.INTER_CUBIC)
    person = read_rgba(min((args.photos / "foregrounds").glob("*.png")))
    scale = min(0.8 * height / person.shape[0], width / 3 / person.shape[1])
    person = cv2.resize(person, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    ph, pw = person.shape[:2]
    alpha = person[..., 3:].astype(np.float32) / 255
    rng = np.random.default_rng(0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    clip = SegmentedVideo(args.out, "view", 25)
    clip.begin(0)
    for index in range(args.frames):
        frame = room.astype(np.float32)
        left = int((width - pw) * index / max(args.frames - 1, 1))
        top = height - ph
        region = frame[top:, left:left + pw]
        region[:] = alpha * person[..., :3] + (1 - alpha) * region
        frame += rng.normal(0, 2, frame.shape).astype(np.float32)  # sensor noise
        clip.write(np.clip(frame, 0, 255).astype(np.uint8))
    clip.end()
    clip.join()
    write_rgb(args.out.with_name(f"{args.out.stem}_background.png"), room)
    print(f"wrote {args.out} ({args.frames} frames, {width}x{height})")


if __name__ == "__main__":
    main()

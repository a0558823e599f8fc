"""A test clip for video benchmarks: a person walking across a room, from a static camera.

    clip, background = make_clip(folder / "walk.mp4", (1280, 720), frames=300)

With `photos` (a folder of backgrounds/ and foregrounds/, like the training photos) the room
and the person are real photos scaled to the size; without, a drawn room (lit walls and floor,
a textured rug, a window) and a drawn person. Frames carry sensor noise, as a camera's do; the
clip is H.264 at 25 frames/s, as cameras and phones record. It measures speed, not accuracy.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from maskdepth.io.images import read_rgb, read_rgba, write_rgb
from maskdepth.io.video_out import SegmentedVideo


def _drawn_room(width: int, height: int, rng) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    room = np.empty((height, width, 3), np.float32)
    horizon = int(height * 0.62)
    room[:horizon] = np.array([182, 174, 160]) - 40 * (x[:horizon, :, None] / width)  # a lit wall
    room[horizon:] = np.array([120, 96, 72]) + 30 * (y[horizon:, :, None] - horizon) / height
    rug = (slice(int(height * 0.75), int(height * 0.95)), slice(int(width * 0.2), int(width * 0.7)))
    room[rug] = rng.integers(60, 160, (8, 16, 3)).repeat(height // 40 + 1, 0).repeat(
        width // 32 + 1, 1)[:rug[0].stop - rug[0].start, :rug[1].stop - rug[1].start]
    room[int(height * 0.12):int(height * 0.42), int(width * 0.72):int(width * 0.92)] = (210, 225, 240)
    return np.clip(room, 0, 255).astype(np.uint8)


def _drawn_person(height: int) -> np.ndarray:
    """(h, w, 4) RGBA: head, body and legs of a standing person `height` px tall."""
    width = height // 3
    person = np.zeros((height, width, 4), np.uint8)
    centre = width // 2
    cv2.ellipse(person, (centre, height // 10), (width // 6, height // 10), 0, 0, 360, (205, 160, 130, 255), -1)
    cv2.rectangle(person, (centre - width // 3, height // 5), (centre + width // 3, height * 3 // 5), (40, 70, 150, 255), -1)
    cv2.rectangle(person, (centre - width // 4, height * 3 // 5), (centre - 2, height - 1), (30, 30, 40, 255), -1)
    cv2.rectangle(person, (centre + 2, height * 3 // 5), (centre + width // 4, height - 1), (30, 30, 40, 255), -1)
    return person


def make_clip(path: Path, size: tuple[int, int], frames: int = 300,
              photos: Path | None = None, seed: int = 0) -> tuple[Path, Path]:
    """Write the clip (`path`, .mp4) and its empty room (`<stem>_background.png`); returns both.
    size: (width, height)."""
    width, height = size
    rng = np.random.default_rng(seed)
    if photos is not None:
        room = read_rgb(min((photos / "backgrounds").glob("*.*g")))
        room = cv2.resize(room, (width, height), interpolation=cv2.INTER_CUBIC)
        person = read_rgba(min((photos / "foregrounds").glob("*.png")))
    else:
        room, person = _drawn_room(width, height, rng), _drawn_person(height)
    scale = min(0.8 * height / person.shape[0], width / 3 / person.shape[1])
    person = cv2.resize(person, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    tall, wide = person.shape[:2]
    alpha = person[..., 3:].astype(np.float32) / 255
    clip = SegmentedVideo(path, "view", 25)
    clip.begin(0)
    for index in range(frames):
        frame = room.astype(np.float32)
        left = int((width - wide) * index / max(frames - 1, 1))
        region = frame[height - tall:, left:left + wide]
        region[:] = alpha * person[..., :3] + (1 - alpha) * region
        frame += rng.normal(0, 2, frame.shape).astype(np.float32)
        clip.write(np.clip(frame, 0, 255).astype(np.uint8))
    clip.end()
    clip.join()
    background = path.with_name(f"{path.stem}_background.png")
    write_rgb(background, room)
    return path, background

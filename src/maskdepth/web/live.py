"""The web page's live mode: one WebSocket session per camera, the background sent once.

    client -> server  binary: the empty scene (PNG or JPEG), once, first
    server -> client  text: {"ready": true, "width": W, "height": H}
    client -> server  binary: a frame (JPEG), of the background's size; the page keeps two in
                      flight, so that its capture and the server's work overlap
    server -> client  binary, per frame, in order: a 4-byte big-endian length n, n bytes of
                      JSON {"foreground", "model_ms", "frame", "overlay_bytes", "depth_bytes"},
                      then the mask-over-frame JPEG and the colour-depth JPEG (see `reply`);
                      or text {"error": "..."} (the session goes on after a bad frame)

The session holds what a static camera needs once: the background decoded once, aligned to the
first frame and checked again every REALIGN_EVERY frames (inference/static.py), the empty
scene's depth predicted once (steady depth, no flicker), the model at video's working size
(VIDEO_MAX_SIDE) with full-size edges. Each frame then costs a JPEG decode, the model and two
JPEG encodings, all in a worker thread.
"""

from __future__ import annotations

import base64
import json
import struct
import time

import numpy as np
from fastapi import WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from maskdepth.errors import UserError
from maskdepth.inference.api import VIDEO_MAX_SIDE, MaskDepth
from maskdepth.inference.static import SceneDepth, StaticBackground, steady_depth
from maskdepth.io import images as imageio
from maskdepth.io.viz import colorize_depth_mm, overlay_mask


def png_base64(array: np.ndarray) -> str:
    """An image array as the base64 text of its PNG, as the JSON answers carry images."""
    return base64.b64encode(imageio.encode_png(array)).decode("ascii")


class LiveSession:
    """One camera's frames against one background; `answer(data)` -> the JSON reply."""

    def __init__(self, model: MaskDepth, background: np.ndarray):
        # the served model's runner at video's working size: a camera is a video
        self.model = MaskDepth(model.runner, min(model.max_side, VIDEO_MAX_SIDE), model.edges)
        self.background = background
        self.static = StaticBackground(background)
        self.scene_depth = SceneDepth(self.model)
        self.frames = 0

    def answer(self, data: bytes, max_bytes: int) -> dict | bytes:
        """The reply to one frame: bytes (see the module docstring), or an error dict."""
        if len(data) > max_bytes:
            return {"error": f"frame: larger than {max_bytes >> 20} MB"}
        try:
            frame = imageio.decode_rgb(data, "frame")
        except UserError as error:
            return {"error": str(error)}
        if frame.shape != self.background.shape:
            return {"error": f"frame is {frame.shape[1]}x{frame.shape[0]} but the background is "
                             f"{self.background.shape[1]}x{self.background.shape[0]}; send "
                             f"frames of the background's size"}
        start = time.perf_counter()
        background = self.static.for_frame(frame, self.frames)
        prediction = self.model.predict(frame, background, align=False)
        prediction = steady_depth(prediction, self.scene_depth.of(background))
        seconds = time.perf_counter() - start
        self.frames += 1
        colour = colorize_depth_mm(prediction.depth_mm)
        return reply({"foreground": float(prediction.mask.mean()),
                      "model_ms": round(seconds * 1000, 1), "frame": self.frames},
                     imageio.encode_jpeg(overlay_mask(frame, prediction.mask)),
                     imageio.encode_jpeg(colour))


def reply(header: dict, overlay: bytes, depth: bytes) -> bytes:
    """One frame's binary answer: length-prefixed JSON header, then the two JPEGs."""
    text = json.dumps({**header, "overlay_bytes": len(overlay), "depth_bytes": len(depth)})
    return struct.pack(">I", len(text)) + text.encode() + overlay + depth


def read_reply(data: bytes) -> tuple[dict, bytes, bytes]:
    """(header, overlay JPEG, depth JPEG) of a `reply` (what the page's script parses)."""
    (length,) = struct.unpack(">I", data[:4])
    header = json.loads(data[4:4 + length])
    start = 4 + length
    middle = start + header["overlay_bytes"]
    return header, data[start:middle], data[middle:middle + header["depth_bytes"]]


async def live_session(socket: WebSocket, model: MaskDepth, max_bytes: int, max_pixels: int) -> None:
    """Serve one live session on an accepted-to-be WebSocket (see the module docstring)."""
    await socket.accept()
    try:
        session = None
        while session is None:
            data = await socket.receive_bytes()
            try:
                if len(data) > max_bytes:
                    raise UserError(f"background: larger than {max_bytes >> 20} MB")
                background = await run_in_threadpool(imageio.decode_rgb, data, "background")
                if background.shape[0] * background.shape[1] > max_pixels:
                    raise UserError(f"background: more than {max_pixels:,} pixels; downscale it")
            except UserError as error:
                await socket.send_json({"error": str(error)})
                continue
            session = LiveSession(model, background)
            await socket.send_json({"ready": True, "width": background.shape[1],
                                    "height": background.shape[0]})
        while True:
            data = await socket.receive_bytes()
            answer = await run_in_threadpool(session.answer, data, max_bytes)
            if isinstance(answer, bytes):
                await socket.send_bytes(answer)
            else:
                await socket.send_json(answer)
    except WebSocketDisconnect:
        return

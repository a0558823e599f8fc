"""The web page's live mode: one WebSocket session per camera, the background sent once.

    client -> server  binary: the empty scene (PNG or JPEG), once, first
    server -> client  text: {"ready": true, "width": W, "height": H, "scene_prior": SOURCE}
    client -> server  text, optional, at any time: {"background_depth": BASE64} with the empty
                      scene's depth as a 16-bit PNG of millimetres (0 = unknown), registered to
                      the background (an RGB-D camera's); answered {"scene_prior": SOURCE}, and
                      the scene prior of later frames comes from it
    client -> server  binary: a frame (JPEG), of the background's size; the page keeps two in
                      flight, so that its capture and the server's work overlap
    server -> client  binary, per frame, in order: a 4-byte big-endian length n, n bytes of
                      JSON {"foreground", "model_ms", "frame", "max_side", "overlay_bytes",
                      "depth_bytes"} (and once "note" when the working size is lowered),
                      then the mask-over-frame JPEG and the colour-depth JPEG (see `reply`);
                      or text {"error": "..."} (the session goes on after a bad frame)

Frames go through the stream session every video path shares (inference/session.py): video's
working size, the background aligned to the first frame and checked again, the empty scene's
depth predicted once (steady depth). Each frame then costs a JPEG decode, the model and two
JPEG encodings, in a worker thread, behind the server's heavy-request gate (web/limits.py). When
that work takes longer than the live page's frame interval (LIVE_PAGE_FPS), the working size
steps down (inference/pace.py; "max_side" in every answer says the size in use). A frame's size
is checked from its header before it is decoded; a text message gets an error.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import struct
import time

import numpy as np
from fastapi import HTTPException, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from maskdepth.errors import UserError
from maskdepth.inference.api import MaskDepth, Prediction
from maskdepth.inference.inputs import check_photo_size
from maskdepth.inference.pace import LIVE_PAGE_FPS, Pace
from maskdepth.inference.prior import ScenePriors
from maskdepth.inference.session import StreamSession
from maskdepth.io import images as imageio
from maskdepth.io.viz import colorize_depth_mm, overlay_mask


def png_base64(array: np.ndarray) -> str:
    """An image array as the base64 text of its PNG, as the JSON answers carry images."""
    return base64.b64encode(imageio.encode_png(array)).decode("ascii")


class LiveSession:
    """One camera's frames against one background, through the stream session every video
    path shares (inference/session.py: video's working size, the background aligned once and
    checked again, steady depth); `answer(data)` -> the reply."""

    def __init__(self, model: MaskDepth, background: np.ndarray, max_side: int | None = None):
        self.model, self.background = model, background
        self.stream = StreamSession(model, background, max_side=max_side)
        self.pace = Pace(1 / LIVE_PAGE_FPS, self.stream.model.max_side)

    def use_depth(self, depth: np.ndarray) -> str:
        """Take the empty scene's depth ((h, w) float32 metres, the background's aspect) as the
        scene prior of the frames to come; returns the prior's source. A UserError when it does
        not fit the background."""
        model = self.model
        own = model.variant(priors=ScenePriors(model.priors.model, depth))
        own.priors.of(self.background)  # checked and made here, kept for the frames
        frames = self.stream.frames
        self.stream = StreamSession(own, self.background, max_side=self.stream.model.max_side)
        self.stream.frames = frames
        return own.scene_depth_source

    def predict(self, frame: np.ndarray) -> Prediction:
        """The next frame's prediction ((H, W, 3) uint8 RGB of the background's size)."""
        return self.stream.predict([frame], self.stream.frames)[0]

    def answer(self, data: bytes, max_bytes: int) -> dict | bytes:
        """The reply to one frame: bytes (see the module docstring), or an error dict. The
        frame's size is checked from its header before its pixels are decoded."""
        if len(data) > max_bytes:
            return {"error": f"frame: larger than {max_bytes >> 20} MB"}
        height, width = self.background.shape[:2]
        try:
            size = imageio.encoded_size(data, "frame")
            if size != (height, width):
                raise UserError(f"frame is {size[1]}x{size[0]} but the background is "
                                f"{width}x{height}; send frames of the background's size")
            frame = imageio.decode_rgb(data, "frame")
        except UserError as error:
            return {"error": str(error)}
        start = time.perf_counter()
        prediction = self.predict(frame)
        seconds = time.perf_counter() - start
        header = {"foreground": float(prediction.mask.mean()), "model_ms": round(seconds * 1000, 1),
                  "frame": self.stream.frames, "max_side": self.stream.model.max_side}
        overlay = imageio.encode_jpeg(overlay_mask(frame, prediction.mask))
        colour = imageio.encode_jpeg(colorize_depth_mm(prediction.depth_mm))
        note = self.stream.keep_pace(self.pace, time.perf_counter() - start)  # a frame's work here
        if note is not None:
            header["note"] = note
        return reply(header, overlay, colour)


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


class LiveCount:
    """The live sessions open on one server (checked and changed on its event loop only)."""

    def __init__(self):
        self.open = 0


class Idle(Exception):
    """No message from the client for the session's idle limit."""


async def _receive_bytes(socket: WebSocket, idle_seconds: float) -> bytes | np.ndarray | None:
    """The next binary message, or the depth of a {"background_depth": BASE64 PNG} text message
    ((h, w) float32 metres); any other text is answered with an error and skipped (None). Idle
    when nothing comes for `idle_seconds`."""
    try:
        message = await asyncio.wait_for(socket.receive(), idle_seconds)
    except asyncio.TimeoutError:
        raise Idle from None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    if message.get("bytes") is not None:
        return message["bytes"]
    try:
        data = base64.b64decode(json.loads(message.get("text") or "")["background_depth"],
                                validate=True)
        return await run_in_threadpool(imageio.decode_depth, data, "background_depth")
    except UserError as error:
        await socket.send_json({"error": str(error)})
    except (ValueError, TypeError, KeyError):  # not JSON, not base64, no background_depth
        await socket.send_json({"error": "send images as binary messages (PNG or JPEG bytes); "
                                         "text is only {\"background_depth\": BASE64 16-bit PNG}"})
    return None


async def live_session(socket: WebSocket, model: MaskDepth, limits, gate=None,
                       count: LiveCount | None = None, max_side: int | None = None) -> None:
    """Serve one live session on an accepted-to-be WebSocket (see the module docstring). Each
    frame's work passes `gate` (the server's HeavyGate, shared with its HTTP requests): when
    the server is full the frame gets {"error": ...busy...} and the session goes on. limits
    (web/limits.py): at most limits.live_sessions at once (`count`: the server's), a background
    of at most limits.live_pixels, closed after limits.live_idle_seconds without a message.
    max_side: the working size it starts at (None: the video profile's)."""
    count = count or LiveCount()
    await socket.accept()
    if count.open >= limits.live_sessions:
        await socket.send_json({"error": f"the server has {limits.live_sessions} live sessions "
                                         f"open, its most; try again later"})
        await socket.close(code=1013)  # try again later
        return
    count.open += 1
    try:
        await _serve(socket, model, limits, gate, max_side)
    except Idle:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await socket.send_json({"error": f"closed: no message for "
                                             f"{limits.live_idle_seconds:g} s"})
            await socket.close(code=1000)
    finally:
        count.open -= 1


async def _serve(socket: WebSocket, model: MaskDepth, limits, gate, max_side: int | None) -> None:
    max_bytes, idle = limits.max_bytes, limits.live_idle_seconds
    max_pixels = min(limits.max_pixels, limits.live_pixels)
    try:
        session, depth = None, None
        while session is None:
            data = await _receive_bytes(socket, idle)
            if isinstance(data, np.ndarray):
                depth = data  # sent before the background: used once it comes
                await socket.send_json({"scene_prior": "background depth image"})
                continue
            if data is None:
                continue
            try:
                if len(data) > max_bytes:
                    raise UserError(f"background: larger than {max_bytes >> 20} MB")
                height, width = imageio.encoded_size(data, "background")
                if height * width > max_pixels:
                    raise UserError(f"background: more than {max_pixels:,} pixels, the most a "
                                    f"live session keeps; downscale it")
                async with gate or contextlib.nullcontext():
                    background = await run_in_threadpool(imageio.decode_rgb, data, "background")
                check_photo_size(background, "background")
            except UserError as error:
                await socket.send_json({"error": str(error)})
                continue
            except HTTPException as busy:  # the gate's 503
                await socket.send_json({"error": busy.detail})
                continue
            session = LiveSession(model, background, max_side)
            source = model.scene_depth_source
            if depth is not None:
                try:
                    source = session.use_depth(depth)
                except UserError as error:
                    await socket.send_json({"error": str(error)})
            await socket.send_json({"ready": True, "width": background.shape[1],
                                    "height": background.shape[0], "scene_prior": source})
        while True:
            data = await _receive_bytes(socket, idle)
            if isinstance(data, np.ndarray):
                try:
                    await socket.send_json({"scene_prior": session.use_depth(data)})
                except UserError as error:
                    await socket.send_json({"error": str(error)})
                continue
            if data is None:
                continue
            try:
                async with gate or contextlib.nullcontext():
                    answer = await run_in_threadpool(session.answer, data, max_bytes)
            except HTTPException as busy:  # the gate's 503
                answer = {"error": busy.detail}
            if isinstance(answer, bytes):
                await socket.send_bytes(answer)
            else:
                await socket.send_json(answer)
    except WebSocketDisconnect:
        return

"""What the server accepts and how much it does at once: upload caps enforced while the body
streams in, and a bounded queue of heavy requests (decoding, prediction, clean plates).

    app.add_middleware(BodyCap, max_bytes=limits.max_request_bytes)
    gate = HeavyGate(limits.max_concurrent, limits.max_waiting)
    async with gate:            # 503 when max_waiting requests already wait
        ...                      # the heavy part, in a worker thread
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from fastapi import HTTPException


@dataclass
class Limits:
    """What one request may be and how many the server works on at once.

    max_bytes: per uploaded file; max_pixels: per image; max_frames: per clean plate;
    max_request_bytes: a whole request body, refused with 413 as soon as it passes this (also
    from its declared Content-Length, before reading); max_concurrent: heavy requests worked on
    at once; max_waiting: heavy requests queued behind them before more get 503;
    body_idle_seconds: an upload that sends no byte for this long is answered 408 and dropped
    (unfinished uploads never hold the server, nor its shutdown); live_sessions: /live sessions
    open at once (each holds its background, up to live_pixels, about 3 bytes a pixel several
    times over); live_idle_seconds: a live session with no message for this long is closed.
    """

    max_bytes: int = 15 << 20
    max_pixels: int = 12_000_000
    max_frames: int = 64
    max_request_bytes: int = 64 << 20
    max_concurrent: int = 2
    max_waiting: int = 8
    body_idle_seconds: float = 30.0
    live_sessions: int = 4
    live_pixels: int = 4_000_000  # 2560x1440 fits
    live_idle_seconds: float = 60.0


class BodyTooLarge(Exception):
    """Raised from the wrapped `receive` when a body passes the cap."""


class BodyIdle(Exception):
    """Raised from the wrapped `receive` when a body stops arriving."""


class BodyCap:
    """ASGI middleware: a request body larger than `max_bytes` gets 413 without being read to
    its end (a declared Content-Length is checked first, a streamed body as it arrives)."""

    def __init__(self, app, max_bytes: int, idle_seconds: float = 30.0):
        self.app, self.max_bytes, self.idle_seconds = app, max_bytes, idle_seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send)
        seen, started = 0, False
        refusal: tuple[int, str | None] | None = None  # set when the body broke off

        async def counted():
            nonlocal seen, refusal
            try:
                message = await asyncio.wait_for(receive(), self.idle_seconds)
            except asyncio.TimeoutError:
                detail = f"no byte of the request for {self.idle_seconds:g} s; send it again"
                refusal = (408, detail)
                raise BodyIdle from None
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                refusal = (413, None)
                raise BodyTooLarge
            return message

        async def tracked(message):
            nonlocal started
            if refusal is not None:  # the app's own answer to its broken body (a form parser's 400)
                if not started:
                    started = True
                    await self._refuse(send, *refusal)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except (BodyTooLarge, BodyIdle):
            if not started:
                started = True
                await self._refuse(send, *refusal)

    async def _refuse(self, send, status: int = 413, detail: str | None = None) -> None:
        detail = detail or (f"the request is larger than {self.max_bytes >> 20} MB; send smaller "
                            f"or fewer files")
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class HeavyGate:
    """At most `concurrent` heavy requests at work and `waiting` queued; more get 503 at once
    (the client retries later) instead of piling up memory."""

    def __init__(self, concurrent: int, waiting: int):
        self._concurrent, self._max_waiting = concurrent, waiting
        self._loop = self._slots = None
        self._waiting = 0
        self._held: dict = {}

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # one per event loop (a test client may run several)
            self._loop, self._slots, self._waiting = loop, asyncio.Semaphore(self._concurrent), 0
        if self._slots.locked() and self._waiting >= self._max_waiting:
            raise HTTPException(503, "the server is busy with other requests; retry in a moment",
                                headers={"Retry-After": "1"})
        slots = self._slots
        self._waiting += 1
        try:
            await slots.acquire()
        finally:
            self._waiting -= 1
        self._held[asyncio.current_task()] = slots  # released where it was taken

    async def __aexit__(self, *exc) -> None:
        self._held.pop(asyncio.current_task()).release()

"""The web app behind `maskdepth serve`: one static page (photo and webcam modes) and an HTTP API.

    POST /predict      multipart image + background -> JSON (mask, depth, views as base64 PNG)
                       or, with ?format=zip, a zip of mask.png (0/255) and depth.png (16-bit mm)
    POST /clean-plate  multipart frames (2 or more) -> PNG: their per-pixel median (io/video.py)
    GET  /health       model and limits
    WS   /live         the page's live mode: the background once, then frames (web/live.py)
    GET  /docs         the OpenAPI description, interactive

Uploads are read into memory, capped in bytes and pixels (a whole request as its body streams
in, web/limits.py), and decoded by content (never by name); nothing is written to disk except
the multipart parser's spill files, which go to a temporary folder of the server's own that is
removed when it stops. Decoding, prediction and clean plates run in worker threads, so a slow
request never blocks the page or /health; at most Limits.max_concurrent of them work at once
and Limits.max_waiting wait, and more get 503 with Retry-After instead of piling up memory.
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from maskdepth.errors import UserError
from maskdepth.inference.api import MaskDepth
from maskdepth.inference.mismatch import MISMATCH_WARNING
from maskdepth.inference.profiles import VIDEO, working_side
from maskdepth.inference.writers import view
from maskdepth.io import images as imageio
from maskdepth.io.resize import fit_within, shrink
from maskdepth.io.viz import colorize_depth_mm, overlay_mask
from maskdepth.web.limits import BodyCap, HeavyGate, Limits
from maskdepth.web.live import LiveCount, live_session, png_base64

STATIC = Path(__file__).parent / "static"


PLATE_MAX_PIXELS = 1_000_000  # clean-plate frames are reduced to this before the median


async def _read_bytes(upload: UploadFile, field: str, limits: Limits) -> bytes:
    """An uploaded file's bytes, refused with 413 past max_bytes or 422 when empty."""
    data = await upload.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise HTTPException(413, f"{field}: the file is larger than {limits.max_bytes >> 20} MB; "
                                 f"send a smaller photo")
    if not data:
        raise HTTPException(422, f"{field}: the file is empty")
    return data


def _decode(data: bytes, name: str, limits: Limits) -> np.ndarray:
    """Uploaded bytes as (H, W, 3) uint8 RGB, refused with 413 (too many pixels, also when only
    declared) or 415 (not an image; checked by decoding the content, whatever its name or
    declared type). CPU-bound: called in a worker thread, never on the event loop."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
    except Image.DecompressionBombError:  # declares far more pixels than any cap allows
        raise HTTPException(413, f"{name}: more than {limits.max_pixels:,} pixels; "
                                 f"downscale it") from None
    except Exception:  # noqa: BLE001 - any decoder failure means: not an image we can read
        raise HTTPException(415, f"{name}: not an image (PNG, JPEG, WebP or BMP expected; "
                                 f"checked by content)") from None
    if width * height > limits.max_pixels:
        raise HTTPException(413, f"{name}: {width}x{height} is more than "
                                 f"{limits.max_pixels:,} pixels; downscale it")
    try:
        return imageio.decode_rgb(data, name)
    except UserError as error:
        raise HTTPException(415, str(error)) from None


def _pair(image: bytes, background: bytes, names: tuple[str, str], limits: Limits):
    return _decode(image, names[0], limits), _decode(background, names[1], limits)


def _plate(frames: list[bytes], limits: Limits) -> bytes:
    """The clean plate of uploaded frames as PNG bytes, in bounded memory: each frame decoded in
    turn and reduced to at most PLATE_MAX_PIXELS before the per-pixel median."""

    from maskdepth.io.video import clean_plate as median_plate

    arrays, first = [], None
    for i, data in enumerate(frames):
        frame = _decode(data, f"frames[{i}]", limits)
        first = first or frame.shape
        if frame.shape != first:
            raise HTTPException(422, "the frames differ in size; send frames of one camera")
        arrays.append(shrink(frame, fit_within(frame.shape[:2], max_pixels=PLATE_MAX_PIXELS)))
    return imageio.encode_png(median_plate(arrays))


def _prediction_json(model: MaskDepth, image: np.ndarray, background: np.ndarray,
                     align: bool, background_depth: np.ndarray | None = None) -> dict:
    start = time.perf_counter()
    prediction = model.predict(image, background, align=align, background_depth=background_depth)
    seconds = time.perf_counter() - start
    depth_colour = colorize_depth_mm(prediction.depth_mm)
    mismatch = prediction.mismatch
    warning = (f"the background does not look like the image's scene (mismatch {mismatch:.2f}); "
               f"results may be poor" if mismatch is not None and mismatch > MISMATCH_WARNING
               else None)
    return {
        "width": image.shape[1], "height": image.shape[0],
        "mask_png": png_base64(np.where(prediction.mask, 255, 0).astype(np.uint8)),
        "depth_png": png_base64(prediction.depth_mm),
        "overlay_png": png_base64(overlay_mask(image, prediction.mask)),
        "depth_color_png": png_base64(depth_colour),
        "foreground": float(prediction.mask.mean()),
        "depth_range_m": [float(prediction.depth.min()), float(prediction.depth.max())],
        "mismatch": mismatch, "warning": warning, "model_ms": round(seconds * 1000, 1),
        "depth_source": prediction.depth_source,
    }


def _prediction_zip(model: MaskDepth, image: np.ndarray, background: np.ndarray,
                    align: bool, background_depth: np.ndarray | None = None) -> bytes:
    prediction = model.predict(image, background, align=align, background_depth=background_depth)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mask.png", imageio.encode_png(np.where(prediction.mask, 255, 0)
                                                        .astype(np.uint8)))
        archive.writestr("depth.png", imageio.encode_png(prediction.depth_mm))
        archive.writestr("view.png", imageio.encode_png(view(image, prediction)))
    return buffer.getvalue()


def create_app(model: MaskDepth, limits: Limits | None = None, title: str = "maskdepth",
               live_max_side: int | None = None) -> FastAPI:
    """The FastAPI app serving `model` (see the module docstring for the routes): photo pairs
    at the model's working size, live mode at `live_max_side` (None: the video profile's,
    inference/profiles.py), lowered when the machine cannot keep up (inference/pace.py)."""
    live_max_side = working_side(VIDEO, live_max_side)
    limits = limits or Limits()
    app = FastAPI(title=title, description="Foreground mask and depth from an image and a photo "
                                           "of the same scene without the foreground.")
    app.add_middleware(BodyCap, max_bytes=limits.max_request_bytes,
                       idle_seconds=limits.body_idle_seconds)
    gate = HeavyGate(limits.max_concurrent, limits.max_waiting)
    live_count = LiveCount()

    @app.exception_handler(RequestValidationError)
    async def missing_fields(request: Request, error: RequestValidationError) -> JSONResponse:
        missing = [str(e["loc"][-1]) for e in error.errors() if e.get("type") == "missing"]
        wanted = "'frames' files (2 or more)" if request.url.path.endswith("/clean-plate") else \
            "'image' and 'background' files"
        detail = (f"missing form field(s): {', '.join(missing)}; send multipart/form-data with "
                  f"{wanted}" if missing else
                  "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()))
        return JSONResponse({"detail": detail}, status_code=422)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/health")
    async def health() -> dict:
        """The model being served and the upload limits."""
        config = model.runner.config.to_dict() if model.runner.config is not None else {}
        return {"status": "ok", "model": model.name, "variant": config.get("variant"),
                "engine": model.runner.engine,
                "max_side": model.max_side, "live_max_side": live_max_side, "scene_prior": model.scene_depth_source,
                "max_bytes": limits.max_bytes, "max_pixels": limits.max_pixels,
                "max_request_bytes": limits.max_request_bytes,
                "max_concurrent": limits.max_concurrent, "max_waiting": limits.max_waiting}

    @app.post("/predict", responses={200: {"content": {"application/zip": {}}}})
    async def predict(image: Annotated[UploadFile, File(description="the photo with the foreground")],
                      background: Annotated[UploadFile, File(description="the same scene without it")],
                      background_depth: Annotated[UploadFile | None, File(
                          description="optional: the empty scene's depth, a 16-bit PNG of "
                                      "millimetres (0 = unknown), registered to the background "
                                      "(an RGB-D camera's); else the server's scene prior")] = None,
                      align: Annotated[bool, Query(description="align the background first")] = True,
                      format: Annotated[str, Query(pattern="^(json|zip)$",
                                                   description="json (base64 PNGs) or zip")] = "json"):
        """Mask and depth for one pair. JSON: mask_png (0/255), depth_png (16-bit mm),
        overlay_png, depth_color_png (base64), mismatch and a warning when the background does
        not look like the image's scene, depth_source (the scene prior used, or "network").
        zip: mask.png, depth.png, view.png."""
        data = await _read_bytes(image, "image", limits), await _read_bytes(background, "background", limits)
        names = (f"image ({image.filename or 'upload'})", f"background ({background.filename or 'upload'})")
        depth = (await _read_bytes(background_depth, "background_depth", limits)
                 if background_depth is not None else None)
        async with gate:
            return await _answer(data, names, align, format, depth)

    async def _answer(data, names, align: bool, format: str, depth_data: bytes | None = None):
        rgb, bg = await run_in_threadpool(_pair, *data, names, limits)
        depth = None
        if depth_data is not None:
            try:
                depth = await run_in_threadpool(imageio.decode_depth, depth_data, "background_depth")
            except UserError as error:
                raise HTTPException(422, str(error)) from None
        if rgb.shape != bg.shape and not align:  # the rule of MaskDepth.predict and the CLI
            raise HTTPException(422, f"image is {rgb.shape[1]}x{rgb.shape[0]} but background is "
                                     f"{bg.shape[1]}x{bg.shape[0]}; send photos of equal size "
                                     f"from the same camera, or align=true to fit the background "
                                     f"to the image")
        try:
            if format == "json":
                return await run_in_threadpool(_prediction_json, model, rgb, bg, align, depth)
            data = await run_in_threadpool(_prediction_zip, model, rgb, bg, align, depth)
        except UserError as error:  # the background depth does not fit the photos
            raise HTTPException(422, str(error)) from None
        return Response(data, media_type="application/zip",
                        headers={"Content-Disposition": "attachment; filename=prediction.zip"})

    @app.post("/clean-plate", response_class=Response,
              responses={200: {"content": {"image/png": {}}}})
    async def clean_plate(frames: Annotated[list[UploadFile], File(description="2 or more frames")]):
        """The scene without whoever moves through it: the per-pixel median of the frames."""
        if not 2 <= len(frames) <= limits.max_frames:
            raise HTTPException(422, f"send 2 to {limits.max_frames} frames, got {len(frames)}")
        data = [await _read_bytes(frame, f"frames[{i}]", limits) for i, frame in enumerate(frames)]
        async with gate:
            png = await run_in_threadpool(_plate, data, limits)
        return Response(png, media_type="image/png")

    @app.websocket("/live")
    async def live(socket: WebSocket) -> None:
        """The page's live mode: the background once, then frame after frame (web/live.py)."""
        await live_session(socket, model, limits, gate, live_count, live_max_side)

    return app

"""`maskdepth serve`: a local web page to try the model on photos or a webcam, and an HTTP API."""

from __future__ import annotations

import argparse

from maskdepth.commands import (
    add_checkpoint_argument,
    add_engine_argument,
    add_scene_depth_arguments,
    positive_int,
)
from maskdepth.inference.profiles import PHOTO, PROFILES, VIDEO

EXAMPLE = """examples:
  maskdepth serve                                 # http://127.0.0.1:7860
  maskdepth serve --port 8000 --checkpoint runs/default/model.safetensors
  curl -F image=@person.jpg -F background=@room.jpg http://127.0.0.1:7860/predict?format=zip -o prediction.zip
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve", help="a local web page (photo and webcam modes) and HTTP API",
        description="Serve a page where you upload a photo and its empty scene, or use your "
                    "webcam, and see the mask and depth; and an HTTP API (POST /predict, "
                    "described at /docs). Listens on this machine only unless --host says "
                    "otherwise.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; "
                             "0.0.0.0 opens it to your network)")
    parser.add_argument("--port", type=port_number, default=7860, help="port, 1-65535 (default 7860)")
    add_checkpoint_argument(parser, ".safetensors, .ckpt or .onnx")
    add_engine_argument(parser)
    add_scene_depth_arguments(parser, None)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    parser.add_argument("--max-side", type=positive_int,
                        help=f"the model's working size, longer side in px, for photos and live "
                             f"mode alike (default: {PROFILES[PHOTO]} for photos, "
                             f"{PROFILES[VIDEO]} for live mode, lowered when the machine cannot "
                             f"keep up)")
    parser.add_argument("--max-upload-mb", type=positive_int, default=15,
                        help="largest file accepted, in MB (default 15)")
    parser.add_argument("--max-megapixels", type=positive_int, default=12,
                        help="largest image accepted, in megapixels (default 12)")
    parser.set_defaults(func=run)


def port_number(text: str) -> int:
    """argparse type: a TCP port, 1-65535."""
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (1-65535)")
    return value


def _check_free(host: str, port: int) -> None:
    """UserError when (host, port) cannot be listened on (taken, or not this machine's)."""
    import socket

    from maskdepth.errors import UserError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UserError(f"--host {host}: not an address of this machine ({error.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise UserError(f"cannot listen on {host}:{port} ({error.strerror}); another program "
                            f"may use it: choose another with --port") from None


SHUTDOWN_SECONDS = 3


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(0)


def run(args: argparse.Namespace) -> int:
    import signal
    import tempfile

    import uvicorn

    from maskdepth.inference.api import MaskDepth
    from maskdepth.inference.memory import keep_freed_memory
    from maskdepth.web.app import Limits, create_app

    keep_freed_memory()
    from maskdepth.inference.api import DEFAULT_SCENE_DEPTH

    model = MaskDepth.load(args.checkpoint, device=args.device, engine=args.engine,
                           max_side=args.max_side, scene_depth=args.scene_depth_model or DEFAULT_SCENE_DEPTH)
    limits = Limits(max_bytes=args.max_upload_mb << 20,
                    max_pixels=args.max_megapixels * 1_000_000)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: listening on {args.host}: anyone who can reach this machine can use it")
    _check_free(args.host, args.port)
    # uvicorn stops on SIGTERM, then passes the signal on to the handler it found: this one
    # unwinds, so the scratch folder below is removed as it is after Ctrl-C
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with tempfile.TemporaryDirectory(prefix="maskdepth-serve-") as scratch:
        tempfile.tempdir = scratch  # uploads the parser spills to disk land here, and go with it
        print(f"maskdepth: open http://{args.host}:{args.port}/ (API: /docs); Ctrl-C stops")
        try:
            # SIGTERM or Ctrl-C: requests still open after SHUTDOWN_SECONDS (an upload that
            # stalled, a live session) are cancelled, so the server stops whatever clients do
            app = create_app(model, limits, live_max_side=args.max_side)
            uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                        timeout_graceful_shutdown=SHUTDOWN_SECONDS)
        finally:
            tempfile.tempdir = None
    return 0

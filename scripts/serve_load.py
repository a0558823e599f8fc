"""The web server under load: /health latency idle and while N clients post predictions, the
answers' status codes and the server's peak memory.

    python scripts/serve_load.py --clients 8 --requests 3 --size 640x480

Starts `maskdepth serve`'s app (the shipped model, default limits) on a free local port in this
process, measures /health's median latency idle, then while `clients` threads each post
`requests` predictions of a synthetic pair, and prints the medians, their ratio, the status
codes, and the peak resident memory of the process (server and clients together).
"""

from __future__ import annotations

import argparse
import resource
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import uvicorn

from maskdepth.inference.api import MaskDepth
from maskdepth.io.images import encode_png
from maskdepth.web.app import create_app


def _health(url: str, times: list[float]) -> int:
    start = time.perf_counter()
    code = httpx.get(f"{url}/health", timeout=30).status_code
    times.append(time.perf_counter() - start)
    return code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=3, help="per client")
    parser.add_argument("--size", default="640x480", help="WxH of the posted pair")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(MaskDepth.load()), host="127.0.0.1",
                                           port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    rng = np.random.default_rng(0)
    room = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    person = room.copy()
    person[height // 4 : height * 7 // 8, width * 3 // 8 : width * 5 // 8] = (30, 40, 50)
    files = {"image": ("i.png", encode_png(person)), "background": ("b.png", encode_png(room))}
    idle: list[float] = []
    for _ in range(20):
        _health(url, idle)
    busy: list[float] = []
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.clients) as pool:
        answers = [pool.submit(lambda: [httpx.post(f"{url}/predict", files=files, timeout=300)
                                        .status_code for _ in range(args.requests)])
                   for _ in range(args.clients)]
        while not all(a.done() for a in answers):
            _health(url, busy)
        codes = [c for a in answers for c in a.result()]
    seconds = time.perf_counter() - start
    server.should_exit = True
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.clients} clients x {args.requests} predictions of {width}x{height}: "
          f"{len(codes)} answered in {seconds:.1f} s ({len(codes) / seconds:.1f}/s), codes "
          f"{ {c: codes.count(c) for c in sorted(set(codes))} }")
    print(f"/health median: idle {1000 * statistics.median(idle):.1f} ms, under load "
          f"{1000 * statistics.median(busy):.1f} ms (ratio {statistics.median(busy) / statistics.median(idle):.1f}), "
          f"max under load {1000 * max(busy):.0f} ms over {len(busy)} calls")
    print(f"peak resident memory of the process (server and clients): {peak:.0f} MiB")


if __name__ == "__main__":
    main()

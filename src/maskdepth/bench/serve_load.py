"""The web server under load, as a user runs it: `maskdepth serve` (the shipped model, default
limits) in its own process on a free local port; /health's latency idle and while N clients
post predictions of a synthetic pair; the answers' status codes and the server's peak memory.

    maskdepth bench serve --clients 8 --requests 3 --size 480 640
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from maskdepth.io.images import encode_png


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, timeout: float = 120) -> subprocess.Popen:
    """`maskdepth serve --port PORT` started and answering /health (else RuntimeError)."""
    server = subprocess.Popen([sys.executable, "-m", "maskdepth", "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while not _health_seconds(port):
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"maskdepth serve did not answer: {server.stderr.read().decode()[-500:]}")
        time.sleep(0.1)
    return server


def _health_seconds(port: int) -> float | None:
    """Seconds /health took to answer, None when it did not."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30):
            return time.perf_counter() - start
    except OSError:
        return None


def _post_pair(port: int, files: dict[str, bytes]) -> int:
    """POST /predict with `files` as multipart form fields; the answer's status code."""
    boundary = "maskdepthbench"
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                    f'filename="{name}.png"\r\nContent-Type: image/png\r\n\r\n'.encode() + data + b"\r\n"
                    for name, data in files.items()) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/predict", data=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:
            answer.read()
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def peak_memory_mib(pid: int) -> float:
    """A process's peak resident memory (VmHWM), MiB; NaN where /proc does not say."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return int(line.split()[1]) / 1024 if line else float("nan")


def serve_load(clients: int = 8, requests: int = 3, size: tuple[int, int] = (480, 640)) -> dict:
    """The measurements of the module docstring; size: (height, width) of the posted pair."""
    height, width = size
    rng = np.random.default_rng(0)
    room = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    person = room.copy()
    person[height // 4: height * 7 // 8, width * 3 // 8: width * 5 // 8] = (30, 40, 50)
    files = {"image": encode_png(person), "background": encode_png(room)}
    port = free_port()
    server = start_server(port)
    try:
        idle = [_health_seconds(port) for _ in range(20)]
        busy: list[float | None] = []
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            answers = [pool.submit(lambda: [_post_pair(port, files) for _ in range(requests)])
                       for _ in range(clients)]
            while not all(a.done() for a in answers):
                busy.append(_health_seconds(port))
            codes = [c for a in answers for c in a.result()]
        seconds = time.perf_counter() - start
        peak = peak_memory_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    idle_ms = [1000 * s for s in idle if s is not None]
    busy_ms = [1000 * s for s in busy if s is not None]
    return {"clients": clients, "requests": requests, "size": f"{width}x{height}",
            "answered": len(codes), "seconds": round(seconds, 2),
            "codes": {c: codes.count(c) for c in sorted(set(codes))},
            "health_idle_ms": round(statistics.median(idle_ms), 1),
            "health_busy_ms": round(statistics.median(busy_ms), 1) if busy_ms else None,
            "health_busy_max_ms": round(max(busy_ms), 1) if busy_ms else None,
            "health_unanswered": len(busy) - len(busy_ms),
            "server_peak_mib": round(peak)}

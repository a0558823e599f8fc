"""The web page's live mode, measured as a user runs it: server and browser on this machine.

    python scripts/bench_webcam.py --clip clip.mp4 --size 640x480 --seconds 20

Starts `maskdepth serve`, opens the page in headless Chromium whose fake camera plays the clip
(make one with scripts/make_clip.py; its first frame is taken as the empty scene), captures the
empty scene, starts live mode and, after a warm-up, reads the page's own frames/s, latency and
model time for `--seconds`. Needs chromium and chromedriver (installed by .ci/run) and selenium.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

from maskdepth.io.video import read_frames


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_y4m(path: Path, clip: Path, size: tuple[int, int], fps: int) -> None:
    """The clip as raw YUV4MPEG2 (what Chromium's fake camera plays), resized to `size`."""
    width, height = size
    with open(path, "wb") as file:
        file.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in read_frames(clip):
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            file.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())


def _browser(camera: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,1000", "--use-fake-ui-for-media-stream",
                 "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def _wait(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the page did not get there in time")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, required=True, help="scripts/make_clip.py's clip")
    parser.add_argument("--size", default="640x480", choices=["320x240", "640x480"])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=5)
    args = parser.parse_args()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    width, height = (int(v) for v in args.size.split("x"))
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        camera = Path(folder) / "camera.y4m"
        _write_y4m(camera, args.clip, (width, height), 25)
        server = subprocess.Popen([sys.executable, "-m", "maskdepth", "serve", "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**os.environ})
        browser = _browser(camera)
        try:
            _wait(lambda: _answers(port), 120)
            browser.get(f"http://127.0.0.1:{port}/")
            element = lambda name: browser.find_element(By.ID, name)
            element("tab-webcam").click()
            Select(element("size")).select_by_visible_text(args.size)
            element("camera-start").click()
            _wait(lambda: not element("capture").get_attribute("disabled"))
            element("capture").click()
            _wait(lambda: not element("live").get_attribute("disabled"))
            element("live").click()
            time.sleep(args.warmup)
            first = int(element("frames").text)
            time.sleep(args.seconds)
            frames = int(element("frames").text) - first
            print(f"{args.size}: {frames / args.seconds:.1f} frames/s over {args.seconds:g} s "
                  f"(the page's 3 s window: {element('fps').text}); latency "
                  f"{element('latency').text} ms, server's model and edges "
                  f"{element('model-ms').text} ms a frame")
            element("live").click()
        finally:
            browser.quit()
            server.terminate()
            server.wait(timeout=30)


def _answers(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    main()

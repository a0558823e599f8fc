"""The web page's live mode, measured as a user runs it: server and browser on this machine.

    maskdepth bench webcam --clip clip.mp4 --size 480 640 --seconds 20

Starts `maskdepth serve`, opens the page in headless Chromium whose fake camera plays the clip
(make one with scripts/make_clip.py; its first frame is taken as the empty scene), captures the
empty scene, starts live mode and, after a warm-up, reads the page's own frames/s, latency and
model time. Needs chromium and chromedriver (installed by .ci/run) and selenium (the test extra).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import cv2

from maskdepth.bench.serve_load import free_port, start_server
from maskdepth.errors import UserError
from maskdepth.io.video import read_frames

PAGE_SIZES = ((240, 320), (480, 640))  # (height, width): the camera sizes the page offers


def _write_y4m(path: Path, clip: Path, size: tuple[int, int], fps: int) -> None:
    """The clip as raw YUV4MPEG2 (what Chromium's fake camera plays), resized to (width, height)."""
    width, height = size
    with open(path, "wb") as file:
        file.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in read_frames(clip):
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            file.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())


def _browser(camera: Path):
    """Headless Chromium whose fake camera plays `camera` (a .y4m file)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ModuleNotFoundError:
        raise UserError('bench webcam drives a browser with selenium: pip install "maskdepth[test]"') from None
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or shutil.which("chromedriver") is None:
        raise UserError("bench webcam needs chromium and chromedriver (Debian: apt-get install "
                        "chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
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


def webcam_rate(clip: Path, size: tuple[int, int] = (480, 640), seconds: float = 20,
                warmup: float | None = None) -> dict:
    """Live mode's frames/s over `seconds` after `warmup` (default: 5 s, or `seconds` when
    shorter), and the page's own figures, for a camera of `size` (height, width; one of
    PAGE_SIZES) playing `clip`."""
    warmup = min(5.0, seconds) if warmup is None else warmup
    if tuple(size) not in PAGE_SIZES:
        raise UserError(f"--size {size[0]} {size[1]}: the page offers "
                        f"{', '.join(f'{h} {w}' for h, w in PAGE_SIZES)}")
    if not Path(clip).is_file():
        raise UserError(f"--clip {clip}: no such file; make one with scripts/make_clip.py")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    height, width = size
    with tempfile.TemporaryDirectory() as folder:
        camera = Path(folder) / "camera.y4m"
        _write_y4m(camera, clip, (width, height), 25)
        port = free_port()
        server = start_server(port)
        browser = _browser(camera)
        try:
            browser.get(f"http://127.0.0.1:{port}/")
            element = lambda name: browser.find_element(By.ID, name)
            element("tab-webcam").click()
            Select(element("size")).select_by_visible_text(f"{width}x{height}")
            element("camera-start").click()
            _wait(lambda: not element("capture").get_attribute("disabled"))
            element("capture").click()
            _wait(lambda: not element("live").get_attribute("disabled"))
            element("live").click()
            time.sleep(warmup)
            first = int(element("frames").text)
            time.sleep(seconds)
            frames = int(element("frames").text) - first
            result = {"size": f"{width}x{height}", "seconds": seconds,
                      "fps": round(frames / seconds, 1), "page_fps": element("fps").text,
                      "latency_ms": element("latency").text, "model_ms": element("model-ms").text,
                      "working_size": element("live-size").text}
            element("live").click()
        finally:
            browser.quit()
            server.terminate()
            server.wait(timeout=30)
    return result

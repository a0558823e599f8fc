"""Progress of long commands on stderr: a live tqdm bar on a terminal, and plain lines where
stderr is a file or a pipe (CI, nohup, `> log 2>&1`), so logs hold no carriage-return floods.

    with progress(total=200, unit="sample", desc="clean") as bar:
        for ... : bar.update(1)

Off a terminal it prints at most one line every `every` seconds while it goes and a final line
with the count and the time; a run that fails prints none (its error is the one line).
"""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

LOG_EVERY_S = 10.0


class LineProgress:
    """tqdm's update / close / context-manager interface, written as whole lines."""

    def __init__(self, total: int | None, unit: str, desc: str, every: float = LOG_EVERY_S,
                 stream=None, disable: bool = False):
        self.total, self.unit, self.desc, self.every = total, unit, desc, every
        self.stream, self.disable = stream or sys.stderr, disable
        self.n, self.started = 0, time.monotonic()
        self.last = self.started

    def _line(self, text: str) -> None:
        if not self.disable:
            print(f"{self.desc}: {text}", file=self.stream, flush=True)

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            done = f"{self.n}/{self.total}" if self.total else str(self.n)
            self._line(f"{done} {self.unit}s, {self.n / (now - self.started):.1f} {self.unit}s/s")

    def close(self) -> None:
        if self.disable:
            return
        seconds = time.monotonic() - self.started
        self._line(f"done: {self.n} {self.unit}s in {seconds:.1f} s")
        self.disable = True  # closing twice writes one final line

    def __enter__(self):  # -> Self (typing.Self needs Python 3.11)
        return self

    def __exit__(self, kind, *exc) -> None:
        if kind is None:
            self.close()
        else:
            self.disable = True  # the error says what happened


def progress(total: int | None = None, unit: str = "it", desc: str = "", disable: bool = False,
             leave: bool = True, stream=None):
    """A tqdm bar when `stream` (default stderr) is a terminal, else a LineProgress."""
    stream = stream or sys.stderr
    if hasattr(stream, "isatty") and stream.isatty():
        return tqdm(total=total, unit=unit, desc=desc, disable=disable, leave=leave, file=stream)
    return LineProgress(total, unit, desc, stream=stream, disable=disable)

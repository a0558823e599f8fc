"""Overlapping the stages of a stream: decode ahead in a thread while the model runs.

    for item in prefetch(batches_of_frames, depth=2):   # made by a thread, two ahead
        ...
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator

_DONE = object()


def prefetch(items: Iterable, depth: int = 2) -> Iterator:
    """Yield `items`, produced by a background thread that runs up to `depth` items ahead (so
    decoding overlaps the caller's work). An exception in the producer is raised here; leaving
    the loop early stops the producer."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        """Hand `item` over unless the consumer has left; False when it has."""
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            put(error)

    thread = threading.Thread(target=produce, daemon=True, name="prefetch")
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def batched(frames: Iterable, size: int) -> Iterator[tuple[int, list]]:
    """(index of the first, list of up to `size` items) for consecutive chunks of `frames`."""
    chunk: list = []
    first = 0
    for frame in frames:
        chunk.append(frame)
        if len(chunk) == size:
            yield first, chunk
            first += len(chunk)
            chunk = []
    if chunk:
        yield first, chunk

"""What the compiled kernels of the synth package share: Numba options and the thread runner.

The kernels (room_kernels.py, capture_kernels.py, photo_kernels.py) each handle scenes
first .. stop - 1 of a batch and release the interpreter lock; `in_threads` splits a batch
across Python threads to run them in parallel.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

# Cached to disk (the first call in a fresh checkout compiles for some seconds); NumPy's error
# model, so 1 / 0 is inf as in torch; fast maths except `arcp`: k / 255 must round exactly.
OPTIONS = {"cache": True, "error_model": "numpy", "nogil": True,
           "fastmath": {"nsz", "contract", "afn", "reassoc"}}

_POOL: tuple[int, ThreadPoolExecutor] | None = None
_POOL_LOCK = threading.Lock()


def thread_pool() -> ThreadPoolExecutor:
    """The process's shared pool of os.cpu_count() threads for kernels and OpenCV calls that
    release the interpreter lock; made again in a forked child (a DataLoader worker), whose copy
    of the parent's pool has no threads behind it."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != os.getpid():
            _POOL = (os.getpid(), ThreadPoolExecutor(os.cpu_count() or 2, thread_name_prefix="maskdepth-kernel"))
        return _POOL[1]


def in_threads(kernel, count: int, threads: int, *args) -> None:
    """Run kernel(first, stop, *args) over scenes 0 .. count - 1 split into `threads` parts.

    Numba's own parallel loops are not used: its OpenMP layer aborts in a forked child (a
    DataLoader worker) and its other layers are not safe to call from several threads.
    """
    threads = max(1, min(threads, count))
    if threads == 1:
        kernel(0, count, *args)
        return
    bounds = [count * k // threads for k in range(threads + 1)]
    list(thread_pool().map(lambda k: kernel(bounds[k], bounds[k + 1], *args), range(threads)))

"""What the compiled kernels of the synth package share: Numba options, the thread runner, the
numpy form of their array arguments, zero-padded bilinear sampling and texture look-ups.

The kernels (kernels/room.py, kernels/capture.py, kernels/photo.py) each handle scenes
first .. stop - 1 of a batch and release the interpreter lock; `in_threads` splits a batch
across Python threads to run them in parallel.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from numba import njit

# Cached to disk (the first call in a fresh checkout compiles for some seconds); NumPy's error
# model, so 1 / 0 is inf as in torch; fast maths except `arcp`: k / 255 must round exactly.
OPTIONS = {"cache": True, "error_model": "numpy", "nogil": True,
           "fastmath": {"nsz", "contract", "afn", "reassoc"}}

def kernel_array(tensor: torch.Tensor) -> np.ndarray:
    """A float32 tensor (CPU) as the C-contiguous numpy array a kernel takes (no copy when it
    already is one)."""
    return np.ascontiguousarray(tensor.float().numpy())


@njit(inline="always", **OPTIONS)
def zero_padded_taps(x, y, size):
    """Bilinear taps at pixel coordinates (x, y) of a size x size image with zeros outside
    (grid_sample's padding "zeros", OpenCV's BORDER_CONSTANT 0): the corner indices clamped
    into the image (xa, ya, xb, yb) and the four weights (w00, w01, w10, w11), each 0 where its
    corner lies outside."""
    x0, y0 = math.floor(x), math.floor(y)
    fx, fy = x - x0, y - y0
    in_x0, in_x1 = 0 <= x0 < size, 0 <= x0 + 1 < size
    in_y0, in_y1 = 0 <= y0 < size, 0 <= y0 + 1 < size
    w00 = (1 - fx) * (1 - fy) if in_x0 and in_y0 else 0.0
    w01 = fx * (1 - fy) if in_x1 and in_y0 else 0.0
    w10 = (1 - fx) * fy if in_x0 and in_y1 else 0.0
    w11 = fx * fy if in_x1 and in_y1 else 0.0
    return (min(max(x0, 0), size - 1), min(max(y0, 0), size - 1), min(max(x0 + 1, 0), size - 1),
            min(max(y0 + 1, 0), size - 1), w00, w01, w10, w11)


@njit(inline="always", **OPTIONS)
def texel(bank, tile, c, x, y):
    """Bilinear sample of channel c of bank[tile] (bank: (N, C, T, T) textures) at pixel
    coordinates (x, y) inside [0, T-1]."""
    size = bank.shape[2]
    x0 = min(int(x), size - 1)
    y0 = min(int(y), size - 1)
    x1, y1 = min(x0 + 1, size - 1), min(y0 + 1, size - 1)
    fx, fy = x - x0, y - y0
    top = bank[tile, c, y0, x0] * (1 - fx) + bank[tile, c, y0, x1] * fx
    bottom = bank[tile, c, y1, x0] * (1 - fx) + bank[tile, c, y1, x1] * fx
    return top * (1 - fy) + bottom * fy


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

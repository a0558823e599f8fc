"""Keeping freed memory for reuse in streaming work (video, the web server).

A video frame's full-size arrays (a 1280x720 float32 map is 3.7 MB) are allocated and freed
every frame. glibc hands blocks that large back to the kernel at once and maps fresh pages for
the next frame; every page then faults again, which in a virtual machine cost 5 of the 9 ms
that the full-size mask took at 720p. Raising glibc's thresholds keeps such blocks in the
process for the next frame instead.

    keep_freed_memory()    # once, at the start of a long-running command
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
MMAP_THRESHOLD = 64 << 20  # blocks up to this size come from the reusable heap
TRIM_THRESHOLD = 256 << 20  # free memory the process keeps before returning it


def keep_freed_memory() -> bool:
    """Set glibc's thresholds (see the module docstring); False where the C library is not
    glibc (nothing changes there)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))

"""Keep freed memory in the process for reuse (glibc), for loops that allocate the same large temporaries each step.

PyTorch's CPU tensors come from ``malloc``. glibc serves blocks above its mmap threshold with fresh ``mmap`` pages
and hands them back on ``free``, and trims the heap top when enough of it is free; a sampling loop that allocates
and frees the same multi-megabyte temporaries every step then page-faults them in again every time. On the QM9 GDSS
sampler at batch 1,024 that was about 19 % of the CPU time, spent in the kernel. :func:`keep_freed_memory` raises
both thresholds (mmap to glibc's maximum, 32 MiB on 64-bit systems; trimming to 1 GiB of free heap), so the freed
blocks stay in the process and are reused. The cost: the process keeps its peak heap until it exits. Set
``MORPHOGEN_KEEP_FREED_MEMORY=0`` to leave the allocator as it is; on a C library without ``mallopt`` (not glibc)
nothing changes.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 1024 * 1024 * 1024

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Apply the thresholds above once per process; True if the allocator now keeps freed memory."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get("MORPHOGEN_KEEP_FREED_MEMORY", "1").strip() == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _applied

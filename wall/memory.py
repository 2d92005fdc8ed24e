"""Keeping a process that runs for months small: return freed heap to the system.

Each crossfade allocates two full-screen pictures (8 MB each at 1920x1080) and frees them 600 ms
later; glibc keeps such freed memory in the process, so resident memory drifts up by tens of MB.
`malloc_trim(0)` after each rotation gives it back (measured in `make bench`: memory).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

_libc: ctypes.CDLL | None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _trim = _libc.malloc_trim
except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
    _libc = None


def release_free_memory() -> None:
    """Give freed heap pages back to the operating system (glibc only; no-op elsewhere)."""
    if _libc is not None:
        _trim(0)


def resident_mb() -> float:
    """This process's resident memory in MB (0 when /proc is not there)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0

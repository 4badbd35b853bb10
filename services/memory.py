"""Give memory back to the system after a burst of work is over (many sockets closed at once).

CPython frees objects into its own pools and glibc's malloc keeps freed chunks in its arenas: after
a thousand sockets close, their buffers and frames are free to Python but still counted in the
process's RSS, and glibc only hands back the top of the main heap by itself. `malloc_trim(0)` walks
every arena and returns their free pages (madvise), which is what an operator watching RSS expects
after the dashboards are gone. Elsewhere than glibc there is nothing to call and nothing is done.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, looked up once (None where there is no glibc)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = (ctypes.c_size_t,), ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Collect garbage cycles, then return free heap pages to the system; True if malloc_trim ran."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True

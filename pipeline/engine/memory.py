"""Give freed memory back to the operating system between the stages of a run.

Whole-file stages (risk, local suppression) allocate large numpy and Arrow buffers; once freed,
the C allocators keep them mapped, so the process's resident size only grows and the next
stage's peak stacks on top of it. Returning them keeps the peak at one stage's need. Within a
stage, Arrow's buffers come from jemalloc, which reuses freed pages instead of faulting in fresh
ones for every table (``arrow_pool``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from functools import cache


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def release() -> None:
    """Hand unused heap and Arrow pool memory back to the system (best effort, microseconds).

    No garbage collection: big arrays are freed by reference counting, and a full collection
    costs a tenth of a second in a process holding dask graphs.
    """
    import pyarrow as pa  # a dependency; release_unused exists since pyarrow 13

    pa.default_memory_pool().release_unused()
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


@cache
def configure() -> None:
    """Tune glibc's allocator for a process of whole-file stages (``mallopt``; call it early).

    By default glibc raises its mmap threshold each time a large block is freed, after which
    large arrays come from the heap and stay resident when freed, and every thread gets heap
    arenas of its own that fragment: over a run the resident size then grows with every
    stage (measured: the 100M-row risk snapshot peaked at 4.6 GB). A fixed 8 MiB threshold
    returns large arrays to the system when they are freed, and one arena per core limits
    fragmentation (the same snapshot: 2.9 GB, no slower). Smaller blocks stay in the heaps,
    and up to 64 MiB free at the top of each (one per core) is kept for the next ones
    (glibc's default, 128 KiB, handed it back and the next arrays faulted in fresh zeroed
    pages: the 10M-row demo spent 9.0-10.2 s of system time, 7.4-8.4 s with 64 MiB kept, 1.3
    s less in all, its peak 0.1 GB higher); ``release`` hands everything free back between
    stages. Arrow's pool: :func:`arrow_pool`.
    """
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(_M_ARENA_MAX, max(2, os.cpu_count() or 2))
        libc.mallopt(_M_MMAP_THRESHOLD, 8 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, KEPT_FREE)
    arrow_pool()


KEPT_FREE = 64 << 20  # free bytes at the top of a heap kept for reuse (glibc's trim threshold)
ARROW_POOL = "ARROW_DEFAULT_MEMORY_POOL"  # Arrow's own variable: a pool named there is kept


def arrow_pool() -> None:
    """Arrow's buffers from jemalloc on Linux, unless ``ARROW_DEFAULT_MEMORY_POOL`` names one.

    pyarrow's default pool, mimalloc, gives freed memory back to the system within
    milliseconds, so the next table's buffers fault in fresh zeroed pages: on the 2-core VM
    of the benchmarks most of a run's system time (2M rows: 14-19 s of it, against 6-9 s with
    jemalloc, which keeps freed pages for reuse about a second; 10M rows: 79 -> 64 s, the
    peak 1.71 -> 1.47 GB). Arrow reads the variable when pyarrow is imported, so the command
    line calls this first (``configure``); the processes the run starts (GX's worker, dask's)
    inherit it. A pyarrow imported before (a caller's process) has only its Python-level
    default switched: Arrow's C++ internals keep the pool chosen at its import. Linux only:
    the pyarrow wheels of other systems may lack jemalloc; a Linux build without it warns once
    and keeps its default.
    """
    if os.environ.get(ARROW_POOL) or not sys.platform.startswith("linux"):
        return
    os.environ[ARROW_POOL] = "jemalloc"
    if "pyarrow" in sys.modules:  # too late for the variable: set the pool itself
        import pyarrow as pa

        if "jemalloc" in pa.supported_memory_backends():
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        else:  # this build has none: the variable would only make Arrow warn in the children
            os.environ.pop(ARROW_POOL)


def small_run() -> None:
    """A run whose data is held in memory (a small file): keep freed blocks for reuse.

    With the fixed 8 MiB threshold of :func:`configure` every array of a million numbers is a
    fresh mapping, faulted in and zeroed page by page by the kernel: 11-12% of a 2M-row run's
    CPU samples. A file small enough to be held (``engine.checkpoint``) has a small peak, so
    from then on blocks up to 64 MiB come from the heap and are reused, and the heap is cut
    back only past 256 MiB free (2M rows: 1.0-1.4 s less system time, the peak the same).
    Only in a process :func:`configure` tuned (the command line); a caller's process is left as
    it is.
    """
    libc = _libc()
    if configure.cache_info().currsize and libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(_M_MMAP_THRESHOLD, 64 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)


_M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

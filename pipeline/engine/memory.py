"""Give freed memory back to the operating system between the stages of a run.

Whole-file stages (risk, local suppression) allocate large numpy and Arrow buffers; once freed,
the C allocators keep them mapped, so the process's resident size only grows and the next
stage's peak stacks on top of it. Returning them keeps the peak at one stage's need.
"""

from __future__ import annotations

import ctypes
import ctypes.util
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

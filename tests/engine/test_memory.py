"""The allocators of a run: glibc's settings and Arrow's pool (jemalloc on Linux)."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pytest

from pipeline.engine.memory import KEPT_FREE

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or "jemalloc" not in pa.supported_memory_backends(),
    reason="Arrow's jemalloc pool is chosen on Linux builds that have it",
)


def _fresh(code: str, **env: str) -> str:
    """What ``code`` prints in a fresh interpreter (``env`` added, Arrow's variable unset)."""
    environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**environ, **env},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""  # no warning of Arrow's about an unknown pool
    return done.stdout.strip()


POOL = (
    "import os; from pipeline.engine.memory import configure; configure(); import pyarrow as pa; "
    "print(pa.default_memory_pool().backend_name, os.environ['ARROW_DEFAULT_MEMORY_POOL'])"
)


def test_a_run_s_arrow_buffers_come_from_jemalloc_and_its_processes_inherit_it() -> None:
    assert _fresh(POOL) == "jemalloc jemalloc"
    child = "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    started = f"import subprocess, sys; {POOL}; subprocess.run([sys.executable, '-c', {child!r}])"
    assert _fresh(started).split() == ["jemalloc", "jemalloc", "jemalloc"]


def test_the_command_line_chooses_the_pool_before_pyarrow_is_imported() -> None:
    """Arrow reads the variable at import: the entry point sets it before anything loads it."""
    code = (
        "import sys; from pipeline.cli import entry; from pipeline.engine import memory; "
        "seen = []; real = memory.configure; "
        "memory.configure = lambda: (seen.append('pyarrow' in sys.modules), real()); "
        "sys.argv = ['anonymize', '--help']\n"
        "try:\n    entry._dispatch()\nexcept SystemExit:\n    pass\n"
        "print(seen[0], __import__('os').environ['ARROW_DEFAULT_MEMORY_POOL'])"
    )
    assert _fresh(code).splitlines()[-1] == "False jemalloc"


def test_a_pyarrow_imported_before_has_its_python_default_switched() -> None:
    code = "import pyarrow as pa; pa.array([1, 2]); " + POOL
    assert _fresh(code) == "jemalloc jemalloc"


def test_a_pool_the_environment_names_is_kept() -> None:
    assert _fresh(POOL, ARROW_DEFAULT_MEMORY_POOL="system") == "system system"


# a fresh interpreter's glibc, read with mallinfo2 (glibc 2.33 or later)
MALLINFO = """
import ctypes, ctypes.util
from pipeline.engine import memory
libc = ctypes.CDLL(ctypes.util.find_library("c"))
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]
libc.mallinfo2.restype = Info
"""
# where 16 MiB arrays come from: bytes in mappings of their own (mallinfo2's hblkhd)
MAPPED = (
    MALLINFO
    + """
import numpy as np
def mapped_by(size):
    before = libc.mallinfo2().hblkhd
    kept.append(np.ones(size // 8))
    return libc.mallinfo2().hblkhd - before >= size
kept = []
{setup}
first = mapped_by(16 << 20)
memory.small_run()
print(first, mapped_by(16 << 20))
"""
)


def _has_mallinfo2() -> bool:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    return bool(name) and hasattr(ctypes.CDLL(name), "mallinfo2")


@pytest.mark.skipif(not _has_mallinfo2(), reason="glibc 2.33 or later (mallinfo2)")
def test_a_small_run_keeps_large_freed_blocks_for_reuse_once_configured() -> None:
    # configured (the command line): a 16 MiB array is a mapping of its own, faulted in and
    # zeroed by the kernel each time, until the run is known to be small
    assert _fresh(MAPPED.format(setup="memory.configure()")) == "True False"
    # a caller's process (the Python API) is left as it is: glibc maps large blocks itself
    assert _fresh(MAPPED.format(setup="")) == "True True"


# what stays free at the top of the main heap after a 4 MiB block there is freed (mallinfo2's
# keepcost): kept for the next arrays once configured, handed back by glibc's default
KEPT = (
    MALLINFO
    + """
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
{setup}
block = libc.malloc(4 << 20)  # below the 8 MiB mmap threshold: from the heap, at its top
libc.free(block)
print(libc.mallinfo2().keepcost >= 4 << 20)
"""
)


@pytest.mark.skipif(not _has_mallinfo2(), reason="glibc 2.33 or later (mallinfo2)")
def test_a_configured_run_keeps_freed_heap_at_the_top_for_the_next_arrays() -> None:
    assert KEPT_FREE >= 4 << 20
    assert _fresh(KEPT.format(setup="memory.configure()")) == "True"
    # the same 8 MiB mmap threshold with glibc's trim threshold (128 KiB): the block, from the
    # heap as well, is handed back as soon as it is freed
    assert _fresh(KEPT.format(setup="libc.mallopt(-3, 8 << 20)")) == "False"

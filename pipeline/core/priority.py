"""Work that may wait: a lower CPU priority for a thread whose results are read later.

A run has work on its critical path (the ingest, the steps' passes, the serial search of a
lattice, the write) and work beside it whose results are needed only later: the input's
measure pass, read at the input's verdict before the output is computed. On a machine with
fewer cores than busy threads the operating system shares the cores evenly, so the measures
slowed the steps' passes while a core sat idle later, when the main thread searched a lattice
alone. At a lower priority (``nice``) the passes get the cores first and the measures the idle
time; each does the same work, and no result changes (the 10M-row demo: 24.7 s -> 23.6 s).

GX's worker process is left at the run's priority: a small run waits for its imports, which a
lower priority delayed (the bundled demo: 2.0 s -> 2.2 s).

Linux only: there a thread has a priority of its own, and the threads it starts inherit it.
Elsewhere ``setpriority`` would lower the whole process, so nothing is changed. Lowering a
priority needs no privilege; a priority already low is lowered no further than 19.
"""

from __future__ import annotations

import os
import sys
import threading

BACKGROUND = 10  # nice steps added to work that may wait (0 normal, 19 the lowest)
LOWEST = 19


def _can() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "setpriority")


def lower(task: int, by: int = BACKGROUND) -> bool:
    """Lower the CPU priority of a Linux task (a process or a thread id) by ``by`` steps.

    Returns:
        Whether it was lowered (False off Linux, for a task that is gone or not this user's).
    """
    if not _can():
        return False
    try:
        now = os.getpriority(os.PRIO_PROCESS, task)
        os.setpriority(os.PRIO_PROCESS, task, min(LOWEST, now + by))
    except OSError:
        return False
    return True


def lower_this_thread(by: int = BACKGROUND) -> bool:
    """Lower the calling thread's CPU priority (and so of the threads it starts from now on)."""
    return lower(threading.get_native_id(), by)

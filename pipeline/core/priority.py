"""Work that may wait: a lower CPU priority for a thread whose results are read later.

A run has work on its critical path (the ingest, the steps' passes, the serial search of a
lattice, the write) and work beside it whose results are needed only later: the input's
measure pass, read at the input's verdict before the output is computed. On a machine with
fewer cores than busy threads the operating system shares the cores evenly, so the measures
slowed the steps' passes while a core sat idle later, when the main thread searched a lattice
alone. At a lower priority (``nice``) the passes get the cores first and the measures the idle
time; each does the same work, and no result changes (the 10M-row demo, four alternating
pairs: 24.9 s -> 23.5 s).

What a lowered thread starts inherits its priority, and no thread can raise its own again
without a privilege: the measure pass's own threads, and also a pool's worker that a library
starts lazily from one of them (Arrow's, usually started by the ingest first) or GX's worker
process when it is started again from the pass after it died. GX's worker is otherwise left at
the run's priority: a small run waits for its imports, which a lower priority delayed (the
bundled demo: 2.0 s -> 2.2 s). A priority weighs against the other work of the same scheduling
group (the process's session or container): beside other busy processes there the pass gets
less than an even share, and the run may wait longer for its verdict.

Linux only: there a thread has a priority of its own. Elsewhere ``setpriority`` would lower
the whole process, so nothing is changed. A system that refuses the change (a sandbox) leaves
the thread as it is.
"""

from __future__ import annotations

import os
import sys
import threading

BACKGROUND = 10  # nice steps added to work that may wait (0 normal, 19 the lowest)
LOWEST = 19


def lower_this_thread(by: int = BACKGROUND) -> bool:
    """Lower the calling thread's CPU priority by ``by`` steps (at most to 19).

    Returns:
        Whether it was lowered (False off Linux, or where the system refuses it).
    """
    if not sys.platform.startswith("linux") or not hasattr(os, "setpriority"):
        return False
    task = threading.get_native_id()
    try:
        now = os.getpriority(os.PRIO_PROCESS, task)
        os.setpriority(os.PRIO_PROCESS, task, min(LOWEST, now + by))
    except OSError:
        return False
    return True

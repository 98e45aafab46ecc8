"""Progress for people and for logs: a live display on a terminal, plain lines otherwise.

Only step names, column names, counts and whole-file measures are ever shown, never a data
value nor a figure derived from one (a step shows the facts it declares ``logged``). A plain
line is at most ``WIDTH`` characters: a longer message goes on indented lines of its own.
"""

from __future__ import annotations

import contextlib
import re
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any, TextIO

from dask.callbacks import Callback

from pipeline.core.numbers import number

WIDTH = 160  # characters of a plain log line, its timestamp included
_PREFIX = len("2026-01-01T00:00:00Z anonymize: ")
_TIMING = re.compile(r"\(\d+\.\d+ s\)$")


class Reporter:
    """Prints what the run does; ``live`` uses rich progress bars (a terminal), else log lines."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.quiet = quiet
        self._console: Any = None
        if self.live and not quiet:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False)

    def line(self, message: str) -> None:
        """Print one line (plain: with a UTC timestamp)."""
        if self.quiet:
            return
        if self._console is not None:
            self._console.print(message, markup=False)
        else:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            for part in wrapped(message):
                print(f"{stamp} anonymize: {part}", file=self.stream, flush=True)

    @contextlib.contextmanager
    def task(self, label: str) -> Iterator[dict[str, Any]]:
        """Show progress of the dask computations run inside the block (local schedulers).

        Yields a dict; whatever the block puts in it is printed after the label when it ends.
        """
        summary: dict[str, Any] = {}
        if self.quiet:
            yield summary
            return
        start = time.perf_counter()
        if self._console is None:
            yield summary
        else:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} tasks"),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            ) as bar:
                task_id = bar.add_task(label, total=None)
                with _DaskProgress(bar, task_id):
                    yield summary
        warned = summary.pop("warnings", None) or []  # a step's warnings: lines of their own
        facts = ", ".join(f"{k}={_fmt(v)}" for k, v in summary.items())
        self.line(f"{label}{': ' + facts if facts else ''} ({time.perf_counter() - start:.2f} s)")
        for warning in warned:
            self.line(f"warning: {warning}")


def wrapped(message: str) -> list[str]:
    """``message`` in parts that fit a plain line (the later ones indented)."""
    if len(message) <= WIDTH - _PREFIX:
        return [message]
    # a run's timing "(0.46 s)" stays whole: a no-break space until the lines are cut
    kept = _TIMING.sub(lambda m: m.group(0).replace(" ", "\xa0"), message)
    parts = textwrap.wrap(kept, WIDTH - _PREFIX, subsequent_indent="  ", break_on_hyphens=False)
    return [part.replace("\xa0", " ") for part in parts]


def _fmt(value: Any) -> str:
    if isinstance(value, list | tuple | dict):  # never spelled out: the manifest has them
        return f"({len(value)} items, in the manifest)"
    if isinstance(value, float):
        return number(value)
    return str(value)


class _DaskProgress(Callback):
    """Feeds a rich progress bar from dask's local-scheduler callbacks."""

    def __init__(self, bar: Any, task_id: Any) -> None:
        super().__init__()
        self.bar, self.task_id, self.total, self.done = bar, task_id, 0, 0

    def _start_state(self, dsk: Any, state: Any) -> None:
        self.total += sum(len(state[k]) for k in ("ready", "waiting", "running"))
        self.bar.update(self.task_id, total=self.total)

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self.done += 1
        self.bar.update(self.task_id, completed=self.done)

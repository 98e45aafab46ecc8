"""Progress for people and for logs: a live display on a terminal, plain lines otherwise.

Only step names, column names, counts and whole-file measures are ever shown, never a data
value nor a figure derived from one (a step shows the facts it declares ``logged``). A plain
line is at most ``WIDTH`` characters: a longer message goes on indented lines of its own.

``--log-format json`` writes the same events as one JSON object per line for log platforms:
``time``, ``run_id``, ``level``, ``event`` (one of ``EVENTS``), ``message`` (the plain line's
text) and, where the line has them, ``step`` and ``position``, ``counts`` (whole numbers),
``measures`` (other numbers), ``notes`` (the facts' other words) and ``seconds``.
"""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import re
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field

from pipeline.core.numbers import number

if TYPE_CHECKING:
    from pipeline.engine.lineage import Lineage  # loaded only by a run that sends events

WIDTH = 160  # characters of a plain log line, its timestamp included
_PREFIX = len("2026-01-01T00:00:00Z anonymize: ")
_TIMING = re.compile(r"\(\d+\.\d+ s\)$")
_STEP = re.compile(r"^\[(?P<i>\d+)/(?P<n>\d+)\] (?P<step>\w+)")
LogFormat = Literal["text", "json"]
EVENTS = {
    "run_started": "a run or a tabulation began (its id, recipe and scheduler)",
    "step": "a step of the recipe ran (or was planned: lazy steps run in the next pass)",
    "pass": "a pass over the data that steps asked for (quantiles, key combinations)",
    "stage": "a stage of the run ended (read, measure, compute and write, gate)",
    "passes": "how many passes the run made over the data, and each one",
    "cost": "what the protection cost in information",
    "warning": "something a reader of the release should know; the run goes on",
    "published": "the release was published (rows in and out, where)",
    "note": "any other line of the run (a package written, a series state)",
    "verdict": "--gate-only's verdict on a published output, and its checks",
    "failed": "the command stopped: its exit code and the error (never a data value)",
}


class LogEvent(BaseModel):
    """One line of ``--log-format json`` (``schemas/log_event.schema.json``)."""

    model_config = ConfigDict(extra="forbid")

    time: str = Field(description="UTC, ISO 8601 with milliseconds and Z.")
    run_id: str | None = Field(description="The run's id (null before a run has one).")
    level: Literal["info", "warning", "error"]
    event: Literal[tuple(EVENTS)] = Field(  # type: ignore[valid-type]
        description="; ".join(f"{k}: {v}" for k, v in EVENTS.items())
    )
    message: str = Field(description="The plain line's text (never a data value).")
    step: str | None = Field(None, description="The step's name (event step).")
    position: list[int] | None = Field(None, description="[i, n]: the step's or pass's place.")
    counts: dict[str, int] | None = Field(None, description="Whole numbers of the line.")
    measures: dict[str, float] | None = Field(None, description="Other numbers of the line.")
    notes: dict[str, str | bool] | None = Field(
        None, description="The line's other facts (a list is shown by its length)."
    )
    seconds: float | None = Field(None, description="How long the step or stage took.")
    recipe: str | None = Field(None, description="The recipe's name (run_started).")
    scheduler: str | None = Field(None, description="Where the run computes (run_started).")
    inputs: list[dict[str, Any]] | None = Field(
        None, description="run_started: each input's path and the columns the run reads."
    )
    outputs: list[dict[str, Any]] | None = Field(None, description="run_started: the output.")
    output: str | None = Field(None, description="The output folder (published, verdict).")
    columns: list[str] | None = Field(None, description="published: the output's columns.")
    exit_code: int | None = Field(None, description="failed: the command's exit code.")
    passed: bool | None = Field(None, description="verdict: whether the output is valid.")


class Reporter:
    """Prints what the run does; ``live`` uses rich progress bars (a terminal), else log lines.

    With ``log_format="json"`` every line is a JSON object (see the module); never live.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        live: bool | None = None,
        quiet: bool = False,
        log_format: LogFormat = "text",
    ):
        self.stream = stream or sys.stderr
        self.json = log_format == "json"
        self.live = False if self.json else self.stream.isatty() if live is None else live
        self.quiet = quiet
        self.run_id: str | None = None
        self.lineage: Lineage | None = None  # told when the run starts, publishes or fails
        self._console: Any = None
        if self.live and not quiet:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False)

    def line(self, message: str, event: str = "note", **fields: Any) -> None:
        """Print one line (plain: with a UTC timestamp; json: ``event`` and ``fields``)."""
        if self.lineage is not None and self.run_id is not None:
            self._tell_lineage(event, fields)
        if self.quiet:
            return
        if self.json:
            self.record(event, message, **fields)
        elif self._console is not None:
            self._console.print(message, markup=False)
        else:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            for part in wrapped(message):
                print(f"{stamp} anonymize: {part}", file=self.stream, flush=True)

    def started(
        self,
        message: str,
        run_id: str,
        job: tuple[str, str],
        data: tuple[str, list[str], Any],
        **counts: int,
    ) -> None:
        """A run began: its ``run_started`` line, and the lineage START event.

        ``job`` is the recipe's name and where it computes; ``data`` the input's path, the
        columns read and the output folder.
        """
        self.run_id = run_id
        path, columns, output = data
        self.line(
            message,
            "run_started",
            recipe=job[0],
            scheduler=job[1],
            counts=counts,
            inputs=[{"path": path, "columns": list(columns)}],
            outputs=[{"path": str(output)}],
        )

    def failed(self, message: str, exit_code: int) -> None:
        """The command stopped: a ``failed`` JSON line (text: the caller prints the message)."""
        if self.lineage is not None:
            self.lineage.fail(message, exit_code)
        if self.json:
            self.record("failed", message, exit_code=exit_code)

    def _tell_lineage(self, event: str, fields: dict[str, Any]) -> None:
        assert self.lineage is not None and self.run_id is not None
        if event == "run_started":
            self.lineage.start(self.run_id, fields["recipe"], fields["inputs"], fields["outputs"])
        elif event == "published":
            rows = (fields.get("counts") or {}).get("rows_out")
            self.lineage.complete(rows, fields.get("columns"))

    def record(self, event: str, message: str, level: str | None = None, **fields: Any) -> None:
        """Write one JSON log line (also when quiet: the caller decides, e.g. for errors)."""
        if event not in EVENTS:
            raise ValueError(f"unknown log event {event!r}")  # a bug: events are declared
        if level is None:
            level = "warning" if event == "warning" else "error" if event == "failed" else "info"
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "run_id": self.run_id,
            "level": level,
            "event": event,
            "message": message,
            **{k: v for k, v in fields.items() if v is not None},
        }
        print(json.dumps(entry, ensure_ascii=False), file=self.stream, flush=True)

    @contextlib.contextmanager
    def task(self, label: str) -> Iterator[dict[str, Any]]:
        """Show progress of the dask computations run inside the block (local schedulers).

        Yields a dict; whatever the block puts in it is printed after the label when it ends.
        Two keys are not facts: ``warnings`` (lines of their own) and ``seconds`` (the work's
        own seconds, for work done beside others and only collected in the block).
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

            from pipeline.engine.dask_progress import DaskProgress  # a run's: dask is loaded

            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} tasks"),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            ) as bar:
                task_id = bar.add_task(label, total=None)
                with DaskProgress(bar, task_id):
                    yield summary
        warned = summary.pop("warnings", None) or []  # a step's warnings: lines of their own
        own = summary.pop("seconds", None)
        seconds = time.perf_counter() - start if own is None else own
        facts = ", ".join(f"{k}={_fmt(v)}" for k, v in summary.items())
        message = f"{label}{': ' + facts if facts else ''} ({seconds:.2f} s)"
        if self.json:
            self.record(**_task_fields(label, summary), message=message, seconds=round(seconds, 3))
        else:
            self.line(message)
        for warning in warned:
            self.line(f"warning: {warning}", "warning")


def wrapped(message: str) -> list[str]:
    """``message`` in parts that fit a plain line (the later ones indented)."""
    if len(message) <= WIDTH - _PREFIX:
        return [message]
    # a run's timing "(0.46 s)" stays whole: a no-break space until the lines are cut
    kept = _TIMING.sub(lambda m: m.group(0).replace(" ", "\xa0"), message)
    parts = textwrap.wrap(kept, WIDTH - _PREFIX, subsequent_indent="  ", break_on_hyphens=False)
    return [part.replace("\xa0", " ") for part in parts]


def _task_fields(label: str, summary: dict[str, Any]) -> dict[str, Any]:
    """A task's JSON fields: its event, step and position, and its facts sorted by kind."""
    fields: dict[str, Any] = {"event": "stage"}
    if found := _STEP.match(label):
        fields.update(event="step", step=found["step"], position=[int(found["i"]), int(found["n"])])
    elif label.startswith("pass: "):
        fields["event"] = "pass"
    counts, measures, notes = {}, {}, {}
    for key, value in summary.items():
        if isinstance(value, bool | str):
            notes[key] = value
        elif isinstance(value, numbers.Integral):
            counts[key] = int(value)
        elif isinstance(value, numbers.Real) and math.isfinite(value):
            measures[key] = float(value)
        else:
            notes[key] = _fmt(value)  # lists and mappings: how many items, never the items
    fields.update(counts=counts or None, measures=measures or None, notes=notes or None)
    return fields


def _fmt(value: Any) -> str:
    if isinstance(value, list | tuple | dict):  # never spelled out: the manifest has them
        return f"({len(value)} items, in the manifest)"
    if isinstance(value, float):
        return number(value)
    return str(value)

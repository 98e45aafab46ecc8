"""The measure passes: one read of the input, or the batches being written, feeds them all.

What the gate and the report need of a whole file (the gate's row checks and streams, declared
by its check kinds in ``pipeline.gate.catalog``, and the streamed risk snapshot) is gathered by
consumers that take the file's tables in order (``add``) and give their result at the end.
:class:`Measures` holds the consumers of one stage; the engine feeds them from a single pass:
the checkpoint after ingest (input stage), the tables the writer cuts into output files (output
stage), or the published files (``--gate-only``). Its evidence is what the gate judges.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from pipeline.gate.catalog import CheckKind, Evidence, Stream
from pipeline.gate.checks import RowCheck
from pipeline.gate.model import CheckResult
from pipeline.gate.rows import RowValidators
from pipeline.io.dataset import Dataset
from pipeline.report.build import SnapshotStream, diversity_stream
from pipeline.report.model import Snapshot
from pipeline.risk.diversity import DiversityStream  # noqa: TC001 - a dataclass field


class Consumer(Protocol):
    """Takes a file's tables in order; ``columns`` are the ones it reads."""

    columns: list[str]

    def add(self, table: pa.Table) -> None:
        """Take one table of records."""


@dataclass(frozen=True)
class Found:
    """Each check kind's results of a pass, and the tables and rows its row checks saw."""

    results: dict[str, list[CheckResult]]
    batches: int
    rows: int


@dataclass
class Measures:
    """The consumers of one stage's pass, and the evidence they give at its end.

    Attributes:
        evidence: What the stage knows before the pass (see ``pipeline.gate.catalog``).
        rows: Each kind's row checks, validated together (GX for a contract's, Arrow for the
            steps').
        streams: Each kind's consumer of the pass.
        risk: The risk snapshot (None without key variables in the data).
        diversity: The l-diversity and t-closeness of the snapshot (None without targets).
    """

    evidence: Evidence
    rows: list[tuple[str, list[RowCheck]]]
    streams: dict[str, Stream]
    risk: SnapshotStream | None = None
    diversity: DiversityStream | None = None
    validator: RowValidators | None = None
    extra: list[Consumer] = field(default_factory=list)  # e.g. the codebook's profile
    _lanes: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _taking: list[Future] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        checks = [c for _, kind_checks in self.rows for c in kind_checks]
        if checks:
            self.validator = RowValidators(checks, self.evidence.stage)

    @property
    def consumers(self) -> list[Consumer]:
        """Every consumer of the pass."""
        found = [self.validator, *self.streams.values(), self.risk, self.diversity, *self.extra]
        return [c for c in found if c is not None]

    @property
    def columns(self) -> list[str]:
        """The columns the pass must read."""
        return list(dict.fromkeys(name for c in self.consumers for name in c.columns))

    def add(self, table: pa.Table) -> None:
        """Give one table to every consumer, side by side, while the caller makes the next.

        Each consumer takes the table in a thread (most of their work is Arrow's, which lets
        go of the interpreter); the previous table is first taken by all, so every consumer
        takes the tables in order, one at a time, and at most two tables are held.
        """
        self.drain()
        if self._lanes is None:
            self._lanes = ThreadPoolExecutor(len(self.consumers), thread_name_prefix="measure")
        self._taking = [self._lanes.submit(c.add, table) for c in self.consumers]

    def drain(self) -> None:
        """Wait until every table given is taken; raise the first consumer's error, if any."""
        taking, self._taking = self._taking, []
        errors = [future.exception() for future in taking]
        for error in errors:
            if error is not None:
                raise error

    def close(self) -> None:
        """Wait for the consumers and end their threads (errors are the pass's to raise)."""
        taking, self._taking = self._taking, []
        for future in taking:
            future.exception()
        if self._lanes is not None:
            self._lanes.shutdown()

    def feed(self, tables: Iterable[pa.Table]) -> None:
        """Give every table to every consumer, in order."""
        for table in tables:
            self.add(table)
        self.drain()

    def snapshot(self) -> Snapshot | None:
        """The risk snapshot of the pass (None without key variables), with l and t."""
        self.drain()
        if self.risk is None:
            return None
        snap = self.risk.finish()
        if self.diversity is not None:
            snap.summary = snap.summary.model_copy(update=self.diversity.finish())
        return snap

    def finish(self, data: Dataset) -> tuple[Snapshot | None, Found]:
        """The risk snapshot and every check's results of the pass, taken side by side.

        Both are mostly single-threaded and independent (the risk's buckets; the scanner's
        sample, GX's answers, the other streams): the snapshot is taken in a thread of its own.
        """
        self.drain()
        with ThreadPoolExecutor(1, thread_name_prefix="snapshot") as pool:
            snapshot = pool.submit(self.snapshot)
            found = self.results(data)
            return snapshot.result(), found

    def results(self, data: Dataset) -> Found:
        """Each kind's results of the pass (``data`` for the streams that read it again)."""
        self.drain()
        found: dict[str, list[CheckResult]] = {}
        batches = rows = 0
        if self.validator is not None:
            results, batches, rows = self.validator.finish()
            if [r.id for r in results] != [c.id for _, cs in self.rows for c in cs]:
                raise RuntimeError("the validated row checks are not the stage's")  # a bug
            start = 0
            for name, checks in self.rows:
                found[name] = results[start : start + len(checks)]
                start += len(checks)
        for name, stream in self.streams.items():
            found[name] = [*found.get(name, []), *stream.results(data)]
        return Found(found, batches, rows)

    def measured(
        self, data: Dataset, snapshot: Snapshot | None, found: Found, **more: Any
    ) -> Evidence:
        """The stage's evidence: each kind's results (``found``), the risk and ``more``."""
        risk = snapshot.summary if snapshot is not None else None
        return replace(
            self.evidence,
            data=data,
            found=found.results,
            batches=found.batches,
            validated=found.rows,
            risk=risk,
            **more,
        )


@contextmanager
def measures(
    evidence: Evidence,
    chosen: list[CheckKind],
    spill: Path | None,
    extra: Sequence[Consumer] = (),
    spill_bytes: int | None = None,
) -> Iterator[Measures]:
    """The consumers of a stage's pass.

    The ``chosen`` kinds' row checks and streams, and the risk snapshot when the data holds the
    recipe's key variables; ``extra`` consumers fed the same pass (the codebook's profile).
    ``spill_bytes``: what the risk's buckets hold in memory before they go to ``spill``.
    """
    recipe, present = evidence.recipe, set(evidence.schema.names)
    rows = [(k.name, k.rows(evidence)) for k in chosen if k.rows is not None]
    streams = {k.name: k.stream(evidence) for k in chosen if k.stream is not None}
    keys = recipe.columns.key_variables
    with_keys = keys and set(keys) <= present
    risk = SnapshotStream(recipe, present, spill, spill_bytes) if with_keys else None
    found = Measures(
        evidence,
        [(name, checks) for name, checks in rows if checks],
        {name: stream for name, stream in streams.items() if stream is not None},
        risk,
        diversity_stream(recipe, present) if risk is not None else None,
        extra=list(extra),
    )
    try:
        yield found
    finally:
        found.close()
        if risk is not None:
            risk.__exit__(None, None, None)


def risk_line(snap: Snapshot | None) -> dict[str, Any]:
    """The facts of a risk snapshot worth a log line."""
    if snap is None:
        return {"skipped": "no key_variables"}
    names = ("k_violations", "sample_uniques", "global_risk")
    return {name: getattr(snap.summary, name) for name in names}

"""The measure passes: one read of the input, or the batches being written, feeds them all.

What the gate and the report need of a whole file (GX row checks, the identifier scan's seeded
sample, the streamed risk snapshot) is gathered by consumers that take the file's tables in
order (``add``) and give their result at the end. :class:`Measures` holds the consumers of one
stage; the engine feeds them from a single pass: the checkpoint after ingest (input stage) or
the tables the writer cuts into output files (output stage).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from pipeline.core.requirements import GroupSize
from pipeline.gate.checks import RowCheck, Stage
from pipeline.gate.groups import GroupStream
from pipeline.gate.gx_engine import RowValidator
from pipeline.gate.judge import Validated
from pipeline.gate.model import CheckResult
from pipeline.gate.scanning import (
    COLUMNS_PER_READ,
    ScanStream,
    scan_dataset,
    scan_results,
    scanned_columns,
)
from pipeline.io.dataset import Dataset
from pipeline.recipe.models import Recipe
from pipeline.report.build import SnapshotStream, diversity_stream
from pipeline.report.model import Snapshot
from pipeline.risk.diversity import DiversityStream  # noqa: TC001 - a dataclass field


class Consumer(Protocol):
    """Takes a file's tables in order; ``columns`` are the ones it reads."""

    columns: list[str]

    def add(self, table: pa.Table) -> None:
        """Take one table of records."""


@dataclass
class Measures:
    """The consumers of one stage's pass, and how to finish them.

    Attributes:
        stage: ``input`` or ``output``.
        checks: The GX row checks validated in the pass.
        scan: The scanner's sample of the first ``COLUMNS_PER_READ`` scanned columns.
        later: Scanned columns beyond those (read again, ``COLUMNS_PER_READ`` at a time).
        risk: The risk snapshot (None without key variables).
    """

    stage: Stage
    recipe: Recipe
    checks: list[RowCheck]
    scan: ScanStream | None
    later: list[str] = field(default_factory=list)
    risk: SnapshotStream | None = None
    diversity: DiversityStream | None = None
    groups: list[GroupStream] = field(default_factory=list)
    validator: RowValidator | None = None

    def __post_init__(self) -> None:
        if self.checks:
            self.validator = RowValidator(self.checks, self.stage)

    @property
    def consumers(self) -> list[Consumer]:
        """Every consumer of the pass."""
        found = [self.validator, self.scan, self.risk, self.diversity, *self.groups]
        return [c for c in found if c is not None]

    @property
    def columns(self) -> list[str]:
        """The columns the pass must read."""
        return list(dict.fromkeys(name for c in self.consumers for name in c.columns))

    def add(self, table: pa.Table) -> None:
        """Give one table to every consumer."""
        for consumer in self.consumers:
            consumer.add(table)

    def feed(self, tables: Iterable[pa.Table]) -> None:
        """Give every table to every consumer, in order."""
        for table in tables:
            self.add(table)

    def validated(self) -> Validated | None:
        """The row checks' results (None when there were none)."""
        return self.validator.finish() if self.validator is not None else None

    def scanned(self, data: Dataset) -> list[CheckResult]:
        """The scan's checks (the columns beyond the pass's read from ``data`` again)."""
        if self.scan is None:
            return []
        spec = self.recipe.scan
        findings = self.scan.findings()
        if self.later:
            findings += scan_dataset(data, self.later, spec, self.recipe.seed)
        return scan_results(self.stage, [*self.scan.columns, *self.later], findings, spec)

    def grouped(self) -> list[CheckResult]:
        """The microaggregation group checks of the pass."""
        return [stream.result() for stream in self.groups]

    def snapshot(self) -> Snapshot | None:
        """The risk snapshot of the pass (None without key variables), with l and t."""
        if self.risk is None:
            return None
        snap = self.risk.finish()
        if self.diversity is not None:
            snap.summary = snap.summary.model_copy(update=self.diversity.finish())
        return snap


@contextmanager
def measures(
    stage: Stage,
    recipe: Recipe,
    schema: pa.Schema,
    rows: int,
    checks: list[RowCheck],
    scan: list[str],
    spill: Path,
    groups: list[tuple[str, GroupSize]] | None = None,
) -> Iterator[Measures]:
    """The consumers of a stage over data of ``schema`` and ``rows`` rows.

    ``checks`` are the GX row checks, ``scan`` the columns to scan for identifiers (``[]``:
    none), ``groups`` the microaggregation group checks. The risk snapshot is taken when the
    recipe has key variables.
    """
    scan = scanned_columns(scan, recipe.scan)
    sample = None
    if scan:
        types = {c: schema.field(c).type for c in scan}
        sample = ScanStream(scan[:COLUMNS_PER_READ], types, rows, recipe.scan, recipe.seed)
    present = set(schema.names)
    missing = [c for c in recipe.columns.key_variables if c not in present]
    if missing:
        raise KeyError(f"key variables not in the data: {', '.join(missing)}")
    risk = SnapshotStream(recipe, present, spill) if recipe.columns.key_variables else None
    diversity = diversity_stream(recipe, present)
    try:
        streams = [GroupStream(id_, need, stage) for id_, need in groups or []]
        yield Measures(
            stage, recipe, checks, sample, scan[COLUMNS_PER_READ:], risk, diversity, streams
        )
    finally:
        if risk is not None:
            risk.__exit__(None, None, None)


def risk_line(snap: Snapshot | None) -> dict[str, Any]:
    """The facts of a risk snapshot worth a log line."""
    if snap is None:
        return {"skipped": "no key_variables"}
    names = ("k_violations", "sample_uniques", "global_risk")
    return {name: getattr(snap.summary, name) for name in names}

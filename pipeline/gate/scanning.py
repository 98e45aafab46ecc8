"""The identifier scanner as gate checks: undeclared identifiers in, any identifier out.

Reason codes: ``undeclared_identifier`` (input stage: a column that the recipe does not declare
as an identifier holds identifiers; with ``scan.undeclared: warn`` the check is recorded but
does not fail) and ``identifier_found`` (output stage: the output must scan clean). Columns are
scanned one at a time on a seeded sample, so memory stays at one column.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from pipeline.core.columns import INTERNAL_PREFIX
from pipeline.gate.catalog import CheckKind, Evidence, register
from pipeline.gate.checks import Stage, table_result
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason
from pipeline.io.dataset import Dataset
from pipeline.recipe.models import ScanSpec
from pipeline.scan.scanner import Finding, scan_array

COLUMNS_PER_READ = 16  # columns sampled per pass over the data: bounds the sample held
SCAN_THREADS = 2  # columns scanned at once


class ScanStream:
    """The scanner's seeded sample of ``columns``, taken from the tables of one pass (``add``).

    ``rows`` is the number of rows the pass will give; with ``spec.sample`` below it, the same
    seeded row numbers are picked whatever the tables' sizes, so the findings do not depend on
    how the data is cut.
    """

    def __init__(
        self,
        columns: list[str],
        types: dict[str, pa.DataType],
        rows: int,
        spec: ScanSpec,
        seed: int,
    ) -> None:
        self.columns, self.types, self.spec = list(columns), types, spec
        self._picked = None
        if spec.sample is not None and rows > spec.sample:
            rng = np.random.default_rng(seed)
            self._picked = np.sort(rng.choice(rows, spec.sample, replace=False))
        self._parts: dict[str, list] = {c: [] for c in self.columns}
        self._start, self._rows = 0, rows
        self._early: list[Future] | None = None

    def add(self, table: pa.Table) -> None:
        """Keep the sampled rows of one table (in file order).

        The table that completes the ``rows`` announced starts the scan in the background: it
        goes on while the pass ends (the last file written, the other measures finished).
        """
        rows, kept = table.num_rows, table
        if self._picked is not None:
            lo, hi = np.searchsorted(self._picked, [self._start, self._start + rows])
            kept = table.select(self.columns).take(pa.array(self._picked[lo:hi] - self._start))
        self._start += rows
        for column in self.columns:
            self._parts[column] += kept.column(column).chunks
        if self._early is not None:  # more rows than announced: the early scan missed some
            self._early = None
        elif self._start == self._rows and rows:
            self._early = self._scan()

    def findings(self) -> list[Finding]:
        """What the scanner finds in the sample, column by column (in the columns' order)."""
        scans = self._early if self._early is not None else self._scan()
        self._parts.clear()
        return [finding for future in scans for finding in future.result()]

    def _scan(self) -> list[Future]:
        """Each column's findings, scanned on two threads (Arrow's kernels release the lock)."""
        sampled = [(c, pa.chunked_array(self._parts[c], self.types[c])) for c in self.columns]
        spec = self.spec
        pool = ThreadPoolExecutor(SCAN_THREADS, thread_name_prefix="scan")
        try:
            return [pool.submit(scan_array, *item, spec.min_confidence) for item in sampled]
        finally:
            pool.shutdown(wait=False)  # its threads end with the last scan


def scan_dataset(data: Dataset, columns: list[str], spec: ScanSpec, seed: int) -> list[Finding]:
    """Findings in ``columns`` of ``data`` (a seeded sample of ``spec.sample`` rows).

    The files are read once per ``COLUMNS_PER_READ`` columns, so memory holds the sampled
    values of those columns only.
    """
    types = {c: data.schema.field(c).type for c in columns}
    found: list[Finding] = []
    for first in range(0, len(columns), COLUMNS_PER_READ):
        stream = ScanStream(
            columns[first : first + COLUMNS_PER_READ], types, data.rows(), spec, seed
        )
        for chunk in data.chunks(stream.columns):
            stream.add(chunk)
        found += stream.findings()
    return found


def scanned_columns(columns: list[str], spec: ScanSpec) -> list[str]:
    """The columns the scanner looks at (``scan.ignore`` left out)."""
    return [c for c in columns if c not in set(spec.ignore)]


def scan_results(
    stage: Stage, columns: list[str], findings: list[Finding], spec: ScanSpec
) -> list[CheckResult]:
    """One check per scanned column from the scanner's ``findings``."""
    found: dict[str, list[Finding]] = {}
    for finding in findings:
        found.setdefault(finding.column, []).append(finding)
    warn = stage == "input" and spec.undeclared == "warn"
    reason = Reason.UNDECLARED_IDENTIFIER if stage == "input" else Reason.IDENTIFIER_FOUND
    out = []
    for column in columns:
        hits = found.get(column, [])
        what = "; ".join(
            f"{f.kind} in {f.matches} of {f.rows_checked} values (confidence {f.confidence:.2f})"
            for f in hits
        )
        if stage == "input":
            description = f"column {column} (not declared as an identifier) holds no identifiers"
        else:
            description = f"output column {column} holds no identifiers"
        description += f": found {what}" if hits else ""
        if hits and warn:
            description += " (scan.undeclared: warn)"
        out.append(
            table_result(
                stage,
                f"scan.{column}",
                reason,
                description,
                len(hits),
                "no identifier kind",
                not hits or warn,
                column,
            )
        )
    return out


class ScanChecks:
    """The scan of a stage: the first columns sampled in the pass, the others read again."""

    def __init__(self, ev: Evidence, columns: list[str]) -> None:
        self.stage, self.spec, self.seed = ev.stage, ev.recipe.scan, ev.recipe.seed
        self.all = columns
        types = {c: ev.schema.field(c).type for c in columns[:COLUMNS_PER_READ]}
        self._first = ScanStream(columns[:COLUMNS_PER_READ], types, ev.rows, self.spec, self.seed)
        self.columns = self._first.columns

    def add(self, table: pa.Table) -> None:
        """Keep the sampled rows of one table."""
        self._first.add(table)

    def results(self, data: Dataset) -> list[CheckResult]:
        """One check per scanned column (the columns beyond the pass's read from ``data``)."""
        findings = self._first.findings()
        later = self.all[COLUMNS_PER_READ:]
        if later:
            findings += scan_dataset(data, later, self.spec, self.seed)
        return scan_results(self.stage, self.all, findings, self.spec)


def _scan(ev: Evidence) -> ScanChecks | None:
    """The scan of a stage, or None when it scans no column.

    Input: the columns not declared as identifiers (unless ``scan.undeclared: off``), and not
    the run's own internal columns (row numbers, the hashed units of a linking ID: never
    published, never a value of the data); output: every column (unless ``scan.output: false``).
    """
    spec, names = ev.recipe.scan, list(ev.schema.names)
    if ev.stage == "input":
        declared = {*ev.recipe.columns.removed(), *ev.recipe.columns.linking_ids}
        names = [
            c
            for c in names
            if spec.undeclared != "off" and c not in declared and not c.startswith(INTERNAL_PREFIX)
        ]
    elif not spec.output:
        names = []
    columns = scanned_columns(names, spec)
    return ScanChecks(ev, columns) if columns else None


register(
    CheckKind(
        name="identifier_scan",
        summary="no column holds identifiers the recipe does not declare (input) and the "
        "output scans clean (a seeded sample of every column)",
        reasons=(Reason.UNDECLARED_IDENTIFIER, Reason.IDENTIFIER_FOUND),
        stages=("input", "output"),
        reads=("schema", "rows"),
        stream=_scan,
    )
)

"""Great Expectations as the row-level validation engine, fed one Arrow table at a time.

GX has no dask or Arrow engine, so the gate hands it pandas frames. A :class:`RowValidator`
takes the tables of a pass over the data (``add``) and gives each check its unexpected count
(``finish``). Every expectation the gate uses judges each value on its own (in a set, between
bounds, matching a pattern, not null), so a column with few distinct values is validated on its
distinct values, each verdict weighed by how often the value occurs; a column whose values are
mostly distinct (ids, weights) is validated table by table. Either way the counts are those of a
row-by-row validation, whatever the batching. GX itself runs in a worker process
(:mod:`pipeline.gate.gx_worker`): the run goes on while it validates, and the counts are
collected at ``finish``. Only counts leave the worker, never a data value.
"""

from __future__ import annotations

import importlib.metadata
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.gate import gx_worker
from pipeline.gate.checks import RowCheck, Stage
from pipeline.gate.model import CheckResult

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import pyarrow as pa

DISTINCT_LIMIT = 1 << 20  # distinct values per column held before they are validated
DISTINCT_SHARE = 0.125  # a column is validated on its distinct values below this share
IN_FLIGHT = 4  # validations sent to the worker and not yet answered, at most (bounds memory)


def warm_up() -> None:
    """Start GX's worker process (about 4 s of imports there, beside the reading of the input)."""
    gx_worker.warm_up()


def engine_version() -> str:
    """The installed Great Expectations version (as installed, without importing it)."""
    return importlib.metadata.version("great_expectations")


class RowValidator:
    """Each row check's unexpected count over the tables of one pass (``add``, then ``finish``).

    Attributes:
        columns: The columns the checks read (a table given to ``add`` should hold them).

    """

    def __init__(self, checks: list[RowCheck], stage: Stage) -> None:
        self.checks, self.stage = list(checks), stage
        self._flat = [
            (i, name, kwargs, kwargs.get("column"))
            for i, c in enumerate(checks)
            for name, kwargs in c.expectations
        ]
        self.columns = list(dict.fromkeys(col for *_, col in self._flat if col is not None))
        self._feeds = {c: _Feed() for c in self.columns}
        self._sent: deque[tuple[Future, list[int], np.ndarray | None]] = deque()
        self._totals = [0] * len(checks)
        self._broken = {i for i, *_, col in self._flat if col is None}  # cannot run: fail closed
        self.tables = self.rows = 0

    def add(self, table: pa.Table) -> None:
        """Count the unexpected rows of ``table`` (its values may be validated later)."""
        import pyarrow as pa

        self.tables += 1
        self.rows += table.num_rows
        if not table.num_rows:
            return
        names = set(table.column_names)
        self._broken.update(i for i, *_, col in self._flat if col is not None and col not in names)
        for column in self.columns:
            if column not in names:
                continue
            feed = self._feeds[column]
            values = table.column(column)
            if pa.types.is_dictionary(values.type):
                values = values.cast(values.type.value_type)
            if feed.distinct is None:
                from pipeline.io.dataset import repeated  # a run's: checking a recipe needs none

                feed.distinct = repeated(values, DISTINCT_SHARE)  # the first table's first values
            if not feed.distinct:
                self._validate(column, values, None)
            elif feed.add(values):
                self._validate(column, *feed.pop())

    def finish(self) -> tuple[list[CheckResult], int, int]:
        """The results (one per check, in order), the number of tables and of rows."""
        for column, feed in self._feeds.items():
            if feed.rows:
                self._validate(column, *feed.pop())
        while self._sent:
            self._collect()
        out = [
            _result(check, self.stage, self._totals[i], self.rows, i in self._broken)
            for i, check in enumerate(self.checks)
        ]
        return out, self.tables, self.rows

    def _validate(self, column: str, values: Any, weights: np.ndarray | None) -> None:
        """Send one column's values to GX (distinct ones when ``weights`` gives their counts)."""
        import pyarrow as pa

        mine = [(k, f[1], f[2]) for k, f in enumerate(self._flat) if f[3] == column]
        table = pa.table({column: values})
        future = gx_worker.submit(table, mine, weights is not None)
        self._sent.append((future, [k for k, *_ in mine], weights))
        while len(self._sent) > IN_FLIGHT:
            self._collect()

    def _collect(self) -> None:
        """Add the oldest answer's counts; a check GX could not run fails closed."""
        future, keys, weights = self._sent.popleft()
        try:
            counts = dict(future.result())
        except Exception:  # noqa: BLE001 - the worker died: fail closed, never guess
            counts = {}
        for k in keys:
            found = counts.get(k)  # an expectation GX did not answer fails closed too
            i = self._flat[k][0]
            if found is None:
                self._broken.add(i)
            elif weights is None:
                self._totals[i] += int(found)
            else:
                self._totals[i] += int(weights[np.asarray(found, np.int64)].sum())


def validate_tables(
    tables: Iterable[pa.Table], checks: list[RowCheck], stage: Stage
) -> tuple[list[CheckResult], int, int]:
    """Run ``checks`` on every row of ``tables`` (see :class:`RowValidator`).

    Returns:
        The results (one per check, in order), the number of tables and of rows.

    """
    validator = RowValidator(checks, stage)
    for table in tables:
        validator.add(table)
    return validator.finish()


@dataclass
class _Feed:
    """One column's values: raw up to ``DISTINCT_LIMIT`` rows, then as distinct values + counts."""

    distinct: bool | None = None  # decided on the column's first table
    raw: list[pa.ChunkedArray] = field(default_factory=list)
    rows: int = 0
    counted: list[pa.Table] = field(default_factory=list)

    def add(self, values: pa.ChunkedArray) -> bool:
        """Gather ``values``; True when enough distinct values wait to be validated."""
        self.raw.append(values)
        self.rows += len(values)
        if sum(len(v) for v in self.raw) >= DISTINCT_LIMIT:
            self._count()
        return sum(t.num_rows for t in self.counted) >= DISTINCT_LIMIT

    def _count(self) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        chunks = [c for v in self.raw for c in v.chunks]
        found = pc.value_counts(pa.chunked_array(chunks, self.raw[0].type))
        self.counted.append(pa.table({"v": found.field("values"), "n": found.field("counts")}))
        self.raw = []

    def pop(self) -> tuple[pa.ChunkedArray, np.ndarray]:
        """The distinct values gathered and how often each occurs; forgotten."""
        import pyarrow as pa

        if self.raw:
            self._count()
        counts = pa.concat_tables(self.counted)
        if len(self.counted) > 1:  # the same value may come from several parts
            counts = counts.group_by("v").aggregate([("n", "sum")]).rename_columns(["v", "n"])
        self.counted, self.rows = [], 0
        return counts.column("v"), counts.column("n").to_numpy()


def _result(check: RowCheck, stage: Stage, total: int, rows: int, broken: bool) -> CheckResult:
    if broken:
        return check.could_not_run(stage, engine="great_expectations")
    return check.result(stage, total, rows, engine="great_expectations")

"""Great Expectations as the row-level validation engine, fed one Arrow table at a time.

GX has no dask or Arrow engine, so the gate hands it pandas frames. A :class:`RowValidator`
takes the tables of a pass over the data (``add``) and gives each check its unexpected count
(``finish``). Every expectation the gate uses judges each value on its own (in a set, between
bounds, matching a pattern, not null), so a column with few distinct values is validated on its
distinct values, each verdict weighed by how often the value occurs; a column whose values are
mostly distinct (ids, weights) is validated table by table. Either way the counts are those of a
row-by-row validation, whatever the batching. The context is ephemeral (nothing on disk),
analytics and progress bars are off, and only counts leave this module, never a data value.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.gate.checks import RowCheck, Stage
from pipeline.gate.model import CheckResult
from pipeline.io.dataset import NULLABLE

# COMPLETE: the positions of the unexpected distinct values, to weigh them by their counts. GX
# also lists the values themselves in the result; they stay in this module, only counts leave.
_DISTINCT_FORMAT = {"result_format": "COMPLETE", "partial_unexpected_count": 0}
_RAW_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}
_LOCK = threading.Lock()  # one GX context per process; frames are validated one at a time
_CONTEXT_LOCK = threading.Lock()
_CONTEXT: list[Any] = []

DISTINCT_LIMIT = 1 << 20  # distinct values per column held before they are validated
DISTINCT_SHARE = 0.125  # a column is validated on its distinct values below this share


def _batch_definition() -> Any:
    with _CONTEXT_LOCK:
        if not _CONTEXT:
            _CONTEXT.append(_new_context())
        return _CONTEXT[0]


def _new_context() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch it loads (a full-frame hash, twice per validation) only
    # to label it; measured, that was 95% of the gate's time on 1M rows. Frames larger than
    # HASH_THRESHOLD bytes are never fingerprinted, so with 0 none is. Nothing here reads it.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("anonymize_gate")
    asset = source.add_dataframe_asset("batch")
    return asset.add_batch_definition_whole_dataframe("whole")


def warm_up() -> threading.Thread:
    """Import GX and build its context in a background thread (about 3 s of imports).

    A run starts this first thing, so the import overlaps reading the input; the first
    validation waits for it.
    """
    thread = threading.Thread(target=_batch_definition, name="gx-warm-up", daemon=True)
    thread.start()
    return thread


def engine_version() -> str:
    """The installed Great Expectations version."""
    import great_expectations as gx

    return str(gx.__version__)


def gx_frame(table: pa.Table) -> pd.DataFrame:
    """A batch in the dtypes GX checks fastest: numpy numbers (NaN for missing), Arrow text.

    GX compares nullable ``Int64`` values one Python object at a time but numpy columns in one
    vectorized pass (measured: 10x on 1M rows); it skips missing values either way. An integer
    column with missing values becomes float64 only where that is exact (|x| <= 2**53).
    """
    frame = table.to_pandas(ignore_metadata=True)  # no pandas metadata: no Int64 restored
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_integer(column.type) and column.null_count and len(column):
            low, high = pc.min_max(column).values()
            if max(abs(low.as_py() or 0), abs(high.as_py() or 0)) > 2**53:
                frame[name] = column.to_pandas(types_mapper=NULLABLE.get)
    return frame


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
        self._suites: dict[str, Any] = {}  # per column, built once
        self._totals = [0] * len(checks)
        self._broken = {i for i, *_, col in self._flat if col is None}  # cannot run: fail closed
        self.tables = self.rows = 0

    def add(self, table: pa.Table) -> None:
        """Count the unexpected rows of ``table`` (its values may be validated later)."""
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
                feed.distinct = _mostly_repeated(values)
            if not feed.distinct:
                self._validate(column, values, None)
            elif feed.add(values):
                self._validate(column, *feed.pop())

    def finish(self) -> tuple[list[CheckResult], int, int]:
        """The results (one per check, in order), the number of tables and of rows."""
        for column, feed in self._feeds.items():
            if feed.rows:
                self._validate(column, *feed.pop())
        out = [
            _result(check, self.stage, self._totals[i], self.rows, i in self._broken)
            for i, check in enumerate(self.checks)
        ]
        return out, self.tables, self.rows

    def _validate(self, column: str, values: Any, weights: np.ndarray | None) -> None:
        """Validate one column's values (distinct ones when ``weights`` gives their counts)."""
        frame = gx_frame(pa.table({column: values}))
        with _LOCK:
            if column not in self._suites:
                mine = [(k, f) for k, f in enumerate(self._flat) if f[3] == column]
                self._suites[column] = _suite_of(mine)
            batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
            fmt = _RAW_FORMAT if weights is None else _DISTINCT_FORMAT
            outcome = batch.validate(self._suites[column], result_format=fmt)
        for result in outcome.results:
            i = self._flat[int(result.expectation_config.meta["k"])][0]
            found = result.result or {}
            if weights is None:
                count = found.get("unexpected_count")
            else:
                where = found.get("unexpected_index_list")
                count = None if where is None else weights[np.asarray(where, np.int64)].sum()
            if count is None:  # the expectation raised: fail closed, never guess
                self._broken.add(i)
                continue
            self._totals[i] += int(count)


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


def _mostly_repeated(values: pa.ChunkedArray) -> bool:
    """True when a column's first table has few distinct values for its rows (see the module).

    A column of Arrow's ``null`` type (every value missing) has no distinct-value kernel: it is
    validated row by row.
    """
    if pa.types.is_null(values.type):
        return False
    return int(pc.count_distinct(values, mode="all").as_py()) <= DISTINCT_SHARE * len(values)


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
        chunks = [c for v in self.raw for c in v.chunks]
        found = pc.value_counts(pa.chunked_array(chunks, self.raw[0].type))
        self.counted.append(pa.table({"v": found.field("values"), "n": found.field("counts")}))
        self.raw = []

    def pop(self) -> tuple[pa.ChunkedArray, np.ndarray]:
        """The distinct values gathered and how often each occurs; forgotten."""
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


def _suite_of(flat: list[tuple[int, tuple]]) -> Any:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    expectations = [getattr(gxe, f[1])(**f[2], meta={"k": k}) for k, f in flat]
    return gx.ExpectationSuite(name="anonymize_gate", expectations=expectations)

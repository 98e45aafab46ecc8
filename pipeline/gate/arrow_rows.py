"""The row checks steps derive (caps, levels), counted with Arrow compute, without GX.

A step's requirements are two kinds of row check: every value within a bound
(``ExpectColumnValuesToBeBetween``) and every value one of a set (``ExpectColumnValuesToBeInSet``).
They are counted here with pyarrow's vectorised kernels on the tables of the pass, to the same
unexpected counts Great Expectations gives on those tables (``tests/gate/test_arrow_rows.py``
compares both on random columns), so a run whose data contract asks for nothing else never
starts GX (2-3 s of imports, in its worker process) and validates at Arrow's speed.
Contract checks stay GX expectations (:mod:`pipeline.gate.gx_engine`).

The counts follow GX's pandas semantics, made exact: a missing value (null, or NaN in a float
column) passes; an integer is compared with a bound or a set exactly (no detour through
float64, which GX takes for integer columns with missing values); ``-0.0`` equals ``0.0``; a
text value never equals a number. A column of any other type (booleans, dates) cannot be
checked here: the check fails closed (``check_error``), as GX's error would.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.gate.checks import RowCheck, Stage
from pipeline.gate.model import CheckResult

BETWEEN = "ExpectColumnValuesToBeBetween"
IN_SET = "ExpectColumnValuesToBeInSet"
ARROW_EXPECTATIONS = frozenset({BETWEEN, IN_SET})
_INT64 = (-(2**63), 2**63 - 1)  # the range of signed integers (unsigned: 0 .. 2**64 - 1)


class Unsupported(TypeError):
    """A column type this engine does not check (the check fails closed)."""


class ArrowRowValidator:
    """Each check's unexpected count over the tables of one pass (``add``, then ``finish``).

    The interface of :class:`pipeline.gate.gx_engine.RowValidator`.

    Attributes:
        columns: The columns the checks read.
    """

    def __init__(self, checks: list[RowCheck], stage: Stage) -> None:
        self.checks, self.stage = list(checks), stage
        for check in self.checks:
            if {name for name, _ in check.expectations} - ARROW_EXPECTATIONS:
                raise ValueError(f"{check.id}: not an Arrow row check")  # a bug
        self.columns = list(dict.fromkeys(c.column for c in self.checks if c.column))
        self._totals = [0] * len(self.checks)
        self._broken: set[int] = set()
        self.tables = self.rows = 0

    def add(self, table: pa.Table) -> None:
        """Count the unexpected rows of ``table``."""
        self.tables += 1
        self.rows += table.num_rows
        names = set(table.column_names)
        for i, check in enumerate(self.checks):
            if check.column is None or check.column not in names:
                self._broken.add(i)
                continue
            if not table.num_rows or i in self._broken:
                continue
            values = table.column(check.column)
            try:
                self._totals[i] += sum(unexpected(values, n, kw) for n, kw in check.expectations)
            except Unsupported:
                self._broken.add(i)

    def finish(self) -> tuple[list[CheckResult], int, int]:
        """The results (one per check, in order), the number of tables and of rows."""
        out = [
            check.could_not_run(self.stage)
            if i in self._broken
            else check.result(self.stage, self._totals[i], self.rows)
            for i, check in enumerate(self.checks)
        ]
        return out, self.tables, self.rows


def unexpected(values: pa.ChunkedArray | pa.Array, expectation: str, kwargs: dict) -> int:
    """How many values of a column fail one expectation (missing values pass).

    Raises:
        Unsupported: the column's type is not a number or a text.
    """
    values = _plain(values)
    present = pc.invert(pc.is_null(values, nan_is_null=True))
    if not pc.any(present).as_py():
        return 0  # no value to judge, whatever the type
    kind = _kind(values.type)
    if expectation == BETWEEN:
        if kind == "text":
            raise Unsupported(str(values.type))
        bad = pa.scalar(False)
        if kwargs.get("min_value") is not None:
            bad = pc.or_(bad, _beyond(values, float(kwargs["min_value"]), upper=False))
        if kwargs.get("max_value") is not None:
            bad = pc.or_(bad, _beyond(values, float(kwargs["max_value"]), upper=True))
    else:
        bad = pc.invert(_member(values, kind, kwargs["value_set"]))
    return int(pc.sum(pc.and_(present, bad)).as_py() or 0)


def _plain(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Dictionary-encoded values decoded; ``-0.0`` made ``0.0`` (they are equal)."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if pa.types.is_floating(values.type):
        values = pc.add(values, pa.scalar(0.0, values.type))
    return values


def _kind(kind: pa.DataType) -> str:
    if pa.types.is_integer(kind):
        return "integer"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "number"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "text"
    raise Unsupported(str(kind))


def _beyond(values: Any, bound: float, upper: bool) -> Any:
    """Values above (``upper``) or below ``bound``; integers compared exactly."""
    if math.isnan(bound):
        return pa.scalar(False)  # nothing is above or below NaN (a NaN bound: no value fails)
    if pa.types.is_integer(values.type):
        wide = pa.uint64() if pa.types.is_unsigned_integer(values.type) else pa.int64()
        low, high = (0, 2**64 - 1) if wide == pa.uint64() else _INT64
        limit = math.floor(bound) if upper else math.ceil(bound)  # exact for whole numbers
        if limit > high or limit < low:  # beyond the column's range: all or none
            return pa.scalar((limit < low) if upper else (limit > high))
        return (pc.greater if upper else pc.less)(values.cast(wide), pa.scalar(int(limit), wide))
    if pa.types.is_decimal(values.type):
        values = values.cast(pa.float64())
    return (pc.greater if upper else pc.less)(values, pa.scalar(bound, pa.float64()))


def _member(values: Any, kind: str, value_set: Iterable[Any]) -> Any:
    """Whether each value is in ``value_set`` (a text never equals a number)."""
    members = [v for v in value_set if v is not None and not isinstance(v, bool)]
    if kind == "text":
        texts = pa.array([v for v in members if isinstance(v, str)], pa.string())
        return pc.is_in(values.cast(pa.string()), value_set=texts)
    ints = [v for v in members if isinstance(v, int)]
    floats = [v for v in members if isinstance(v, float) and not math.isnan(v)]
    if kind == "integer":  # compared in the column's own range (uint64 included), exactly
        wide = pa.uint64() if pa.types.is_unsigned_integer(values.type) else pa.int64()
        low, high = (0, 2**64 - 1) if wide == pa.uint64() else _INT64
        whole = ints + [int(v) for v in floats if v.is_integer()]
        kept = sorted({v for v in whole if low <= v <= high})
        return pc.is_in(values.cast(wide), value_set=pa.array(kept, wide))
    finite = [0.0 if v == 0 else float(v) for v in ints + floats]
    return pc.is_in(values.cast(pa.float64()), value_set=pa.array(finite, pa.float64()))

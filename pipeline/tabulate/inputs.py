"""A tabulation's input: the columns its tables name, magnitudes as numbers, every record placed.

Checked before or while the tables are computed (``pipeline.tabulate.phases``): every column a
table names is in the input; magnitude, weight and banded columns hold numbers (counted lazily
and settled in the tables' pass); no record lacks a category (it would be revealed by
difference between two tables' totals).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.columns import ColumnsSpec
from pipeline.core.errors import InputDataError, Problem
from pipeline.engine.apply import PendingChecks
from pipeline.engine.ingest import checked_numbers, number_dtype
from pipeline.io import csvtext
from pipeline.steps.registry import Check
from pipeline.tabulate.load import LoadedTabulation
from pipeline.tabulate.model import NOT_STATED, TableSpec


def check_input(loaded: LoadedTabulation, header: list[str]) -> list[str]:
    """Check every column the tables name is in the input; return the columns to read.

    Raises:
        InputDataError: every missing column, with a hint and the columns found.
    """
    named: dict[str, str] = {}
    for i, spec in enumerate(loaded.recipe.tables):
        for column in spec.columns_used():
            named.setdefault(column, f"tables[{i}] {spec.name}")
    problems_, shown = csvtext.missing_columns(header, named, loaded.recipe.input.delimiter)
    if problems_:
        raise InputDataError(
            problems_,
            title=f"input {loaded.recipe.input.path} does not fit "
            f"(columns found: {csvtext.columns_found(header, shown)})",
        )
    return list(dict.fromkeys(c for s in loaded.recipe.tables for c in s.columns_used()))


def numbers(ddf: Any, loaded: LoadedTabulation, pending: PendingChecks) -> Any:
    """Magnitude and weight columns as numbers.

    Values that are not numbers, and non-finite ones unless ``input.non_finite: missing``, are
    counted lazily into ``pending`` and settled in the pass that computes the tables.
    """
    wanted = sorted(
        {c for s in loaded.recipe.tables for c in (s.variable, s.weight) if c}
        | {c for s in loaded.recipe.tables for c in banded(s, loaded.base_dir)}
    )
    keep_infinite = loaded.recipe.input.non_finite == "missing"
    facts: dict[str, int] = {}
    for column in wanted:
        kind = number_dtype(ddf[column].dtype)
        both = ddf[column].map_partitions(_checked, kind, meta=_CHECKED)
        parsed, infinite = both["value"], both["infinite"]
        checks = [(both["invalid"].sum(), "are not numbers")]
        if keep_infinite:
            parsed = parsed.mask(infinite)
        else:
            checks.append((infinite.sum(), "are not finite (inf or -inf)"))
        for count, what in checks:
            pending.add((Check(count, f"{column} {what}", _problem(column, what)),), facts)
        ddf = ddf.assign(**{column: parsed})
    return ddf


def check_classified(loaded: LoadedTabulation, computed: dict) -> None:
    """Records without a category would be left out of a table's totals: stop instead.

    Two tables' totals would otherwise differ by exactly those records (disclosure by
    difference, never checked by the rules).

    Raises:
        InputDataError: per table, the records without a category (counts only).
    """
    problems_ = []
    for i, spec in enumerate(loaded.recipe.tables):
        n = int(computed[spec.name]["unclassified"])
        if n:
            names = " or ".join(v.column for v in spec.axes)
            problems_.append(
                Problem(
                    f"{n} record(s) have no value for {names}: leaving them out of the totals "
                    f"would reveal them by difference; set missing: category on the variable "
                    f"(a '{NOT_STATED}' category) or complete the input",
                    location=f"{loaded.path} tables[{i}] {spec.name}:",
                    code="unclassified",
                )
            )
    if problems_:
        raise InputDataError(problems_)


def banded(spec: TableSpec, base_dir: Path) -> list[str]:
    """Columns a table recodes into numeric bands (they must hold numbers, as in a run)."""
    out = []
    for var in spec.axes:
        params = var.recode_params(base_dir)
        out += sorted(params.declare(ColumnsSpec()).numeric) if params is not None else []
    return out


_CHECKED = pd.DataFrame(
    {
        "value": pd.Series(dtype="Float64"),
        "invalid": pd.Series(dtype="bool"),
        "infinite": pd.Series(dtype="bool"),
    }
)


def _checked(values: pd.Series, kind: str | None) -> pd.DataFrame:
    parsed, invalid, infinite = checked_numbers(values, kind)
    frame = {"value": parsed.astype("Float64"), "invalid": invalid, "infinite": infinite}
    return pd.DataFrame(frame, index=values.index)


def _problem(column: str, what: str) -> Callable[[int], Problem | None]:
    def problem(n: int) -> Problem | None:
        if not n:
            return None
        return Problem(f"column {column!r}: {n} value(s) {what}", code="not_numeric")

    return problem

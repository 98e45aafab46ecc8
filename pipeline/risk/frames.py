"""Data given in memory (a pandas DataFrame or a pyarrow Table) as checked Arrow columns.

``pipeline.api``'s functions take a DataFrame or a Table as well as a file. A file reader
guarantees what a frame may lack, so it is checked here: column names given once (a
DataFrame's names that are not text, such as integers, are taken as text: ``0`` is ``'0'``)
and one type of value per column. Whatever the source, a column the tool reads must hold flat
values: nested values (lists, structs, maps) and bytes are refused (``unflat``). Problems name
the column and what was expected, never a value.
"""

from __future__ import annotations

import math
from typing import Any

from pipeline.core.errors import InputDataError, Problem, RecipeError

NESTED = "nested values (lists, structs)"
BYTES = "bytes (binary values)"
_CONTAINERS = {"list", "tuple", "dict", "set", "frozenset", "ndarray"}


def arrow_table(data: Any, columns: list[str]) -> Any:
    """The named ``columns`` of a pandas DataFrame or a pyarrow Table, as an Arrow table.

    Raises:
        InputDataError: column names given twice, a column not in the data (the columns found
            are named), a column holding values of several types or of a type Arrow cannot hold.
        RecipeError: ``data`` is neither a DataFrame nor a Table.
    """
    import pyarrow as pa

    if isinstance(data, pa.Table):
        _check_names(list(data.column_names), columns)
        return data.select(columns)
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise RecipeError(
            [Problem("data must be a path, a pandas DataFrame or a pyarrow Table", code="usage")],
            title="usage error",
        )
    names = [str(c) for c in data.columns]
    _check_names(names, columns)
    position = {name: i for i, name in enumerate(names)}
    arrays = [_column(data.iloc[:, position[c]], c) for c in columns]
    return pa.Table.from_arrays(arrays, names=columns)


def unflat(schema: Any, columns: list[str]) -> list[tuple[str, str]]:
    """``(column, what it holds)`` for those of ``columns`` with nested values or bytes."""
    import pyarrow as pa

    out = []
    for field in schema:
        kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if field.name not in columns:
            continue
        if pa.types.is_nested(kind):
            out.append((field.name, NESTED))
        elif (
            pa.types.is_binary(kind)
            or pa.types.is_large_binary(kind)
            or pa.types.is_fixed_size_binary(kind)
        ):
            out.append((field.name, BYTES))
    return out


def check_flat(schema: Any, columns: list[str]) -> None:
    """Refuse those of ``columns`` that hold nested values or bytes.

    Raises:
        InputDataError: one problem per such column (its name and what it holds).
    """
    found = unflat(schema, columns)
    if found:
        raise InputDataError(
            [
                Problem(
                    f"column {name!r} holds {what}, not categories or numbers: "
                    + ("decode them to text first, or " if what == BYTES else "")
                    + "leave it out (--key-vars, --columns)",
                    code="nested_column",
                )
                for name, what in found
            ]
        )


def _check_names(names: list[str], columns: list[str]) -> None:
    """Every name once; every one of ``columns`` present (else the names found)."""
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputDataError(
            [
                Problem(
                    f"the data has duplicate column names: {', '.join(map(repr, twice))}; "
                    "give each column its own name",
                    code="duplicate_column",
                )
            ]
        )
    missing = [c for c in columns if c not in names]
    if missing:
        raise InputDataError(
            [
                Problem(
                    f"column(s) not in the data: {', '.join(missing)} (found: {', '.join(names)})",
                    code="column_missing",
                )
            ]
        )


def _column(series: Any, name: str) -> Any:
    """One DataFrame column as an Arrow array, or a problem naming its types (never a value)."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(series.to_frame("c"), preserve_index=False).column(0)
    except (pa.ArrowException, TypeError, ValueError, OverflowError, NotImplementedError):
        kinds = sorted({type(v).__name__ for v in series if not _missing(v)})
    if set(kinds) & _CONTAINERS:
        message = f"column {name!r} holds {NESTED}, not categories or numbers: leave it out"
    elif len(kinds) > 1:
        shown = ", ".join(kinds[:5]) + (", ..." if len(kinds) > 5 else "")
        message = (
            f"column {name!r} mixes values of several types ({shown}): give it one type "
            "(text: .astype(str), numbers: pandas.to_numeric)"
        )
    else:
        message = (
            f"column {name!r} holds values of type {', '.join(kinds) or 'unknown'}, "
            "which cannot be read: expected text, numbers, true/false or dates"
        )
    raise InputDataError([Problem(message, code="mixed_types")])


def _missing(value: Any) -> bool:
    """None, NaN, pandas' NA or NaT (what a column may hold besides its values)."""
    import pandas as pd

    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )

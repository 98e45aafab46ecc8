"""The ingest pass: one read of the input into a typed checkpoint (``engine.checkpoint``).

Identifier columns are never read (only the columns that survive are requested from the
reader); linking IDs are replaced before anything is written. CSV columns stay text unless a
step, the weight or ``input.numeric`` needs a number; those are parsed here, and every value that
is not a number is counted over the whole file (reported with record numbers, never values).
Non-finite numbers (``inf``, ``-inf``) in those columns, from CSV text or a Parquet float column,
are an input error too unless ``input.non_finite: missing`` reads them as missing (``nan`` text
is not a number). Whole-number columns become nullable integers, the rest nullable floats.
When the ingest converts no column to floats (text, decimals, unsigned 64-bit integers or dates
read as numbers: whether they become whole-number is known after it), the checkpoint's types are
known before the pass, and other lazy values on the typed frame (``typed``: the steps' first
pass) are computed with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core.columns import ROW
from pipeline.core.errors import InputDataError, Problem
from pipeline.engine.checkpoint import Checkpoint

_FIRST = 5
_NULLABLE_NUMBERS = {f"Int{n}" for n in (8, 16, 32, 64)} | {"UInt8", "UInt16", "UInt32"}
_NULLABLE_NUMBERS |= {"Float32", "Float64"}
_EXACT = 2.0**53  # float64 holds every whole number up to this exactly
_STATS_META = pd.DataFrame(
    {
        "column": pd.Series(dtype="string"),
        "rows": pd.Series(dtype="int64"),
        "invalid": pd.Series(dtype="int64"),
        "fractional": pd.Series(dtype="int64"),
        "first_invalid": pd.Series(dtype="string"),
        "nonfinite": pd.Series(dtype="int64"),
        "first_nonfinite": pd.Series(dtype="string"),
    }
)


@dataclass(frozen=True)
class IngestResult:
    """What the ingest pass learned about the whole file."""

    rows: int
    integer_columns: list[str]
    read_as_missing: dict[str, int]  # inf / -inf per column, with input.non_finite: missing


@dataclass(frozen=True)
class Typing:
    """The numbers the ingest makes of a frame's columns.

    Attributes:
        targets: Each numeric column's dtype (``number_dtype``; None: it is one already).
        parsed: Columns converted to floats, made whole-number ``Int64`` after the pass when
            every value is whole: their type is known only then.
        meta: The frame's columns and types as the ingest puts them in the checkpoint.
    """

    targets: dict[str, str | None]
    parsed: list[str]
    meta: pd.DataFrame
    non_finite: str = "error"


def typing_of(ddf: dd.DataFrame, numeric: list[str], non_finite: str = "error") -> Typing:
    """How the ingest types ``numeric`` columns of ``ddf`` (those it holds)."""
    meta = ddf._meta.copy()
    targets = {c: number_dtype(meta[c].dtype) for c in numeric if c in meta.columns}
    for column, kind in targets.items():
        if kind is not None:
            meta[column] = meta[column].astype(kind)
    parsed = [c for c, kind in targets.items() if kind == "Float64"]
    return Typing(targets, parsed, meta, non_finite)


def typed(ddf: dd.DataFrame, typing: Typing) -> dd.DataFrame | None:
    """``ddf`` with the values and types the ingest puts in the checkpoint, lazily.

    For a pass computed with the ingest's, on the records it reads (the checkpoint's frame
    then has the same values in the same order). None when a column is parsed as numbers:
    whether it becomes whole-number is known only after the ingest.
    """
    categorical = any(isinstance(t, pd.CategoricalDtype) for t in typing.meta.dtypes)
    if typing.parsed or categorical:  # a category list is the reader's, not the values'
        return None
    return ddf.map_partitions(_typed_partition, typing.targets, typing.non_finite, meta=typing.meta)


def ingest_pass(
    ddf: dd.DataFrame, typing: Typing, target: Checkpoint, fused: tuple = ()
) -> tuple[pd.DataFrame, tuple]:
    """Convert the numeric columns and put each partition in ``target``: the pass itself.

    ``fused``: lazy objects computed in the same pass (on ``typed(ddf, typing)``). Returns
    each partition's counts (for ``judged``) and the values of ``fused``.
    """
    target.folder.mkdir(parents=True, exist_ok=True)
    schema = pa.Schema.from_pandas(typing.meta, preserve_index=False)
    stats = ddf.map_partitions(
        _ingest_partition, typing.targets, target, schema, typing.non_finite, meta=_STATS_META
    )
    table, *values = dask.compute(stats, *fused)
    return table, tuple(values)


def judged(table: pd.DataFrame, typing: Typing) -> IngestResult:
    """What ``ingest_pass``'s counts say of the whole file.

    Raises:
        InputDataError: a numeric column holds values that are not numbers, or non-finite
            numbers while ``input.non_finite`` is ``error`` (every column listed).

    """
    non_finite, numeric = typing.non_finite, list(typing.targets)
    rows = int(table.loc[table["column"] == "", "rows"].sum())
    problems, as_missing = [], {}
    for column in numeric:
        sub = table[table["column"] == column]
        if non_finite == "missing":
            as_missing[column] = int(sub["nonfinite"].sum())
            sub = sub.assign(nonfinite=0)
        problems += _value_problems(column, sub)
    if problems:
        raise InputDataError(problems)
    integer_columns = [  # whole numbers that float64 holds exactly (|x| <= 2**53)
        c for c in typing.parsed if int(table.loc[table["column"] == c, "fractional"].sum()) == 0
    ]
    read = {c: n for c, n in as_missing.items() if n}
    return IngestResult(rows, integer_columns, read)


def _value_problems(column: str, sub: pd.DataFrame) -> list[Problem]:
    """Problems of one numeric column over the whole file (counts and record numbers)."""
    out = []
    for count, first, what, hint, code in (
        ("invalid", "first_invalid", "are not numbers", "", "not_numeric"),
        (
            "nonfinite",
            "first_nonfinite",
            "are not finite (inf or -inf)",
            " (input.non_finite: missing reads them as missing)",
            "not_finite",
        ),
    ):
        n = int(sub[count].sum())
        if not n:
            continue
        firsts = sorted(int(x) for s in sub[first] if s for x in s.split(","))
        shown = ", ".join(str(x) for x in firsts[:_FIRST]) + (", ..." if n > _FIRST else "")
        out.append(
            Problem(
                f"column {column!r}: {n} value(s) {what} (data records {shown}); "
                f"the recipe uses it as a number{hint}",
                code=code,
            )
        )
    return out


def number_dtype(dtype: object) -> str | None:
    """The dtype a column read as numbers gets: None (it is one already), Int64 or Float64.

    Nullable and float columns stay; numpy integers become nullable (a Parquet integer column
    with nulls arrives as float in some partitions); unsigned 64-bit ones, decimals, text and
    anything else are converted to Float64 (values that are no numbers become missing and are
    counted).
    """
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and str(dtype) in _NULLABLE_NUMBERS:
        return None
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return None
    if isinstance(dtype, np.dtype) and dtype.kind in "iu" and dtype != np.uint64:
        return "Int64"
    return "Float64"


def to_numbers(values: pd.Series, target: str | None) -> pd.Series:
    """``values`` as the numbers of ``number_dtype``; what is not a number becomes missing."""
    if target is None:
        return values
    dtype = values.dtype
    types = pd.api.types
    if target == "Int64":
        return values.astype("Int64")
    if (
        types.is_bool_dtype(dtype)
        or types.is_datetime64_any_dtype(dtype)
        or (types.is_timedelta64_dtype(dtype))
    ):
        return pd.Series(pd.NA, index=values.index, dtype="Float64", name=values.name)
    if types.is_numeric_dtype(dtype):  # decimals, unsigned 64-bit
        return values.astype("float64").astype("Float64")
    if not types.is_string_dtype(dtype):
        values = values.astype("string")
    return parse_numbers(values)


def checked_numbers(values: pd.Series, kind: str | None) -> tuple[pd.Series, ...]:
    """``values`` as numbers (``to_numbers``), the not-a-number mask and the inf mask."""
    parsed = to_numbers(values, kind)
    invalid = values.notna() & parsed.isna()
    as_float = parsed.to_numpy(dtype="float64", na_value=np.nan)
    return parsed, invalid, pd.Series(np.isinf(as_float), index=values.index)


def _ingest_partition(
    pdf: pd.DataFrame,
    targets: dict[str, str | None],
    target: Checkpoint,
    schema: pa.Schema,
    non_finite: str,
    partition_info=None,  # noqa: ANN001
) -> pd.DataFrame:
    number = partition_info["number"] if partition_info else 0
    empty = {"invalid": 0, "fractional": 0, "first_invalid": "", "nonfinite": 0}
    records = [{"column": "", "rows": len(pdf), **empty, "first_nonfinite": ""}]
    out, checked = _converted(pdf, targets, non_finite)
    for column, (bad, infinite, as_float) in checked.items():
        finite = np.isfinite(as_float)
        fractional = int((finite & (np.trunc(as_float) != as_float)).sum())  # not x % 1: 5x
        fractional += int((finite & (np.abs(as_float) > _EXACT)).sum())  # whole, not exact
        records.append(
            {
                "column": column,
                "rows": len(pdf),
                "invalid": int(bad.sum()),
                "fractional": fractional,
                "first_invalid": _firsts(pdf, bad),
                "nonfinite": int(infinite.sum()),
                "first_nonfinite": _firsts(pdf, infinite),
            }
        )
    target.put(number, pa.Table.from_pandas(out, schema=schema, preserve_index=False))
    return pd.DataFrame(records).astype(_STATS_META.dtypes.to_dict())


def _typed_partition(pdf: pd.DataFrame, targets: dict, non_finite: str) -> pd.DataFrame:
    """``_converted``'s frame (the ingest's own tasks count the values)."""
    return _converted(pdf, targets, non_finite)[0]


def _converted(
    pdf: pd.DataFrame, targets: dict[str, str | None], non_finite: str
) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """``pdf`` with its numbers converted; each column's not-a-number and inf masks, floats."""
    out = pdf.copy(deep=False)  # copy on write: the parsed columns replace their arrays
    checked = {}
    for column, kind in targets.items():
        parsed, bad, infinite = checked_numbers(pdf[column], kind)
        as_float = parsed.to_numpy(dtype="float64", na_value=np.nan)
        if non_finite == "missing" and infinite.any():
            parsed = parsed.mask(infinite)  # counted all the same (the run records them)
        out[column] = parsed
        checked[column] = (bad, infinite, as_float)
    return out, checked


def _firsts(pdf: pd.DataFrame, mask: pd.Series) -> str:
    """The first few 1-based record numbers where ``mask`` holds."""
    return ",".join((pdf.loc[mask.to_numpy(), ROW].head(_FIRST) + 1).astype(str))


def parse_numbers(values: pd.Series) -> pd.Series:
    """Text to nullable floats; anything that is not a number becomes missing.

    Arrow's cast is tried first (fast, all-or-nothing); pandas handles columns with bad values.
    A column of Python objects (a Parquet column of Arrow's ``null`` type arrives as one, all
    ``None``) is read as text first: Arrow would see no text in it. Bytes that are not UTF-8
    are decoded with replacement characters (no number then), never raised with their value.
    """
    if values.dtype == object:
        try:
            values = values.astype("string")
        except (TypeError, ValueError):  # UnicodeDecodeError is a ValueError
            values = values.map(_text, na_action="ignore").astype("string")
    trimmed = pc.utf8_trim_whitespace(pa.array(values.array))
    try:
        numbers = pc.cast(trimmed, pa.float64())
    except pa.ArrowInvalid:
        return pd.to_numeric(values.str.strip(), errors="coerce").astype("Float64")
    return pd.Series(
        numbers.to_pandas(types_mapper={pa.float64(): pd.Float64Dtype()}.get).array,
        index=values.index,
        name=values.name,
    )


def _text(value: object) -> str:
    """A Python object as text: bytes decoded as UTF-8 (bad bytes replaced), others ``str``."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)

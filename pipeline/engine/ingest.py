"""The ingest pass: one read of the input into a typed Parquet checkpoint in staging.

Identifier columns are never read (only the columns that survive are requested from the
reader); linking IDs are replaced before anything is written. CSV columns stay text unless a
step, the weight or ``input.numeric`` needs a number; those are parsed here, and every value that
is not a number is counted over the whole file (reported with record numbers, never values).
Whole-number columns become nullable integers, the rest nullable floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dask
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.errors import InputDataError, Problem
from pipeline.steps.registry import ROW

_FIRST = 5
_STATS_META = pd.DataFrame(
    {
        "column": pd.Series(dtype="string"),
        "rows": pd.Series(dtype="int64"),
        "invalid": pd.Series(dtype="int64"),
        "fractional": pd.Series(dtype="int64"),
        "first_invalid": pd.Series(dtype="string"),
    }
)


@dataclass(frozen=True)
class IngestResult:
    """What the ingest pass learned about the whole file."""

    rows: int
    integer_columns: list[str]


def ingest(ddf: dd.DataFrame, numeric: list[str], target: Path) -> IngestResult:
    """Convert ``numeric`` columns, write the checkpoint to ``target`` and check the values.

    Raises:
        InputDataError: a numeric column holds values that are not numbers (all columns listed).

    """
    target.mkdir(parents=True, exist_ok=True)
    meta = ddf._meta.copy()
    to_parse = [c for c in numeric if not pd.api.types.is_numeric_dtype(meta[c].dtype)]
    for column in to_parse:
        meta[column] = meta[column].astype("Float64")
    schema = pa.Schema.from_pandas(meta, preserve_index=False)
    stats = ddf.map_partitions(_ingest_partition, to_parse, str(target), schema, meta=_STATS_META)
    (table,) = dask.compute(stats)
    rows = int(table.loc[table["column"] == "", "rows"].sum())
    problems = []
    integer_columns = []
    for column in to_parse:
        sub = table[table["column"] == column]
        invalid = int(sub["invalid"].sum())
        if invalid:
            firsts = sorted(int(x) for s in sub["first_invalid"] if s for x in s.split(","))
            shown = ", ".join(str(x) for x in firsts[:_FIRST])
            problems.append(
                Problem(
                    f"column {column!r}: {invalid} value(s) are not numbers (data records "
                    f"{shown}{', ...' if invalid > _FIRST else ''}); "
                    "the recipe uses it as a number",
                    code="not_numeric",
                )
            )
        elif int(sub["fractional"].sum()) == 0:
            integer_columns.append(column)
    if problems:
        raise InputDataError(problems)
    return IngestResult(rows=rows, integer_columns=integer_columns)


def _ingest_partition(
    pdf: pd.DataFrame,
    to_parse: list[str],
    target: str,
    schema: pa.Schema,
    partition_info=None,  # noqa: ANN001
) -> pd.DataFrame:
    number = partition_info["number"] if partition_info else 0
    out = pdf.copy()
    records = [{"column": "", "rows": len(pdf), "invalid": 0, "fractional": 0, "first_invalid": ""}]
    for column in to_parse:
        parsed = parse_numbers(pdf[column])
        bad = pdf[column].notna() & parsed.isna()
        first = (pdf.loc[bad, ROW].head(_FIRST) + 1).astype(str)
        fractional = int(((parsed % 1) != 0).fillna(False).sum())
        out[column] = parsed
        records.append(
            {
                "column": column,
                "rows": len(pdf),
                "invalid": int(bad.sum()),
                "fractional": fractional,
                "first_invalid": ",".join(first),
            }
        )
    table = pa.Table.from_pandas(out, schema=schema, preserve_index=False)
    pq.write_table(table, Path(target) / f"part-{number:05d}.parquet", compression="lz4")
    return pd.DataFrame(records).astype(_STATS_META.dtypes.to_dict())


def parse_numbers(values: pd.Series) -> pd.Series:
    """Text to nullable floats; anything that is not a number becomes missing.

    Arrow's cast is tried first (fast, all-or-nothing); pandas handles columns with bad values.
    """
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


def read_checkpoint(target: Path, integer_columns: list[str]) -> dd.DataFrame:
    """Read the checkpoint back, in partition order, with whole-number columns as Int64."""
    files = sorted(str(p) for p in target.glob("part-*.parquet"))
    ddf = dd.read_parquet(files)
    for column in integer_columns:
        ddf[column] = ddf[column].astype("Int64")
    return ddf

"""Risk of an Arrow table or a file: the path used by ``anonymize risk`` and by the engine.

Reads only the needed columns with pyarrow (no pandas, no dask), so a whole ``anonymize risk``
process stays close to a bare pyarrow read + group-by.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.risk.encode import codes_from_arrow, weights_from_arrow
from pipeline.risk.frequencies import Missing
from pipeline.risk.measures import RiskResult, measure_risk


def read_columns(
    path: Path,
    columns: list[str],
    text_columns: list[str],
    encoding: str = "utf-8",
    delimiter: str = ",",
    na_values: tuple[str, ...] = ("", "NA"),
) -> Any:
    """Read ``columns`` of a CSV or Parquet file (or a folder of Parquet files) as Arrow.

    ``text_columns`` are read from CSV as text (codes keep their leading zeros).
    """
    import pyarrow as pa

    missing = [c for c in columns if c not in file_columns(path, encoding, delimiter)]
    if missing:
        raise KeyError(f"columns not in {path}: {', '.join(missing)}")
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        import pyarrow.csv as pacsv

        types = {c: pa.string() for c in text_columns}  # plain text reads fastest
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns,
                column_types=types,
                null_values=list(na_values),
                strings_can_be_null=True,
            ),
        )
    import pyarrow.parquet as pq

    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if not p.name.startswith((".", "_")))
        return pa.concat_tables([pq.read_table(f, columns=columns) for f in files])
    return pq.read_table(path, columns=columns)


def file_columns(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> list[str]:
    """Column names of a CSV header or a Parquet schema."""
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        import csv

        with path.open(encoding=encoding, newline="") as fh:
            return list(next(csv.reader(fh, delimiter=delimiter), []))
    import pyarrow.parquet as pq

    if path.is_dir():
        path = sorted(p for p in path.rglob("*.parquet") if not p.name.startswith((".", "_")))[0]
    return list(pq.read_schema(path).names)


def risk_of_table(
    table: Any,
    keys: list[str],
    k: int = 3,
    weight: str | None = None,
    household: str | None = None,
    missing: Missing = "any",
) -> tuple[RiskResult, dict]:
    """Measure risk over a whole Arrow table; return the result and a JSON-ready summary."""
    codes, cards = codes_from_arrow(table, keys)
    weights = weights_from_arrow(table, weight) if weight else None
    hh = None
    if household:
        hh, _ = codes_from_arrow(table, [household])
        hh = hh[:, 0]
    result = measure_risk(codes, k, weights, hh, missing)
    summary = dict(result.summary)
    summary["key_variables"] = {
        key: {"categories": cards[j], "missing": int((codes[:, j] < 0).sum())}
        for j, key in enumerate(keys)
    }
    return result, summary

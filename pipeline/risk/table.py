"""Risk of an Arrow table or a file, in memory: the path of ``anonymize risk``.

It is also the reader of ``anonymize scan``; runs measure risk streamed instead
(``pipeline.risk.stream``).

Reads only the needed columns with pyarrow (no pandas, no dask), so a whole ``anonymize risk``
process stays close to a bare pyarrow read + group-by.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.core.errors import InputDataError, Problem
from pipeline.io import csvtext, files
from pipeline.risk.encode import codes_from_arrow, weights_from_arrow
from pipeline.risk.extras import Extras
from pipeline.risk.frames import arrow_table, check_flat
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

    Raises:
        InputDataError: a column is not in the file (with the columns found when the header
            looks like one), or the file cannot be read (the line that fails, never values).
    """
    import pyarrow as pa

    header = file_columns(path, encoding, delimiter)
    if len(set(header)) != len(header):
        raise InputDataError(
            [Problem(f"input {path} has duplicate column names", code="duplicate_column")]
        )
    missing = [c for c in columns if c not in header]
    if missing:
        shown = csvtext.shows_header(header, columns)
        hints = "".join(csvtext.header_hints(c, header, delimiter, shown) for c in missing[:1])
        raise InputDataError(
            [
                Problem(
                    f"columns not in {path}: {', '.join(missing)}{hints} (columns found: "
                    f"{csvtext.columns_found(header, shown)})",
                    code="missing_column",
                )
            ]
        )
    if files.is_csv_name(path):
        import pyarrow.csv as pacsv

        types = {c: pa.string() for c in text_columns}  # plain text reads fastest
        try:
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
        except (pa.ArrowInvalid, UnicodeDecodeError):  # its message quotes the row
            problem = csvtext.locate_csv_problem(path, encoding, delimiter)
            raise InputDataError([problem]) from None
    import pyarrow.parquet as pq

    check_flat(pq.read_schema(files.parquet_files(path)[0]), columns)
    tables = [pq.read_table(f, columns=columns) for f in files.parquet_files(path)]
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def file_columns(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> list[str]:
    """Column names of a CSV header or a Parquet schema (see ``pipeline.io.files``)."""
    return csvtext.columns_of(path, files.is_csv_name(path), encoding, delimiter)


def numeric_weights(table: Any, name: str) -> Any:
    """The table with its weight column as float64, checked.

    Raises:
        InputDataError: weights that are not numbers, not finite, or negative (counted, with
            the first record numbers; never the values).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    column = table.column(name)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        trimmed = pc.utf8_trim_whitespace(column)
        parsed = pc.cast(_numbers_or_null(trimmed), pa.float64())
        unparsed = pc.and_(pc.is_valid(trimmed), pc.is_null(parsed))
        _raise_if(unparsed, name, "are not numbers")
        column = parsed
    elif not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        raise InputDataError(
            [
                Problem(
                    f"weight column {name!r} holds {column.type} values, not numbers",
                    code="not_numeric",
                )
            ]
        )
    column = pc.cast(column, pa.float64())
    _raise_if(pc.invert(pc.is_finite(column)), name, "are not finite (inf or nan)")
    _raise_if(pc.less(column, 0), name, "are negative")
    return table.set_column(table.column_names.index(name), name, column)


def _numbers_or_null(text: Any) -> Any:
    """Text that parses as a decimal number, else null (so that the cast cannot fail)."""
    import pyarrow.compute as pc

    pattern = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
    return pc.if_else(pc.match_substring_regex(text, pattern), text, None)


def _raise_if(mask: Any, name: str, what: str) -> None:
    import numpy as np
    import pyarrow.compute as pc

    mask = pc.fill_null(mask, False)
    bad = int(pc.sum(mask).as_py() or 0)
    if bad:
        rows = np.flatnonzero(np.asarray(mask))[:5] + 1
        shown = ", ".join(str(r) for r in rows) + (", ..." if bad > 5 else "")
        raise InputDataError(
            [
                Problem(
                    f"weight column {name!r}: {bad} value(s) {what} (data records {shown})",
                    code="bad_weight",
                )
            ]
        )


def risk_of_table(
    table: Any,
    keys: list[str],
    k: int = 3,
    weight: str | None = None,
    household: str | None = None,
    missing: Missing = "any",
    extras: Extras | None = None,
) -> tuple[RiskResult, dict]:
    """Measure risk over a whole Arrow table; return the result and a JSON-ready summary.

    ``extras``: SUDA2 or the model-based risk too (its ``model`` needs ``weight``).
    """
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
    if extras is not None:
        import numpy as np

        first = result.first
        inclusion = None
        if weights is not None:
            with np.errstate(divide="ignore"):
                inclusion = np.bincount(result.inverse, weights=1.0 / np.asarray(weights))
        total = float(np.sum(weights)) if weights is not None else None
        found = extras.summaries(codes[first], result.counts, inclusion, keys, missing, total)
        summary.update(found)
    return result, summary


def read_table(path: Path, encoding: str, delimiter: str, columns: list[str] | None) -> Any:
    """Every (or the named) column of a file; CSV columns as text.

    Raises:
        InputDataError: missing file or column, unreadable file.
    """
    from pipeline.io import csvtext

    if not path.exists():
        raise InputDataError([Problem(f"input {path} not found", code="input_missing")])
    header = file_columns(path, encoding, delimiter)
    wanted = list(dict.fromkeys(columns or header))
    table = read_columns(path, wanted, wanted, encoding, delimiter)
    if csvtext.header_looks_like_values(header):  # a record, not names: never print it
        table = table.rename_columns([f"column {header.index(c) + 1}" for c in wanted])
    return table


def table_of(data: Any, columns: list[str], text: list[str], encoding: str, delimiter: str) -> Any:
    """The named columns of ``data`` (a path, a pandas DataFrame or an Arrow table) as Arrow.

    ``text`` columns of a DataFrame or a Table become strings (``pipeline.api``'s functions
    take any of the three); a column of nested values or bytes is refused whatever the source.

    Raises:
        InputDataError: a missing file or column (the columns found are named), column names
            given twice, a column of mixed types, nested values or bytes (see
            ``pipeline.risk.frames``).
        RecipeError: ``data`` is none of the three.
    """
    import pyarrow as pa

    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.exists():
            raise InputDataError([Problem(f"input {path} not found", code="input_missing")])
        return read_columns(path, columns, text, encoding, delimiter)
    table = arrow_table(data, columns)
    check_flat(table.schema, columns)
    for name in text:
        if not pa.types.is_string(table.schema.field(name).type):
            at = table.schema.get_field_index(name)
            table = table.set_column(at, name, _as_text(table.column(name), name))
    return table


def _as_text(column: Any, name: str) -> Any:
    """A column read as categories, as strings (a type without a text form is refused)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowException, ValueError, TypeError, NotImplementedError):
        raise InputDataError(
            [
                Problem(
                    f"column {name!r} holds {column.type} values, which "
                    "cannot be read as categories",
                    code="not_categories",
                )
            ]
        ) from None

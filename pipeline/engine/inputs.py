"""Reading the input: checks that name the file and column, and the dask reader."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import dask.dataframe as dd
import pyarrow.parquet as pq

from pipeline.errors import InputDataError, Problem, redact
from pipeline.recipe.models import InputSpec
from pipeline.steps.registry import ROW

_SNIFF_BYTES = 1 << 20


def input_columns(spec: InputSpec) -> list[str]:
    """Return the column names of the input, checking that it exists and can be decoded.

    Raises:
        InputDataError: missing file, undecodable header, unreadable Parquet.

    """
    path = Path(spec.path)
    if not path.exists():
        raise InputDataError([Problem(f"input {path} not found", code="input_missing")])
    if spec.resolved_format() == "csv":
        if path.is_dir():
            raise InputDataError([Problem(f"input {path} is a directory, expected a CSV file")])
        head = path.open("rb").read(_SNIFF_BYTES)
        text = _decode(head, spec.encoding, path, partial=len(head) == _SNIFF_BYTES)
        first = next(csv.reader(io.StringIO(text), delimiter=spec.delimiter), None)
        if not first:
            raise InputDataError([Problem(f"input {path} is empty (no header row)", code="empty")])
        return list(first)
    try:
        return list(pq.read_schema(_first_parquet(path)).names)
    except (OSError, ValueError) as exc:
        raise InputDataError(
            [Problem(f"input {path} is not a readable Parquet file ({type(exc).__name__})")]
        ) from None


def _first_parquet(path: Path) -> Path:
    if path.is_file():
        return path
    files = sorted(p for p in path.rglob("*.parquet") if not p.name.startswith((".", "_")))
    if not files:
        raise InputDataError([Problem(f"input directory {path} holds no .parquet files")])
    return files[0]


def _decode(data: bytes, encoding: str, path: Path, partial: bool) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        if partial and exc.start >= len(data) - 4:  # a character cut by the sniff window
            return data[: exc.start].decode(encoding)
        line = data[: exc.start].count(b"\n") + 1
        raise InputDataError([_encoding_problem(path, encoding, f"line {line}")]) from None


def _encoding_problem(path: Path, encoding: str, where: str) -> Problem:
    hint = "cp932" if encoding.replace("_", "-") in ("utf-8", "utf8") else "utf-8"
    return Problem(
        f"input {path} is not valid {encoding} text ({where}); set input.encoding (e.g. {hint})",
        code="encoding",
    )


def read_input(spec: InputSpec, columns: list[str], npartitions: int | None) -> dd.DataFrame:
    """Read ``columns`` of the input lazily, every CSV column as text, plus the row position.

    The row position (``ROW``) is the record's 0-based position in the file, computed globally
    with a cumulative sum, so it does not depend on how the file is split into partitions.
    """
    path = Path(spec.path)
    if spec.resolved_format() == "csv":
        ddf = dd.read_csv(
            str(path),
            usecols=columns,
            dtype="string",
            encoding=spec.encoding,
            sep=spec.delimiter,
            na_values=spec.na_values,
            keep_default_na=False,
            blocksize="64MiB",
            engine="pyarrow",
        )
    else:
        target = (
            str(path)
            if path.is_file()
            else sorted(
                str(p) for p in path.rglob("*.parquet") if not p.name.startswith((".", "_"))
            )
        )
        ddf = dd.read_parquet(target, columns=columns)
    ddf = ddf[columns]
    if npartitions:
        ddf = ddf.repartition(npartitions=npartitions)
    ddf = ddf.assign(**{ROW: 1})
    ddf[ROW] = ddf[ROW].cumsum() - 1
    return ddf


def translate_read_error(exc: BaseException, spec: InputSpec) -> InputDataError | None:
    """Turn a reader exception raised inside dask into a clear input error (no values shown)."""
    path = Path(spec.path)
    if isinstance(exc, UnicodeDecodeError):
        return InputDataError([_encoding_problem(path, spec.encoding, "further down the file")])
    name = type(exc).__name__
    if name in ("ParserError", "EmptyDataError") or "Error tokenizing data" in str(exc):
        return InputDataError(
            [Problem(f"input {path} cannot be parsed as CSV: {redact(str(exc))}")]
        )
    return None


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, or of a directory's files (relative names and contents, sorted)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()

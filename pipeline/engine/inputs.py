"""Reading the input: checks that name the file and column, and the dask reader."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.core.columns import ROW
from pipeline.core.errors import AnonymizeError, InputDataError, Problem
from pipeline.engine.seal import file_sha256
from pipeline.io import csvtext, files
from pipeline.recipe.models import InputSpec

# records of a coalesced partition, about: 2M records in 4 partitions ran 0.1-0.4 s faster than
# in 2 (eight alternating pairs, the system's time 2.3-3.0 s -> 1.8-2.3 s, the peak 1.3 -> 1.1 GB:
# a partition's arrays come back from the heap), 250,000 records slower again (more tasks)
ROWS_PER_PARTITION = 500_000
SMALL_PARTITION = 250_000  # partitions smaller than this on average are coalesced
DIGEST_THREADS = os.cpu_count() or 1  # files of a folder hashed at once

if TYPE_CHECKING:
    import dask.dataframe as dd


def input_columns(spec: InputSpec) -> list[str]:
    """Return the column names of the input, checking that it exists and can be decoded.

    Raises:
        InputDataError: missing file, undecodable header, unreadable or mixed Parquet files.

    """
    if spec.resolved_format() == "sql":
        from pipeline.io.sql import SqlSource

        return SqlSource.of(spec.url, spec.url_env, spec.table, spec.query).columns()
    csv_format = spec.resolved_format() == "csv"
    return csvtext.columns_of(Path(spec.path or ""), csv_format, spec.encoding, spec.delimiter)


def read_input(spec: InputSpec, columns: list[str], npartitions: int | None) -> dd.DataFrame:
    """Read ``columns`` of the input lazily, every CSV column as text, plus the row position.

    The row position (``ROW``) is the record's 0-based position in the file, computed globally
    with a cumulative sum, so it does not depend on how the file is split into partitions.
    """
    path = Path(spec.path)
    with reading(spec):  # the CSV reader samples the file when the graph is built
        ddf = _reader(spec, path, columns)
    ddf = ddf[columns]
    if npartitions:
        ddf = ddf.repartition(npartitions=npartitions)
    elif spec.resolved_format() == "parquet":  # many small files: read as fewer partitions
        ddf = coalesced(ddf, files.parquet_rows(path))
    ddf = ddf.assign(**{ROW: 1})
    ddf[ROW] = ddf[ROW].cumsum() - 1
    return ddf


def coalesced(ddf: dd.DataFrame, rows: int) -> dd.DataFrame:
    """``ddf`` (of ``rows`` records) with small neighbouring partitions read as one.

    Partitions of fewer than :data:`SMALL_PARTITION` records on average become partitions of
    about :data:`ROWS_PER_PARTITION` records, at least one per core (the passes stay parallel):
    every partition costs every pass its tasks, which is most of a small file's time. Larger
    partitions are left as they are (memory). The records keep their order.
    """
    if rows >= SMALL_PARTITION * ddf.npartitions:
        return ddf
    wanted = max(math.ceil(rows / ROWS_PER_PARTITION), os.cpu_count() or 1)
    return ddf.repartition(npartitions=wanted) if wanted < ddf.npartitions else ddf


def _reader(spec: InputSpec, path: Path, columns: list[str]) -> dd.DataFrame:
    import dask.dataframe as dd  # here: checking a recipe and its input's header needs no dask

    if spec.resolved_format() == "csv":
        return dd.read_csv(
            str(path),
            usecols=columns,
            dtype="string",
            encoding=spec.encoding,  # pyarrow strips a UTF-8 byte-order mark itself
            sep=spec.delimiter,
            na_values=spec.na_values,
            keep_default_na=False,
            blocksize=csvtext.CSV_BLOCK_BYTES,
            engine="pyarrow",
        )
    target = [str(p) for p in files.parquet_files(path)]
    return dd.read_parquet(target if len(target) > 1 else target[0], columns=columns)


@contextlib.contextmanager
def reading(spec: InputSpec) -> Iterator[None]:
    """Translate reader errors raised in the body into input errors (see below)."""
    try:
        yield
    except AnonymizeError:
        raise
    except Exception as exc:
        translated = translate_read_error(exc, spec)
        if translated is None:
            raise
        raise translated from None


def translate_read_error(exc: BaseException, spec: InputSpec) -> InputDataError | None:
    """Turn a reader exception raised inside dask into a clear input error (no values shown).

    The reader's own message quotes the offending row, so it is never used: the CSV file is
    read again with the standard library to find the line and what is wrong with it.
    """
    path = Path(spec.path)
    if isinstance(exc, UnicodeDecodeError):
        return InputDataError([csvtext.encoding_problem(path, spec.encoding, "further down")])
    if spec.resolved_format() == "csv":
        if type(exc).__name__ in ("ParserError", "EmptyDataError", "ArrowInvalid"):
            return InputDataError([csvtext.locate_csv_problem(path, spec.encoding, spec.delimiter)])
        if isinstance(exc, ValueError):  # the reader's, or another bug: only a found problem
            found = csvtext.find_csv_problem(path, spec.encoding, spec.delimiter)
            return InputDataError([found]) if found else None
    if spec.resolved_format() == "parquet" and isinstance(exc, (OSError, ValueError)):
        problem = Problem(
            f"input {path} cannot be read as Parquet ({type(exc).__name__})", code="unreadable"
        )
        return InputDataError([problem])
    return None


def sha256_of(path: Path) -> str:
    r"""SHA-256 of a file; of a folder, the SHA-256 of its files' ``sha256sum`` listing.

    The listing is what ``sha256sum`` prints for the data files (``files.parquet_files``) named
    by their paths relative to the folder, sorted in byte order (``LC_ALL=C sort``): one line
    ``<hex digest>  <path>`` per file, a name holding a backslash or a line break escaped as
    ``sha256sum`` escapes it. An auditor recomputes it with standard tools: ``find . -type f
    -iname '*.parquet' ! -path '*/[._]*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 sha256sum
    -- | sha256sum`` (names starting with ``.`` or ``_`` are not data). The files are hashed on a
    pool of threads, one per core (hashlib lets go of the interpreter lock).
    """
    if path.is_file():
        return file_sha256(path, follow_symlinks=True)
    found = files.parquet_files(path)
    with ThreadPoolExecutor(min(DIGEST_THREADS, len(found))) as pool:
        digests = list(pool.map(partial(file_sha256, follow_symlinks=True), found))
    names = [os.fsencode(file.relative_to(path).as_posix()) for file in found]
    listing = sorted(zip(names, digests, strict=True))
    return hashlib.sha256(b"".join(_sum_line(name, d) for name, d in listing)).hexdigest()


def _sum_line(name: bytes, digest: str) -> bytes:
    """One line of ``sha256sum``'s output (GNU coreutils; an escaped name: a leading backslash)."""
    if any(c in name for c in b"\\\n\r"):
        name = name.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
        return b"\\" + digest.encode() + b"  " + name + b"\n"
    return digest.encode() + b"  " + name + b"\n"


def input_digests(spec: InputSpec, columns: list[str]) -> tuple[str, str | None]:
    """The input's SHA-256, and its records' (``input.identity: records``; else None).

    The records' digest reads ``columns`` once more (``pipeline.io.identity``); a reader
    error names the file and line, never a value.
    """
    path = Path(spec.path or "")
    digest = sha256_of(path)
    if spec.resolved_identity() != "records":
        return digest, None
    from pipeline.io.identity import csv_batches, records_sha256

    with reading(spec):
        if spec.resolved_format() == "csv":
            batches = csv_batches(path, columns, spec.encoding, spec.delimiter, spec.na_values)
            return digest, records_sha256(batches, columns)
        import pyarrow.parquet as pq

        return digest, records_sha256(
            (
                batch
                for file in files.parquet_files(path)
                for batch in pq.ParquetFile(file).iter_batches(columns=columns)
            ),
            columns,
        )

"""Data of one schema read in bounded Arrow tables: checkpoints, outputs, published files.

The engine reads its ingest checkpoint through it (files, or tables held in memory), and
``--gate-only`` the files that were published. CSV files are read with the column types of the
run (from the manifest), so codes keep their leading zeros.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipeline.core.errors import InputDataError, Problem
from pipeline.io.csvtext import csv_header
from pipeline.io.files import own_files

BATCH_ROWS = 1_000_000
NULLABLE = {  # Arrow type -> the nullable pandas dtype it is read as
    pa.int64(): pd.Int64Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
}
_TYPES = {
    "int64": pa.int64(),
    "int32": pa.int32(),
    "double": pa.float64(),
    "float": pa.float32(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "large_string": pa.string(),
}


def repeated(values: pa.Array | pa.ChunkedArray, share: float, sample: int = 1 << 16) -> bool:
    """True when at most ``share`` of a column's first ``sample`` values are distinct.

    A cheap look at how a column repeats, to choose how to handle it (validate its distinct
    values, give it a Parquet dictionary); the choice changes speed, never a result. A column of
    Arrow's ``null`` type (every value missing) has no distinct-value kernel: False.
    """
    import pyarrow.compute as pc

    if pa.types.is_null(values.type):
        return False
    head = values.slice(0, sample)
    return int(pc.count_distinct(head, mode="all").as_py()) <= share * len(head)


def type_names(schema: pa.Schema) -> dict[str, str]:
    """Column -> Arrow type name, as recorded in the manifest."""
    return {f.name: str(f.type) for f in schema}


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=NULLABLE.get)


@dataclass(frozen=True)
class Dataset:
    """A set of data files of one schema (or of Arrow tables held in memory).

    Attributes:
        files: The files, in order.
        format: ``parquet``, ``csv`` or ``memory`` (the tables of ``held``).
        schema: Arrow schema (for CSV: the types to read the text as).
        encoding: Text encoding of CSV files.
        hidden: Internal columns that are not part of the data (e.g. the engine's row number).

    """

    files: list[Path]
    format: str
    schema: pa.Schema
    encoding: str = "utf-8"
    hidden: tuple[str, ...] = field(default=())
    held: tuple[pa.Table, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def parquet(cls, folder: Path, hidden: tuple[str, ...] = ()) -> Dataset:
        """The Parquet files directly in ``folder`` (sorted by name)."""
        files = own_files(folder, ".parquet")
        try:
            schema = pq.read_schema(files[0]) if files else pa.schema([])
        except (pa.ArrowInvalid, OSError, ValueError) as exc:
            raise InputDataError(
                [
                    Problem(
                        f"data file {files[0]} cannot be read as parquet ({type(exc).__name__})",
                        code="file_unreadable",
                    )
                ]
            ) from None
        return cls(files, "parquet", schema, hidden=hidden)

    @classmethod
    def memory(cls, tables: tuple[pa.Table, ...], hidden: tuple[str, ...] = ()) -> Dataset:
        """Tables of one schema held in memory, in order (at least one)."""
        return cls([], "memory", tables[0].schema, hidden=hidden, held=tables)

    @classmethod
    def csv(cls, folder: Path, types: dict[str, str], encoding: str) -> Dataset:
        """The CSV files directly in ``folder``, read with the recorded column types."""
        files = sorted(folder.glob("*.csv"))
        header = csv_header(files[0], encoding, ",") if files else []
        schema = pa.schema([(c, _TYPES.get(types.get(c, "string"), pa.string())) for c in header])
        return cls(files, "csv", schema, encoding)

    @property
    def columns(self) -> list[str]:
        """The data's columns (internal ones left out)."""
        return [n for n in self.schema.names if n not in self.hidden]

    def __dask_tokenize__(self) -> tuple:
        """Names, not data: held tables are named by identity (dask would hash their bytes)."""
        files = [str(f) for f in self.files]
        held = [id(t) for t in self.held]
        return ("Dataset", files, self.format, str(self.schema), self.encoding, self.hidden, held)

    def _parts(self) -> list[Path] | tuple[pa.Table, ...]:
        return self.held if self.format == "memory" else self.files

    def _arrow(self, file: Path | pa.Table, columns: list[str]) -> Iterator[pa.Table]:
        """The file in tables of about a million rows.

        Raises:
            InputDataError: the file cannot be read with the recorded types (the reader's own
                message quotes the value, so only the file and the reason's type are named).
        """
        if isinstance(file, pa.Table):  # held: sliced, nothing to decode
            held = file.select(columns)
            for start in range(0, held.num_rows, BATCH_ROWS):
                yield held.slice(start, BATCH_ROWS)
            return
        try:
            yield from self._read(file, columns)
        except (pa.ArrowInvalid, OSError, ValueError) as exc:
            raise InputDataError(
                [
                    Problem(
                        f"data file {file} cannot be read as {self.format} with the column "
                        f"types recorded for it ({type(exc).__name__})",
                        code="file_unreadable",
                    )
                ]
            ) from None

    def _read(self, file: Path, columns: list[str]) -> Iterator[pa.Table]:
        if self.format == "parquet":
            handle = pq.ParquetFile(file)
            for batch in handle.iter_batches(batch_size=BATCH_ROWS, columns=columns):
                yield pa.Table.from_batches([batch])
            return
        reader = pacsv.open_csv(
            file,
            read_options=pacsv.ReadOptions(encoding=self.encoding, block_size=1 << 24),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns,
                column_types={c: self.schema.field(c).type for c in columns},
                strings_can_be_null=True,
            ),
        )
        for batch in reader:
            yield pa.Table.from_batches([batch])

    def chunks(self, columns: list[str]) -> Iterator[pa.Table]:
        """Arrow tables of at most about a million rows holding ``columns``, file by file."""
        for file in self._parts():
            yield from self._arrow(file, columns)

    def _empty(self, columns: list[str]) -> pa.Table:
        return pa.table({c: pa.array([], self.schema.field(c).type) for c in columns})

    def table(
        self, columns: list[str], files: list[Path] | tuple[pa.Table, ...] | None = None
    ) -> pa.Table:
        """``columns`` of all files (or of ``files``) as one Arrow table."""
        parts = [
            t
            for file in (self._parts() if files is None else files)
            for t in self._arrow(file, columns)
        ]
        return pa.concat_tables(parts) if parts else self._empty(columns)

    def file_rows(self, file: Path) -> int:
        """Rows of one file (Parquet metadata, or a streamed CSV read)."""
        if self.format == "parquet":
            return pq.ParquetFile(file).metadata.num_rows
        return sum(t.num_rows for t in self._arrow(file, self.columns[:1]))

    def rows(self) -> int:
        """Rows of all files (counted once: a CSV count streams every file)."""
        return self._rows

    @cached_property
    def _rows(self) -> int:
        if self.format == "memory":
            return sum(t.num_rows for t in self.held)
        return sum(self.file_rows(f) for f in self.files)

    def dask_frame(self, columns: list[str]):  # noqa: ANN201 - dask is imported lazily
        """``columns`` as a dask DataFrame with one partition per file (or held table)."""
        import dask.dataframe as dd

        meta = _to_pandas(self._empty(columns))
        if not self._parts():
            return dd.from_pandas(meta, npartitions=1)
        parts = range(len(self._parts()))
        return dd.from_map(partial(self._load, columns=columns), parts, meta=meta)

    def _load(self, part: int, columns: list[str]) -> pd.DataFrame:
        return _to_pandas(self.table(columns, [self._parts()[part]]))

"""The ingest's checkpoint: the typed input, held in memory while small, else Parquet in staging.

Every later pass reads the checkpoint: the steps' passes, the input's measures beside them, the
final computation. A file of a couple of million records is a couple of hundred MB of Arrow
buffers; held in the process, it is neither written (Parquet, lz4 for the columns it shrinks)
nor read back and decoded once per pass. Past :data:`HELD_BYTES` the whole checkpoint goes to
Parquet files in staging (memory stays bounded), and so it does for a scheduler whose workers
are other processes (``processes``, a local or remote cluster): they cannot read this
process's memory.

Either way the later passes see the same values, types and order: the held tables become
pandas frames through the same conversion as dask's Parquet reader, and the output does not
depend on where the checkpoint was kept.
"""

from __future__ import annotations

import threading
from pathlib import Path

import dask
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dask.dataframe.io.parquet.arrow import ArrowDatasetEngine
from dask.dataframe.utils import pyarrow_strings_enabled

from pipeline.engine.inputs import coalesced
from pipeline.io.dataset import Dataset, repeated
from pipeline.io.files import own_files

# Arrow bytes of the checkpoint held in memory (the demo recipe at 2M records: 227 MB); a
# larger one is written to staging whole
HELD_BYTES = 320 << 20


class Checkpoint:
    """Where the ingest puts each partition's table, and how later passes read them back.

    Attributes:
        folder: The staging folder of the Parquet files (``part-NNNNN.parquet``).
        budget: Arrow bytes that may be held in memory (0: always files).
    """

    def __init__(self, folder: Path, budget: int = 0) -> None:
        self.folder, self.budget = folder, budget
        self._held: dict[int, pa.Table] = {}
        self._bytes = 0
        self._written = self._released = False
        self._lock = threading.Lock()

    def __dask_tokenize__(self) -> tuple:
        """The folder names the checkpoint in a dask graph (its tables are never hashed)."""
        return ("checkpoint", str(self.folder), self.budget)

    def __reduce__(self) -> tuple:
        """In a worker process only files can be written (its memory is not this process's)."""
        return (Checkpoint, (self.folder, 0))

    def put(self, number: int, table: pa.Table) -> None:
        """Keep partition ``number``: held while the budget allows, else every table to files.

        A held table's columns are made contiguous, as a Parquet file's are read back (text
        read from many input files comes in many chunks, which Arrow's take and hash kernels
        handle more slowly).
        """
        if self.budget and not self._written:
            table = table.combine_chunks()
        with self._lock:
            fits = self._bytes + table.nbytes <= self.budget
            if self.budget and not self._written and fits and number not in self._held:
                self._held[number] = table
                self._bytes += table.nbytes
                return
            earlier, self._written = sorted(self._held.items()), True
            self._held, self._bytes = {}, 0
        for held_number, held_table in earlier:
            _write(self.folder, held_number, held_table)
        _write(self.folder, number, table)

    @property
    def held(self) -> bool:
        """Whether the whole checkpoint is in memory (after the ingest pass)."""
        return not self._written and bool(self._held)

    def release(self) -> None:
        """Let the held tables go (the last pass that reads them is done); a later read raises."""
        with self._lock:
            self._held, self._bytes, self._released = {}, 0, True

    def table(self, number: int) -> pa.Table:
        """Held partition ``number``.

        Raises:
            RuntimeError: the checkpoint was released (a pass planned too late: a bug).
        """
        if self._released:
            raise RuntimeError("the run's checkpoint was read after it was released")
        return self._held[number]

    def _tables(self) -> tuple[pa.Table, ...]:
        return tuple(self._held[n] for n in sorted(self._held))

    def dataset(self, hidden: tuple[str, ...]) -> Dataset:
        """The checkpoint as a :class:`Dataset` (the input's measures read it in tables)."""
        if self.held:
            return Dataset.memory(self._tables(), hidden)
        return Dataset.parquet(self.folder, hidden)

    def frame(self, integer_columns: list[str], rows: int | None = None) -> dd.DataFrame:
        """The checkpoint as a dask frame, in partition order, whole-number columns as Int64.

        With ``rows`` (the records it holds), small partitions are read together
        (:func:`pipeline.engine.inputs.coalesced`): an input of many small files (30,000
        records in 20 Parquet files) would otherwise cost every later pass 20 partitions'
        tasks, most of its time at that size (2.6 of 6.8 s). The order is kept; the output does
        not depend on the partitions.
        """
        if self.held:
            read = _Held(self, sorted(self._held))
            meta = read.convert(self._held[read.numbers[0]].schema.empty_table())  # no buffers
            with dask.config.set({"dataframe.convert-string": False}):  # done by ``convert``
                ddf = dd.from_map(read, range(len(read.numbers)), meta=meta)
        else:
            ddf = dd.read_parquet([str(p) for p in own_files(self.folder, ".parquet")])
        if rows is not None:
            ddf = coalesced(ddf, rows)
        if integer_columns:  # one expression for every column (a wide file has hundreds)
            ddf = ddf.astype(dict.fromkeys(integer_columns, "Int64"))
        return ddf


def _write(folder: Path, number: int, table: pa.Table) -> None:
    pq.write_table(  # read back by this run only: no statistics (half the time)
        table,
        folder / f"part-{number:05d}.parquet",
        compression={name: _codec(table.column(name)) for name in table.column_names},
        use_dictionary=_repeated_columns(table),
        write_statistics=False,
    )


_TRIED = 1 << 16  # bytes of a column's values compressed to choose its codec
_SHRUNK = 0.85  # lz4 is kept for a column whose tried bytes it shrinks below this share


def _codec(column: pa.ChunkedArray) -> str:
    """lz4 for a column it shrinks, none for one it cannot (random tokens and keys).

    A surrogate token's 24 hex digits took lz4 three times as long to write as plain bytes
    (500,000 records: 22 ms against 7 ms) for 6% fewer bytes. The first bytes of the values
    are tried; the codec changes the checkpoint's speed and size, never its values.
    """
    chunk = next((c for c in column.chunks if len(c)), None)
    data = chunk.buffers()[-1] if chunk is not None else None
    if data is None or data.size == 0:
        return "lz4"
    tried = data.slice(0, min(data.size, _TRIED))
    return "lz4" if len(pa.compress(tried, codec="lz4")) < _SHRUNK * tried.size else "none"


_LOOK = 1 << 12  # values looked at per column and partition (looking at 65,536 cost 0.37 s at 10M)


def _repeated_columns(table: pa.Table) -> list[str]:
    """Columns worth a Parquet dictionary: at most half their first values distinct.

    Ids, tokens, weights and amounts are written plain (a dictionary of millions of values
    costs its hashing and is dropped by the writer anyway); the encoding is invisible to the
    reader, so the choice changes the checkpoint's speed and size, never its values.
    """
    return [name for name in table.column_names if repeated(table.column(name), 0.5, _LOOK)]


class _Held:
    """Reads held partition ``i`` as pandas, only the ``columns`` a pass asks for (projection).

    The conversion is dask's Parquet reader's, text included; dask's own conversion of a
    ``from_map`` frame is left out (it would also turn a column with no values, Arrow's
    ``null`` type, into text where the Parquet reader leaves it as objects).
    """

    def __init__(self, checkpoint: Checkpoint, numbers: list[int]) -> None:
        self._checkpoint, self.numbers = checkpoint, numbers
        self._strings = pyarrow_strings_enabled()
        self._token = object()  # one checkpoint's reader (its tables are never hashed)

    def __dask_tokenize__(self) -> tuple:
        return ("held-checkpoint", id(self._token))

    def __call__(self, i: int, columns: list[str] | None = None) -> pd.DataFrame:
        table = self._checkpoint.table(self.numbers[i])
        return self.convert(table if columns is None else table.select(list(columns)))

    def convert(self, table: pa.Table) -> pd.DataFrame:
        """The pandas frame dask's Parquet reader makes of the same table (types, strings)."""
        return ArrowDatasetEngine._arrow_table_to_pandas(table, None, convert_string=self._strings)

"""Writing: spill each final partition to staging, then cut fixed-size output files.

Phase A writes partition ``i`` of the final frame to ``.work/final/part-i.parquet`` (in parallel,
with the scheduler). Phase B streams those files in order and writes output files of exactly
``rows_per_file`` rows, so the published bytes do not depend on how the data was partitioned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.core.columns import ORDER
from pipeline.core.errors import InputDataError, Problem
from pipeline.core.groups import stable_order
from pipeline.engine.seal import file_sha256
from pipeline.io.dataset import NULLABLE
from pipeline.io.files import own_files
from pipeline.recipe.models import OutputSpec

PART = "part-{:05d}"


# records of an order bucket, about, up to 64 buckets; past them buckets of at most about 2M
# records, up to 256. Each partition's spill holds a record batch per bucket and the writer
# reads one from every partition per bucket, so many buckets cost calls, not bytes (the 100M
# demo's 256 buckets: 51,200 batches written and read one by one, 34 s in py-spy's samples);
# larger buckets from 2M records on were slower (the writer sorts the next bucket while it
# writes one: two buckets at 2M, not four, overlap less). The writer holds two buckets.
ROWS_PER_BUCKET = 500_000
MAX_BUCKET_ROWS = 2_000_000
MANY_ORDER_BITS = 6


def order_bits(rows: int) -> int:
    """log2 of the number of sort buckets for ``rows`` records (see ``ROWS_PER_BUCKET``).

    2M records: 4 buckets; 10M: 32; 100M: 64 of 1.56M; 1B: 256 of 3.9M, as before.
    """
    rows = max(rows, 1)
    small = min(MANY_ORDER_BITS, math.ceil(math.log2(rows / ROWS_PER_BUCKET)))
    return min(8, max(0, small, math.ceil(math.log2(rows / MAX_BUCKET_ROWS))))


def spill_partitions(ddf: dd.DataFrame, target: Path, bits: int = 0) -> dd.Series:
    """Return a lazy series with the row count of each partition, written to ``target``.

    With an ``ORDER`` column each partition is written as one Arrow IPC file whose record batch
    ``b`` holds bucket ``b`` of the order key (``2**bits`` batches, some empty), so the writer
    can sort the whole file one bucket at a time, reading that bucket's batch of every file.
    One file per partition keeps the file count at the partition count (a
    file per partition and bucket was 51,200 files at 100M rows).
    """
    target.mkdir(parents=True, exist_ok=True)
    schema = pa.Schema.from_pandas(ddf._meta, preserve_index=False)
    ordered = ORDER in ddf.columns
    return ddf.map_partitions(
        _spill,
        str(target),
        schema,
        bits if ordered else None,
        meta=pd.DataFrame({"part": pd.Series(dtype="int64"), "rows": pd.Series(dtype="int64")}),
    )


def _spill(
    pdf: pd.DataFrame,
    target: str,
    schema: pa.Schema,
    bits: int | None,
    partition_info=None,  # noqa: ANN001
) -> pd.DataFrame:
    number = partition_info["number"] if partition_info else 0
    table = pa.Table.from_pandas(pdf, schema=schema, preserve_index=False)
    if bits is None:
        pq.write_table(table, Path(target) / (PART.format(number) + ".parquet"), compression="lz4")
    else:  # one Arrow file per partition, record batch b = bucket b (possibly empty)
        buckets = pdf[ORDER].to_numpy(dtype=np.int64) >> (53 - bits)
        order = np.argsort(buckets.astype(np.uint16), kind="stable")  # at most 2**8: a radix sort
        bounds = np.searchsorted(buckets[order], np.arange(2**bits + 1))
        whole = table.take(pa.array(order)).combine_chunks()
        batch = whole.to_batches()[0] if whole.num_rows else _empty_batch(schema)
        options = pa.ipc.IpcWriteOptions(compression="lz4")
        path = Path(target) / (PART.format(number) + ".arrow")
        with pa.ipc.new_file(str(path), schema, options=options) as w:
            for b in range(2**bits):
                w.write_batch(batch.slice(bounds[b], bounds[b + 1] - bounds[b]))
    return pd.DataFrame({"part": [number], "rows": [len(pdf)]})


def _empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)


def _batches(source: Path, schema: pa.Schema, bits: int | None) -> Iterator[pa.RecordBatch]:
    if bits is None:
        for file in own_files(source, ".parquet"):
            for batch in pq.ParquetFile(file).iter_batches(batch_size=65536):
                yield batch.cast(schema) if batch.schema != schema else batch
        return
    # plain reads, not memory maps: mapped pages of every spill file would count as resident
    readers = [pa.ipc.open_file(pa.OSFile(str(f))) for f in own_files(source, ".arrow")]

    def sort(bucket: int) -> pa.Table:
        parts = [r.get_batch(bucket) for r in readers]
        table = pa.Table.from_batches([b for b in parts if b.num_rows] or parts[:1])
        order = stable_order(table.column(ORDER).to_numpy())  # distinct keys: numpy's sort
        table = table.take(order).drop_columns([ORDER])
        return table.cast(schema)

    # the whole file in ORDER, a bucket at a time: the next one is read and sorted in a thread
    # while this one is cut, written and measured (two buckets in memory at most)
    with ThreadPoolExecutor(1, thread_name_prefix="output-sort") as pool:
        ahead = pool.submit(sort, 0)
        for bucket in range(2**bits):
            table = ahead.result()
            if bucket + 1 < 2**bits:
                ahead = pool.submit(sort, bucket + 1)
            yield from table.to_batches(max_chunksize=65536)


def write_output(
    source: Path,
    data_dir: Path,
    spec: OutputSpec,
    schema: pa.Schema,
    bits: int | None = None,
    sink: Callable[[pa.Table], None] | None = None,
    side: pa.Schema | None = None,
    side_sink: Callable[[pa.Table, pa.Table], None] | None = None,
) -> list[dict]:
    """Cut the spilled partitions into output files of ``spec.rows_per_file`` rows.

    With ``bits`` the spill is bucketed by the order key and the records come out sorted by it.
    Each file's table is handed to ``sink`` once written (the measures of the output stage).
    ``side`` columns (the engine's own, e.g. a release series' fingerprints) are spilled with
    the data but never written: each file's table and its side columns, row for row, go to
    ``side_sink``.

    Returns:
        One entry per file: relative path, rows and SHA-256.

    """
    data_dir.mkdir(parents=True, exist_ok=True)
    files: list[Future] = []  # each file is written in a thread while the next is measured
    pending: list[pa.RecordBatch] = []
    buffered = 0
    writer = ThreadPoolExecutor(1, thread_name_prefix="output-file")

    full = pa.schema([*schema, *side], metadata=schema.metadata) if side else schema

    def flush(rows: int) -> None:
        nonlocal pending, buffered
        table = pa.Table.from_batches(pending, schema=full)
        whole, rest = table.slice(0, rows), table.slice(rows)
        whole = whole.combine_chunks()
        chunk = whole.select(schema.names) if side else whole
        if files:
            files[-1].result()  # one file in the writer at a time: memory holds two at most
        files.append(writer.submit(_write_file, chunk, data_dir, len(files), spec))
        if sink is not None:
            sink(chunk)
        if side_sink is not None and side:
            side_sink(chunk, whole.select(side.names))
        pending, buffered = rest.to_batches(), rest.num_rows

    with writer:
        for batch in _batches(source, full, bits):
            pending.append(batch)
            buffered += batch.num_rows
            while buffered >= spec.rows_per_file:
                flush(spec.rows_per_file)
        if buffered or not files:
            flush(buffered)
        return [file.result() for file in files]


def _unencodable(frame: pd.DataFrame, encoding: str, name: str) -> InputDataError:
    """Which columns of data file ``name`` hold text ``encoding`` cannot write (counts only).

    The first file that fails stops the run, so the counts are that file's, not the whole
    output's (the message says so).
    """
    problems = []
    for column in frame.columns:
        if not (pd.api.types.is_string_dtype(frame[column]) or frame[column].dtype == object):
            continue
        bad = frame[column].dropna().astype(str).map(lambda v: not _encodes(v, encoding))
        if bad.any():
            problems.append(
                Problem(
                    f"column {column!r}: {int(bad.sum())} value(s) of data file {name} "
                    f"cannot be written in {encoding} (output.encoding); use utf-8",
                    code="unencodable",
                )
            )
    return InputDataError(problems or [Problem(f"the output cannot be written in {encoding}")])


def _encodes(value: str, encoding: str) -> bool:
    try:
        value.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _write_file(table: pa.Table, data_dir: Path, index: int, spec: OutputSpec) -> dict:
    name = PART.format(index) + (".parquet" if spec.format == "parquet" else ".csv")
    path = data_dir / name
    if spec.format == "parquet":
        pq.write_table(table, path, compression="zstd")
    else:
        frame = table.to_pandas(types_mapper=NULLABLE.get)
        try:
            frame.to_csv(path, index=False, encoding=spec.encoding, lineterminator="\n")
        except UnicodeEncodeError:  # its message quotes the character and its text
            raise _unencodable(frame, spec.encoding, name) from None
    return {"path": f"data/{name}", "rows": table.num_rows, "sha256": file_sha256(path)}

"""Writing: spill each final partition to staging, then cut fixed-size output files.

Phase A writes partition ``i`` of the final frame to ``.work/final/part-i.parquet`` (in parallel,
with the scheduler). Phase B streams those files in order and writes output files of exactly
``rows_per_file`` rows, so the published bytes do not depend on how the data was partitioned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.recipe.models import OutputSpec

PART = "part-{:05d}"
_NULLABLE = {
    pa.int64(): pd.Int64Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
}


def spill_partitions(ddf: dd.DataFrame, target: Path) -> dd.Series:
    """Return a lazy series with the row count of each partition, written to ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    schema = pa.Schema.from_pandas(ddf._meta, preserve_index=False)
    return ddf.map_partitions(
        _spill,
        str(target),
        schema,
        meta=pd.DataFrame({"part": pd.Series(dtype="int64"), "rows": pd.Series(dtype="int64")}),
    )


def _spill(pdf: pd.DataFrame, target: str, schema: pa.Schema, partition_info=None) -> pd.DataFrame:  # noqa: ANN001
    number = partition_info["number"] if partition_info else 0
    table = pa.Table.from_pandas(pdf, schema=schema, preserve_index=False)
    pq.write_table(table, Path(target) / (PART.format(number) + ".parquet"), compression="lz4")
    return pd.DataFrame({"part": [number], "rows": [len(pdf)]})


def _batches(source: Path, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for file in sorted(source.glob("part-*.parquet")):
        for batch in pq.ParquetFile(file).iter_batches(batch_size=65536):
            yield batch.cast(schema) if batch.schema != schema else batch


def write_output(source: Path, data_dir: Path, spec: OutputSpec, schema: pa.Schema) -> list[dict]:
    """Cut the spilled partitions into output files of ``spec.rows_per_file`` rows.

    Returns:
        One entry per file: relative path, rows and SHA-256.

    """
    data_dir.mkdir(parents=True, exist_ok=True)
    files: list[dict] = []
    pending: list[pa.RecordBatch] = []
    buffered = 0

    def flush(rows: int) -> None:
        nonlocal pending, buffered
        table = pa.Table.from_batches(pending, schema=schema)
        chunk, rest = table.slice(0, rows), table.slice(rows)
        files.append(_write_file(chunk.combine_chunks(), data_dir, len(files), spec))
        pending, buffered = rest.to_batches(), rest.num_rows

    for batch in _batches(source, schema):
        pending.append(batch)
        buffered += batch.num_rows
        while buffered >= spec.rows_per_file:
            flush(spec.rows_per_file)
    if buffered or not files:
        flush(buffered)
    return files


def _write_file(table: pa.Table, data_dir: Path, index: int, spec: OutputSpec) -> dict:
    name = PART.format(index) + (".parquet" if spec.format == "parquet" else ".csv")
    path = data_dir / name
    if spec.format == "parquet":
        pq.write_table(table, path, compression="zstd")
    else:
        frame = table.to_pandas(types_mapper=_NULLABLE.get)
        frame.to_csv(path, index=False, encoding=spec.encoding, lineterminator="\n")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"path": f"data/{name}", "rows": table.num_rows, "sha256": digest}

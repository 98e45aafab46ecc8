"""A release's identity from the records it reads, whatever container they came in.

``input.identity: records`` makes a release's draws (surrogate tokens, ``subsample``,
``shuffle_records``) come from the records rather than from the input's bytes: the same records
exported to CSV, kept as Parquet or read from a database give the same release. The digest is a
SHA-256 over the columns the run reads (by name), each value in file order written in a
canonical form:

* numbers as numbers: integers (and text holding one) as their decimal digits, other numbers
  (and text holding one) as the shortest text that reads back as the same 64-bit float, so
  ``350000``, ``350000.0`` and a database's ``numeric`` 350000 are one value;
* any other value as its text; a missing value as missing (not as empty text).

Each column is hashed as two streams (lengths, then bytes), so the digest does not depend on
how the records are cut into batches or files. Costs one more read of the input's columns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_INTEGER = r"^\s*[+-]?[0-9]+\s*$"
_NUMBER = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
_INT64 = 18  # digits that always fit a signed 64-bit integer
_DISTINCT_FIRST = 4096  # longer arrays are canonicalized on their distinct values


def canonical(values: pa.Array) -> pa.Array:
    """The values as canonical text (see the module); missing values stay missing.

    Text and floats are put in canonical form once per distinct value.
    """
    kind = values.type
    if pa.types.is_dictionary(kind):
        return _canonical(values.dictionary).take(values.indices)
    if len(values) > _DISTINCT_FIRST and not pa.types.is_integer(kind):
        encoded = values.dictionary_encode()
        return _canonical(encoded.dictionary).take(encoded.indices)
    return _canonical(values)


def _canonical(values: pa.Array) -> pa.Array:
    kind = values.type
    if pa.types.is_integer(kind):
        return values.cast(pa.string())
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return _floats(values.cast(pa.float64()))
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return values.cast(pa.string())
    text = values.cast(pa.string())
    integer = pc.fill_null(pc.match_substring_regex(text, _INTEGER), False)
    digits = pc.utf8_length(pc.utf8_trim_whitespace(text))
    integer = pc.and_(integer, pc.less_equal(pc.fill_null(digits, 0), _INT64))
    number = pc.and_(
        pc.fill_null(pc.match_substring_regex(text, _NUMBER), False), pc.invert(integer)
    )
    out = text
    plain = pc.replace_substring_regex(pc.utf8_trim_whitespace(text), r"^\+", "")
    try:  # the patterns above admit only what the casts read; a failure keeps the text
        if pc.any(integer).as_py():
            ints = pc.if_else(integer, plain, "0").cast(pa.int64())
            out = pc.if_else(integer, ints.cast(pa.string()), out)
        if pc.any(number).as_py():
            padded = pc.replace_substring_regex(plain, r"^(-?)\.", r"\10.")
            padded = pc.replace_substring_regex(padded, r"\.([eE]|$)", r".0\1")
            floats = pc.if_else(number, padded, "0").cast(pa.float64())
            out = pc.if_else(number, _floats(floats), out)
    except pa.ArrowInvalid:  # its message would quote the value: never shown
        return text
    return out


def _floats(values: pa.Array) -> pa.Array:
    """Floats as text; integral ones within 2^53 as integers (``350000.0`` is ``350000``)."""
    text = values.cast(pa.string())
    numbers = values.to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(numbers) & (np.floor(numbers) == numbers) & (np.abs(numbers) < 2**53)
    if not whole.any():
        return text
    ints = pa.array(np.where(whole, numbers, 0).astype(np.int64)).cast(pa.string())
    return pc.if_else(pa.array(whole), ints, text)


class RecordsDigest:
    """The SHA-256 of records fed batch by batch (``add``), in file order."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = sorted(columns)
        self._lengths = {c: hashlib.sha256() for c in self.columns}
        self._bytes = {c: hashlib.sha256() for c in self.columns}
        self.rows = 0

    def add(self, batch: pa.Table | pa.RecordBatch) -> None:
        """Take the next records (any columns beyond ``columns`` are ignored)."""
        for name in self.columns:
            column = batch.column(name)
            chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
            for chunk in chunks:
                text = canonical(chunk).cast(pa.large_string())
                lengths = pc.fill_null(pc.utf8_length(text), -1).to_numpy(zero_copy_only=False)
                self._lengths[name].update(lengths.astype("<i8").tobytes())
                data = pc.fill_null(text, "")
                offsets = data.buffers()[1]
                raw = data.buffers()[2]
                if raw is not None and len(data):
                    start, end = np.frombuffer(offsets, dtype="<i8")[
                        [data.offset, data.offset + len(data)]
                    ]
                    self._bytes[name].update(memoryview(raw)[start:end])
        self.rows += batch.num_rows

    def hexdigest(self) -> str:
        """The records' digest (column names, rows, then each column's two streams)."""
        total = hashlib.sha256(f"records:{self.rows}\0".encode())
        for name in self.columns:
            total.update(name.encode() + b"\0")
            total.update(self._lengths[name].digest() + self._bytes[name].digest())
        return total.hexdigest()


def records_sha256(batches: Iterable[pa.Table | pa.RecordBatch], columns: list[str]) -> str:
    """The digest of ``columns`` over ``batches`` (in file order)."""
    digest = RecordsDigest(columns)
    for batch in batches:
        digest.add(batch)
    return digest.hexdigest()


def csv_batches(
    path: Path, columns: list[str], encoding: str, delimiter: str, na_values: list[str]
) -> Iterator[pa.RecordBatch]:
    """A CSV file's ``columns`` as text, batch by batch, missing cells as the run reads them."""
    import pyarrow.csv as pacsv

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(encoding=encoding, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(
            include_columns=columns,
            column_types={c: pa.string() for c in columns},
            null_values=na_values,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    yield from reader

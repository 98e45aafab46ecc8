"""Encode key variables as integer codes (-1 = missing) from pandas or Arrow columns.

Values that are compared only for equality (households, sensitive values) are hashed into 64
bits instead (``value_hashes``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from pipeline.core.arrow import one_array


def codes_from_pandas(frame: Any, keys: list[str]) -> np.ndarray:
    """Return an (n x len(keys)) int32 matrix of category codes of a pandas DataFrame."""
    import pandas as pd

    out = np.empty((len(frame), len(keys)), dtype=np.int32)
    for j, key in enumerate(keys):
        out[:, j] = pd.factorize(frame[key], use_na_sentinel=True, sort=True)[0]
    return out


def name_ranks(names: Sequence[str]) -> list[int]:
    """Each name's rank in sorted order (code points, no locale): ties broken on names."""
    ranks = [0] * len(names)
    for rank, j in enumerate(sorted(range(len(names)), key=lambda j: names[j])):
        ranks[j] = rank
    return ranks


def codes_from_arrow(table: Any, keys: list[str]) -> tuple[np.ndarray, list[int]]:
    """Codes of an Arrow table's key columns, plus the number of categories of each column."""
    codes, labels = encode_arrow(table, keys)
    return codes, [len(values) for values in labels]


def encode_arrow(
    table: Any, keys: list[str], labels: bool = True
) -> tuple[np.ndarray, list[list[str]]]:
    """Codes of an Arrow table's key columns and, per column, the label of each code.

    Columns are dictionary-encoded in parallel threads (Arrow releases the GIL). The matrix is
    column-major (each key's codes contiguous), which the group-by code prefers. With
    ``labels=False`` no labels are made (ids and sensitive values: millions of them).
    """
    out = np.empty((table.num_rows, len(keys)), dtype=np.int32, order="F")
    workers = max(1, min(len(keys), os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        encoded = list(pool.map(lambda key: _encode_column(table.column(key), labels), keys))
    names: list[list[str]] = []
    for j, (indices, values) in enumerate(encoded):
        out[:, j] = indices
        names.append(values)
    return out, names


def dictionary_encoded(column: Any) -> Any:
    """A column (plain or dictionary-typed, chunked or not) as one Arrow dictionary array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_dictionary(column.type):
        return pc.dictionary_encode(one_array(column))  # one dictionary: unifying many is slow
    if isinstance(column, pa.ChunkedArray):
        if column.num_chunks == 0:
            return pc.dictionary_encode(pa.array([], column.type.value_type))
        if column.num_chunks > 1:
            column = column.unify_dictionaries()
        column = one_array(column)
    return column


def _encode_column(column: Any, labels: bool = True) -> tuple[np.ndarray, list[str]]:
    column = dictionary_encoded(column)
    if not labels:
        return dictionary_indices(column.indices), []
    values = column.dictionary.to_pylist()
    return dictionary_indices(column.indices), ["" if v is None else label_of(v) for v in values]


def weights_from_arrow(table: Any, name: str) -> np.ndarray:
    """A numeric column as float64 numpy, missing weights as 0."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = one_array(pc.cast(table.column(name), pa.float64()))
    if column.null_count:
        column = pc.fill_null(column, 0.0)
    # the buffer itself: to_numpy() is needlessly slow on large arrays here
    values = np.frombuffer(column.buffers()[1], dtype=np.float64)
    values = values[column.offset : column.offset + len(column)]
    nan = np.isnan(values)
    return np.where(nan, 0.0, values) if nan.any() else values


def dictionary_indices(indices: Any) -> np.ndarray:
    """Dictionary indices as numpy, -1 where missing (reads the buffer, no copy via floats)."""
    dtype = np.dtype(indices.type.to_pandas_dtype())
    start = indices.offset
    values = np.frombuffer(indices.buffers()[1], dtype=dtype)[start : start + len(indices)]
    if indices.null_count:
        valid = indices.is_valid().to_numpy(zero_copy_only=False)
        return np.where(valid, values, -1)
    return values


def label_of(value: Any) -> str:
    """How a category value is shown (whole floats without the ``.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def value_hashes(column: Any) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of an Arrow column's values (equal values, equal hashes) and validity.

    Text is hashed from its bytes (``text_hashes``: ids have about as many values as records),
    floating-point numbers (amounts, mostly distinct) value by value with pandas' elementwise
    hash (the same hashes, 5-30x faster than a dictionary of 2M amounts first), other values
    once per distinct value. A missing value hashes to 0 and is not valid (the
    column may hold no value at all).
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    column = one_array(column)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        return np.where(valid, text_hashes(column), np.uint64(0)), valid
    if pa.types.is_floating(column.type):  # amounts: mostly distinct, so hashed value by value
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        values = (pc.fill_null(column, 0.0) if column.null_count else column).to_numpy()
        return np.where(valid, pd.util.hash_array(values).astype(np.uint64), np.uint64(0)), valid
    column = dictionary_encoded(column)
    values = column.dictionary.to_numpy(zero_copy_only=False)
    if values.dtype == object:
        hashed = pd.util.hash_array(values, categorize=False)
    else:
        hashed = pd.util.hash_array(values)
    hashed = np.append(hashed.astype(np.uint64), np.uint64(0))  # -1 (missing) picks the 0
    idx = dictionary_indices(column.indices)
    return hashed[idx], idx >= 0


def text_hashes(values: Any) -> np.ndarray:
    """A 64-bit hash of each value of a string array, read from its bytes (equal text, equal hash).

    Eight bytes at a time (little-endian words), each mixed in (``splitmix64``), then the length:
    no dictionary of the values and no Python string is made, so millions of distinct ids
    (households) cost a few vectorised passes. Missing values hash as the empty text.
    """
    import pyarrow as pa

    from pipeline.core.randomness import splitmix64

    n = len(values)
    if n == 0:  # a valid empty array may have no offsets buffer at all
        return np.zeros(0, dtype=np.uint64)
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    bounds = np.frombuffer(values.buffers()[1], dtype=width)[values.offset : values.offset + n + 1]
    data = values.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    base = int(bounds[0])  # a slice's values start past the buffer's first byte
    starts, lengths = bounds[:-1].astype(np.int64) - base, np.diff(bounds).astype(np.int64)
    if lengths.min() == lengths.max():  # one width (tokens, codes): the words in place
        return _same_width_hashes(data[base : int(bounds[-1])], n, int(lengths[0]))
    padded = np.concatenate([data[base : int(bounds[-1])], np.zeros(8, np.uint8)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 8)  # the 8 bytes at each offset
    out = np.zeros(n, dtype=np.uint64)
    for word in range(int(-(-lengths.max() // 8))):
        left = np.clip(lengths - 8 * word, 0, 8).astype(np.uint64)  # bytes of the value in it
        at = np.minimum(starts + 8 * word, windows.shape[0] - 1)
        chunk = np.ascontiguousarray(windows[at]).view("<u8").ravel()
        with np.errstate(over="ignore"):  # keep the value's bytes only: 2^(8 left) - 1
            keep = np.where(left == 8, ~np.uint64(0), (np.uint64(1) << (left * 8)) - 1)
        out = np.where(left > 0, splitmix64(out ^ (chunk & keep)), out)  # its words only
    return splitmix64(out ^ lengths.astype(np.uint64))


def _same_width_hashes(data: np.ndarray, n: int, width: int) -> np.ndarray:
    """``text_hashes`` of ``n`` values of ``width`` bytes each, back to back in ``data``.

    The same words as the general way (a value's last word padded with zero bytes), read as
    a matrix instead of gathered one offset at a time: 24-character tokens of 1M households
    hash in a few vectorised passes.
    """
    from pipeline.core.randomness import splitmix64

    words = -(-width // 8)
    padded = np.zeros((n, words * 8), dtype=np.uint8)
    padded[:, :width] = data.reshape(n, width)
    out = np.zeros(n, dtype=np.uint64)
    for word in padded.view("<u8").T:
        out = splitmix64(out ^ word)
    return splitmix64(out ^ np.uint64(width))


_MASKED = {f"{kind}{bits}" for kind in ("Int", "UInt") for bits in (8, 16, 32, 64)} | {"boolean"}


def hashable(dtype: Any) -> bool:
    """Whether ``combination_hashes`` reads a pandas column of ``dtype`` (text, integers, bools).

    Those values are equal exactly when their bytes or numbers are; floats (``-0.0 == 0.0``),
    categories, sparse and Arrow-backed numbers and Python objects are left to an exact
    grouping.
    """
    import pandas as pd

    if isinstance(dtype, np.dtype):
        return dtype.kind in "iub"
    if isinstance(dtype, pd.StringDtype):
        return True
    return getattr(dtype, "name", None) in _MASKED  # pandas' masked integers and booleans


_MISSING = np.uint64(0x5851F42D4C957F2D)  # the hash of a missing key value


def key_hashes(values: Any, codes: np.ndarray | None = None) -> np.ndarray:
    """Each value's 64-bit hash as ``combination_hashes`` combines it (missing: a constant).

    Values are hashed as the risk hashes them (``value_hashes``: text from its bytes), integers
    widened to 64 bits first, so a value's hash does not depend on its column's width or
    storage. ``values``: a pandas column (or array) of a ``hashable`` type. With ``codes``
    (``pd.factorize``'s: -1 missing), ``values`` are the distinct values and the hashes are
    those of ``values[codes]``: each distinct value hashed once.
    """
    import pyarrow as pa

    column = pa.array(values)
    if pa.types.is_signed_integer(column.type):
        column = column.cast(pa.int64())
    elif pa.types.is_unsigned_integer(column.type):
        column = column.cast(pa.uint64())
    hashed, valid = value_hashes(column)
    hashed = np.where(valid, hashed, _MISSING)
    return hashed if codes is None else np.append(hashed, _MISSING)[codes]


def combination_hashes(columns: list[np.ndarray]) -> np.ndarray:
    """One 64-bit hash per row from its key values' ``key_hashes`` (in key order), never 0.

    Equal values give equal hashes; unequal ones may share one (see
    ``core.groups.hashed_groups``, which checks). 0 is kept to mean "not hashed": a row whose
    hash would be 0 gets 1.
    """
    from pipeline.core.randomness import mixed

    out = mixed(columns, columns[0].size if columns else 0)
    out[out == 0] = 1
    return out

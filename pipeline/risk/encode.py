"""Encode key variables as integer codes (-1 = missing) from pandas or Arrow columns."""

from __future__ import annotations

from typing import Any

import numpy as np


def codes_from_pandas(frame: Any, keys: list[str]) -> np.ndarray:
    """Return an (n x len(keys)) int32 matrix of category codes of a pandas DataFrame."""
    import pandas as pd

    out = np.empty((len(frame), len(keys)), dtype=np.int32)
    for j, key in enumerate(keys):
        out[:, j] = pd.factorize(frame[key], use_na_sentinel=True, sort=True)[0]
    return out


def codes_from_arrow(table: Any, keys: list[str]) -> tuple[np.ndarray, list[int]]:
    """Codes of an Arrow table's key columns, plus the number of categories of each column."""
    codes, labels = encode_arrow(table, keys)
    return codes, [len(values) for values in labels]


def encode_arrow(table: Any, keys: list[str]) -> tuple[np.ndarray, list[list[str]]]:
    """Codes of an Arrow table's key columns and, per column, the label of each code."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.empty((table.num_rows, len(keys)), dtype=np.int32)
    labels: list[list[str]] = []
    for j, key in enumerate(keys):
        column = table.column(key)
        if not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column)
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        if len(chunks) > 1:  # unify dictionaries across chunks
            column = pa.chunked_array(chunks).unify_dictionaries()
            chunks = column.chunks
        pos = 0
        for chunk in chunks:
            idx = chunk.indices.to_numpy(zero_copy_only=False)
            idx = np.where(chunk.is_null().to_numpy(zero_copy_only=False), -1, idx)
            out[pos : pos + len(chunk), j] = idx
            pos += len(chunk)
        values = chunks[0].dictionary.to_pylist() if chunks else []
        labels.append(["" if v is None else _label(v) for v in values])
    return out, labels


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)

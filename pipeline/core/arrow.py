"""Arrow arrays as the measures read them: one array per column, copied only when it must be."""

from __future__ import annotations

from typing import Any


def one_array(values: Any) -> Any:
    """``values`` as one Arrow array, without a copy where one is not needed.

    A plain array is returned as it is and a chunked array's only chunk as it is: Arrow's
    ``ChunkedArray.combine_chunks`` copies even a single chunk (2M household ids: 0.26-0.42 s of
    fresh memory). Several chunks are joined; none give an empty array of the same type.
    """
    import pyarrow as pa

    if not isinstance(values, pa.ChunkedArray):
        return values
    if values.num_chunks == 1:
        return values.chunk(0)
    if values.num_chunks == 0:
        return pa.array([], values.type)
    return values.combine_chunks()

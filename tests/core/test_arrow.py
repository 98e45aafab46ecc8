"""One Arrow array per column: a single chunk is not copied, several are joined."""

from __future__ import annotations

import pyarrow as pa

from pipeline.core.arrow import one_array


def test_a_plain_array_and_a_single_chunk_are_not_copied() -> None:
    values = pa.array(["a", None, "ccc"] * 10, pa.large_string()).slice(2, 20)
    assert one_array(values) is values
    chunked = pa.chunked_array([values])
    same = one_array(chunked)
    assert same.equals(values)
    assert same.offset == values.offset
    assert same.buffers()[2].address == values.buffers()[2].address  # the same bytes


def test_several_chunks_are_joined_and_none_give_an_empty_array() -> None:
    chunked = pa.chunked_array([pa.array([1, 2]), pa.array([], pa.int64()), pa.array([None, 4])])
    assert one_array(chunked).to_pylist() == [1, 2, None, 4]
    empty = one_array(pa.chunked_array([], pa.string()))
    assert isinstance(empty, pa.Array)
    assert len(empty) == 0
    assert empty.type == pa.string()
    dictionary = pa.chunked_array([pa.array(["x", "y"]).dictionary_encode()])
    assert one_array(dictionary).type == dictionary.type

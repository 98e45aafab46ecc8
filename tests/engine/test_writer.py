"""The writer's sort of an order bucket: ascending keys, repeated keys in their place."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.randomness import order_keys
from pipeline.engine.writer import sorted_positions
from tests.conftest import examples


def test_order_keys_come_out_ascending_across_chunks() -> None:
    keys = order_keys(np.arange(50_000, dtype=np.int64), b"k" * 32)
    chunked = pa.chunked_array([keys[:7], keys[7:30_000], keys[30_000:], keys[:0]])
    order = sorted_positions(chunked)
    assert np.array_equal(keys[order], np.sort(keys))
    assert order.tolist() == pc.sort_indices(chunked).to_pylist()


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.integers(-3, 3), max_size=60))
def test_repeated_keys_keep_their_order_as_arrows_stable_sort(keys: list[int]) -> None:
    column = pa.chunked_array([pa.array(keys, pa.int64())])
    assert sorted_positions(column).tolist() == pc.sort_indices(column).to_pylist()

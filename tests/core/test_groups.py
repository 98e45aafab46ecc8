"""Group ids of code rows: one integer per row, in the rows' lexicographic order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.groups import combinations, combine, factorize, hashed_groups, stable_order
from pipeline.core.randomness import order_keys
from tests.conftest import examples


@settings(max_examples=200, deadline=None)
@given(
    cards=st.lists(st.sampled_from([1, 2, 7, 300, 2**20, 2**31 - 2]), min_size=1, max_size=6),
    rows=st.integers(0, 400),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_ids_sort_as_the_rows_do(cards: list[int], rows: int, seed: int) -> None:
    # the key table is put in order by sorting these ids; wide codes make the mixed-radix
    # number overflow, and the ids are renumbered on the way: the order must survive it
    rng = np.random.default_rng(seed)
    codes = np.column_stack([rng.integers(-1, card, rows) for card in cards]).astype(np.int32)
    codes = np.unique(codes, axis=0) if rows else codes
    shuffled = codes[rng.permutation(len(codes))]
    ids = combine(shuffled)
    by_ids = np.argsort(ids, kind="stable")
    assert (by_ids == np.lexsort(shuffled.T[::-1])).all()
    assert len(np.unique(ids)) == len(shuffled)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-(2**63), 2**64 - 1), max_size=80),
    st.sampled_from([np.int64, np.uint64, np.int32]),
    st.integers(1, 5),
)
def test_factorize_numbers_by_first_appearance_as_arrow_s_dictionary(values, dtype, spread):
    """Dense ids in order of first appearance: the ids Arrow's dictionary encoding gives."""
    info = np.iinfo(dtype)
    array = np.array([min(max(v // spread, info.min), info.max) for v in values], dtype=dtype)
    ids, size = factorize(array)
    encoded = pa.array(array).dictionary_encode()
    assert ids.dtype == np.int64 and size == len(encoded.dictionary)
    assert ids.tolist() == encoded.indices.to_pylist()


def _frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    text = pd.array(rng.choice(["a", "b", "", "ab"], n), dtype="string")
    text[rng.random(n) < 0.2] = pd.NA
    number = pd.array(rng.integers(-2, 3, n), dtype="Int64")
    number[rng.random(n) < 0.2] = pd.NA
    return pd.DataFrame({"t": text, "i": number, "b": rng.random(n) < 0.5})


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 400), st.integers(0, 2**32 - 1))
def test_hashed_groups_are_the_exact_groups_whatever_the_hashes_merge(n: int, seed: int) -> None:
    """Hashes of the values give the exact groups; hashes that merge unequal rows give None."""
    rng = np.random.default_rng(seed)
    frame = _frame(rng, n)
    columns = ["t", "i", "b"]
    first, inverse = combinations(frame, columns)
    exact = hashed_groups(frame, columns, (inverse + 1).astype(np.uint64) * np.uint64(7919))
    assert exact is not None
    assert exact[0].tolist() == first.tolist() and exact[1].tolist() == inverse.tolist()
    if first.size > 1:  # two groups share a hash: seen, and left to the caller
        shared = np.minimum(inverse, 1).astype(np.uint64) + np.uint64(1)
        assert hashed_groups(frame, columns, shared if first.size > 2 else shared * 0 + 1) is None


def test_order_keys_come_out_ascending_across_chunks() -> None:
    """The writer's bucket of order keys (chunks joined) sorts as Arrow's stable sort does."""
    keys = order_keys(np.arange(50_000, dtype=np.int64), b"k" * 32)
    chunked = pa.chunked_array([keys[:7], keys[7:30_000], keys[30_000:], keys[:0]])
    order = stable_order(chunked.to_numpy())
    assert np.array_equal(keys[order], np.sort(keys))
    assert order.tolist() == pc.sort_indices(chunked).to_pylist()


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.integers(-3, 3), max_size=60))
def test_repeated_keys_keep_their_order_as_arrows_stable_sort(keys: list[int]) -> None:
    column = pa.chunked_array([pa.array(keys, pa.int64())])
    assert stable_order(column.to_numpy()).tolist() == pc.sort_indices(column).to_pylist()

"""RowLookup: each record's row in a table of combinations, as a left merge finds it."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core import lookup
from pipeline.core.lookup import RowLookup

KEYS = ["region", "age", "size", "flag"]


def _merged_rows(table: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """The reference: a pandas left merge of the records' keys with the numbered table."""
    numbered = table[KEYS].assign(row=np.arange(len(table), dtype=float))
    matched = frame[KEYS].merge(numbered, on=KEYS, how="left", sort=False)
    assert len(matched) == len(frame)
    return np.where(matched["row"].isna(), -1, matched["row"]).astype(np.int64)


def _frame(draw: st.DrawFn, n: int, regions: list, nullable: bool) -> pd.DataFrame:
    """Records whose values come from a few each (missing ones included)."""
    pick = st.lists(st.integers(0, 4), min_size=n, max_size=n)
    region = [regions[i] for i in draw(pick)]
    age = [None if i == 4 else i * 10 for i in draw(pick)]
    zero = -0.0 if nullable else 0.0  # the records' -0.0 against the table's 0.0 too
    size = [(zero if i == 0 else float(i)) if i < 4 else float("nan") for i in draw(pick)]
    flag = [bool(i % 2) for i in draw(pick)]
    return pd.DataFrame(
        {
            "region": pd.array(region, dtype="string"),
            "age": pd.array(age, dtype="Int64" if nullable else "float64"),
            "size": np.array(size),
            "flag": pd.array(flag, dtype="boolean" if nullable else bool),
        }
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    regions = ["13", "27", "東京都", None, "01"]
    table = _frame(draw, draw(st.integers(0, 30)), regions, nullable=False)
    table = table.drop_duplicates().reset_index(drop=True)
    frame = _frame(draw, draw(st.integers(0, 60)), regions[::-1], draw(st.booleans()))
    return table, frame


@settings(max_examples=200, deadline=None)
@given(cases())
def test_rows_are_a_left_merges(case: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    table, frame = case
    found = RowLookup(table, KEYS)
    assert found._index is not None  # indexed: these codes fit
    assert np.array_equal(found.rows(frame), _merged_rows(table, frame))


def test_a_table_too_wide_for_64_bit_codes_is_merged(monkeypatch) -> None:  # noqa: ANN001
    table = pd.DataFrame({k: [1, 2] for k in KEYS})
    frame = pd.DataFrame({k: [2, 3, 1] for k in KEYS})
    monkeypatch.setattr(lookup, "_LIMIT", 8)  # 3**4 codes would be needed
    found = RowLookup(table, KEYS)
    assert found._index is None
    assert found.rows(frame).tolist() == [1, -1, 0] == _merged_rows(table, frame).tolist()


def test_each_partition_reads_the_table_hashed_once() -> None:
    # one index of the table's combinations for every partition: never built again per call
    table = pd.DataFrame({k: np.arange(1000) % (7 + i) for i, k in enumerate(KEYS)})
    table = table.drop_duplicates().reset_index(drop=True)
    found = RowLookup(table, KEYS)
    engine = found._index._engine
    for part in np.array_split(np.arange(1000), 4):
        frame = table.iloc[part].reset_index(drop=True)
        assert found.rows(frame).tolist() == part.tolist()
    assert found._index._engine is engine


def test_a_lookup_unpickled_in_a_worker_finds_the_same_rows() -> None:
    table = pd.DataFrame({k: np.arange(50) % (3 + i) for i, k in enumerate(KEYS)})
    table = table.drop_duplicates().reset_index(drop=True)
    again = pickle.loads(pickle.dumps(RowLookup(table, KEYS)))
    frame = table.iloc[::-1].reset_index(drop=True)
    assert again.rows(frame).tolist() == _merged_rows(table, frame).tolist()

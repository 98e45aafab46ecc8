"""The count tables of information loss: pandas' group-by counts, whatever the partitions."""

from __future__ import annotations

from collections import Counter

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.utility import counts
from pipeline.utility.counts import COUNT, TABLES, count_tables
from tests.conftest import examples

GROUPS = [["a", "b"], ["c"], ["a", "b", "c"], ["b", "a"]]


def _frame(rows: list[tuple]) -> pd.DataFrame:
    a, b, c = zip(*rows, strict=True) if rows else ((), (), ())
    return pd.DataFrame(
        {
            "a": pd.array(list(a), dtype="string"),
            "b": pd.array(list(b), dtype="Int64"),
            "c": np.array(c, dtype=np.float64),
        }
    )


def _key(value: object) -> object:
    return None if pd.isna(value) else value


def _rows(table: pd.DataFrame, group: list[str]) -> list[tuple]:
    return [tuple(map(_key, row)) for row in zip(*(table[c] for c in group), strict=True)]


def _as_counter(table: pd.DataFrame, group: list[str], count: str) -> Counter:
    rows = zip(*(table[c] for c in group), table[count], strict=True)
    return Counter({tuple(_key(v) for v in row[:-1]): int(row[-1]) for row in rows})


ROWS = st.lists(
    st.tuples(
        st.sampled_from(["x", "y", " x", "", None]),
        st.one_of(st.none(), st.integers(-2, 2)),
        st.sampled_from([0.0, -0.0, 1.5, np.nan, 1e308, -1e308]),
    ),
    max_size=60,
)


@settings(max_examples=examples(200), deadline=None)
@given(rows=ROWS, partitions=st.integers(1, 7))
def test_each_table_is_pandas_group_by_counts_whatever_the_partitions(rows, partitions) -> None:
    frame = _frame(rows)
    lazy = count_tables(dd.from_pandas(frame, npartitions=partitions, sort=False), GROUPS)
    (found,) = dask.compute(lazy, scheduler="sync")
    tables = found[TABLES].iloc[0]
    assert len(tables) == len(GROUPS)
    for group, table in zip(GROUPS, tables, strict=True):
        assert list(table.columns) == [*group, COUNT]
        assert [str(t) for t in table.dtypes[group]] == [str(frame[c].dtype) for c in group]
        expected = frame.assign(n=1).groupby(group, dropna=False, observed=True).agg({"n": "sum"})
        assert _as_counter(table, group, COUNT) == _as_counter(expected.reset_index(), group, "n")
        assert table[COUNT].dtype == np.int64 and int(table[COUNT].sum()) == len(frame)
        assert _rows(table, group) == list(dict.fromkeys(_rows(frame, group)))  # first seen


def test_a_column_is_factorized_once_per_partition_for_every_table(monkeypatch) -> None:
    seen: list[str] = []
    real = pd.factorize

    def counting(values, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if isinstance(values, pd.Series):  # a column (not an array of group ids)
            seen.append(values.name)
        return real(values, *args, **kwargs)

    monkeypatch.setattr(counts.pd, "factorize", counting)
    part = _frame([("x", 1, 0.0), ("y", None, 1.5), ("x", 1, 0.0)])
    (tables,) = counts.partition_tables(part, GROUPS)[TABLES]
    assert sorted(seen) == ["a", "b", "c"]  # three columns, four tables
    assert [int(t[COUNT].sum()) for t in tables] == [3, 3, 3, 3]

"""Count tables of value combinations, all of a pass's in one tree-reduced dask reduction.

Information loss compares each categorical variable's values before and after the steps, the
released classes, and chosen 2-way tables: each a count of the distinct combinations of a few
columns (a missing value is a value of its own, as in ``groupby(dropna=False)``). A column
appears in several of them (a key variable's released values are in its pair and in the
classes), so each partition factorizes every column once and counts every table from those
codes (``pipeline.core.groups.combinations``, as the key table's reduction does). The
partitions' tables then go up one dask tree together, 8 at a time, added up per combination.
The counts are exact integers, and a table's rows come in the order their combinations first
appear in the file, whatever the partitions (as a group-by with ``sort=False`` gives them):
the figures taken from them break ties by that order (which released value an original value
maps to).
"""

from __future__ import annotations

from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from pipeline.core.columns import INTERNAL_PREFIX
from pipeline.core.groups import combinations

COUNT = f"{INTERNAL_PREFIX}n"  # records per combination, in every table
TABLES = f"{INTERNAL_PREFIX}tables"  # the one column of the reduction: a list of tables per row


def count_tables(frame: dd.DataFrame, groups: list[list[str]]) -> Any:
    """The lazy count tables of ``groups`` (lists of columns of ``frame``), in one reduction.

    Computed, it is a one-row frame whose :data:`TABLES` cell is the list of tables, in the
    order of ``groups``: each has the group's columns (their dtypes kept) and :data:`COUNT`.
    """
    columns = list(dict.fromkeys(c for group in groups for c in group))
    given = {"groups": groups}
    return frame[columns].reduction(
        chunk=partition_tables,
        chunk_kwargs=given,
        combine=added_tables,
        combine_kwargs=given,
        aggregate=added_tables,
        aggregate_kwargs=given,
        meta=pd.DataFrame({TABLES: pd.Series(dtype=object)}),
        split_every=8,
    )


def partition_tables(part: pd.DataFrame, groups: list[list[str]]) -> pd.DataFrame:
    """One partition's count tables (each column factorized once for all of them)."""
    codes = {c: pd.factorize(part[c], use_na_sentinel=True)[0] for c in part.columns}
    return _row([_counted(part, codes, group, None) for group in groups])


def added_tables(rows: pd.DataFrame, groups: list[list[str]]) -> pd.DataFrame:
    """Rows of count tables (from partitions or from the tree) added up, table by table."""
    out = []
    for i, group in enumerate(groups):
        table = pd.concat([tables[i] for tables in rows[TABLES]], ignore_index=True)
        codes = {c: pd.factorize(table[c], use_na_sentinel=True)[0] for c in group}
        out.append(_counted(table, codes, group, table[COUNT].to_numpy(dtype=np.float64)))
    return _row(out)


def _counted(
    frame: pd.DataFrame, codes: dict[str, np.ndarray], group: list[str], records: Any
) -> pd.DataFrame:
    """The distinct combinations of ``group`` with their records (one each, or ``records``)."""
    first, inverse = combinations(frame, group, codes)  # in the order they first appear
    table = frame[group].iloc[first].reset_index(drop=True)
    counts = np.bincount(inverse, weights=records, minlength=first.size)
    table[COUNT] = counts.astype(np.int64)  # whole numbers below 2**53: exact as floats
    return table


def _row(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """One row holding the list of tables (what the reduction passes up its tree)."""
    return pd.DataFrame({TABLES: pd.Series([tables], dtype=object)})

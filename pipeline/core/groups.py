"""Dense group ids of integer code rows: the grouping of the risk measures and of utility's counts.

Key variables are integer codes per column (``-1`` = missing). Equal rows get equal ids; the
ids are dense (0..g-1) and numbered by first appearance, so results do not depend on sorting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def combine(codes: np.ndarray, columns: list[int] | None = None) -> np.ndarray:
    """Return one int64 group id per row for the chosen columns (codes >= -1).

    Equal ids mean equal rows. Uses a mixed-radix number while it fits in int64 and
    re-densifies (np.unique) otherwise.
    """
    return _combine(codes, columns)[0]


def _combine(codes: np.ndarray, columns: list[int] | None = None) -> tuple[np.ndarray, int]:
    """Group ids and an exclusive upper bound of them."""
    n = codes.shape[0]
    cols = list(range(codes.shape[1])) if columns is None else columns
    group = np.zeros(n, dtype=np.int64)
    radix = 1
    for c in cols:
        column = codes[:, c]
        card = int(column.max()) + 2 if n else 1  # -1 (missing) -> 0
        if radix * card >= 2**62:
            group = np.unique(group, return_inverse=True)[1].astype(np.int64)
            radix = int(group.max()) + 1 if n else 1
        group *= card
        group += column
        group += 1
        radix *= card
    return group, radix


def distinct_rows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (first row of each distinct code vector, index of each row's vector)."""
    group, bound = _combine(codes)
    if bound <= 4 * group.size + 4096:
        present = np.zeros(bound, dtype=bool)
        present[group] = True
        rank = np.cumsum(present) - 1
        inverse = rank[group]
        return first_rows(inverse, int(present.sum())), inverse
    inverse, size = factorize(group)
    return first_rows(inverse, size), inverse


def first_rows(inverse: np.ndarray, size: int) -> np.ndarray:
    """The first row of each of ``size`` groups, from each row's group id (0..size-1)."""
    first = np.full(size, -1, dtype=np.int64)
    first[inverse[::-1]] = np.arange(inverse.size - 1, -1, -1)
    return first


def combinations(
    frame: pd.DataFrame, columns: list[str], codes: dict[str, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each distinct combination of ``columns``, and each row's combination.

    Combinations are numbered in the order they first appear (as a group-by with
    ``sort=False`` gives them); a missing value is a value of its own (``dropna=False``).
    ``codes``: the columns' ``pd.factorize`` codes when the caller has them already.
    """
    import pandas as pd  # here: the modules a recipe's checks load need no pandas

    codes = codes or {}
    matrix = np.empty((len(frame), len(columns)), dtype=np.int64)
    for j, column in enumerate(columns):
        found = codes.get(column)
        matrix[:, j] = found if found is not None else pd.factorize(frame[column])[0]
    first, inverse = distinct_rows(matrix)
    if first.size < 2 or bool((first[1:] > first[:-1]).all()):  # numbered as they appear already
        return first, inverse
    order = np.argsort(first)  # distinct row numbers: every sort gives the same order
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return first[order], rank[inverse]


def stable_order(values: np.ndarray) -> np.ndarray:
    """The positions of ``values`` in ascending order, equal values in their order (stable).

    Distinct values have one order, which numpy's vectorised sort finds several times faster
    than a stable sort (2M int64: 0.04 s against 0.17-0.28 s); only values that repeat are
    sorted stably.
    """
    order = np.argsort(values)
    ordered = values[order]
    if ordered.size > 1 and bool((ordered[1:] == ordered[:-1]).any()):
        order = np.argsort(values, kind="stable")
    return order


def factorize(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense ids 0..g-1 of integer values, in order of first appearance (hashing, no sort).

    pandas' hash table: the same ids as Arrow's dictionary encoding, 1.1-4x faster where most
    values are distinct (1M values, 900k distinct: 90-120 ms against 136-350 ms).
    """
    import pandas as pd  # here: the modules a recipe's checks load need no pandas

    ids, uniques = pd.factorize(values, use_na_sentinel=False)
    return ids.astype(np.int64, copy=False), len(uniques)


def hashed_groups(
    frame: pd.DataFrame, columns: list[str], hashes: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """``combinations`` of ``columns`` read from each row's 64-bit hash of its values, verified.

    Equal values must have equal hashes (the caller's hashes are a function of the values);
    unequal values may share one, so every row is compared with the first row of its hash:
    any difference, and None is returned (the caller groups by the values themselves). The
    same ids, in the same order of first appearance, as ``combinations`` gives then.
    """
    inverse, size = factorize(hashes.view(np.int64))
    first = first_rows(inverse, size)
    rep = first[inverse]
    merged = np.flatnonzero(rep != np.arange(rep.size))  # rows that are not their group's first
    for column in columns if merged.size else ():
        values = frame[column].array
        mine, theirs = values.take(merged), values.take(rep[merged])
        equal = mine == theirs
        if hasattr(equal, "to_numpy"):  # a masked comparison: missing against anything is NA
            equal = equal.to_numpy(dtype=bool, na_value=False)
        both = np.asarray(mine.isna(), dtype=bool) & np.asarray(theirs.isna(), dtype=bool)
        if not (np.asarray(equal, dtype=bool) | both).all():
            return None
    return first, inverse

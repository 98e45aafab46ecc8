"""Sample frequencies fk and weighted frequencies Fk of key-variable combinations.

Key variables are integer codes per column (``-1`` = missing). Two conventions for missing
values:

* ``any`` (default, sdcMicro's): a missing value matches every value, in both records. The fk
  of a record is the number of records that agree with it on every key variable where neither
  is missing; Fk is the sum of their weights.
* ``category``: a missing value is a category of its own (ordinary group-by).

Records with identical codes have identical frequencies, so the work is done once per distinct
combination (usually far fewer than records) and spread back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Missing = Literal["any", "category"]


@dataclass(frozen=True)
class Frequencies:
    """fk and Fk for each record (Fk equals fk when there are no weights)."""

    fk: np.ndarray
    Fk: np.ndarray  # noqa: N815 - the statistical notation


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


def _dense(group: np.ndarray, bound: int) -> tuple[np.ndarray, int]:
    """Map group ids to 0..g-1 (bincount-ready): directly when the bound is small."""
    if bound <= 4 * group.size + 4096:
        return group, bound
    return factorize(group)


def distinct_rows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (first row of each distinct code vector, index of each row's vector)."""
    group, bound = _combine(codes)
    if bound <= 4 * group.size + 4096:
        present = np.zeros(bound, dtype=bool)
        present[group] = True
        rank = np.cumsum(present) - 1
        inverse = rank[group]
        first = np.full(int(present.sum()), -1, dtype=np.int64)
        first[inverse[::-1]] = np.arange(group.size - 1, -1, -1)
        return first, inverse
    inverse, size = factorize(group)
    first = np.full(size, -1, dtype=np.int64)
    first[inverse[::-1]] = np.arange(group.size - 1, -1, -1)
    return first, inverse


def factorize(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense ids 0..g-1 of int64 values, in order of first appearance (hashing, no sort)."""
    import pyarrow as pa

    encoded = pa.array(values).dictionary_encode()
    ids = np.frombuffer(encoded.indices.buffers()[1], dtype=np.int32)[: len(values)]
    return ids.astype(np.int64), len(encoded.dictionary)


def frequencies(
    codes: np.ndarray, weights: np.ndarray | None = None, missing: Missing = "any"
) -> Frequencies:
    """Compute fk and Fk of every record over the key-variable codes (n rows x m keys)."""
    n = codes.shape[0]
    if n == 0:
        return Frequencies(np.zeros(0, dtype=np.int64), np.zeros(0))
    first, inverse = distinct_rows(codes)
    counts = np.bincount(inverse, minlength=first.size).astype(np.float64)
    sums = (
        counts
        if weights is None
        else np.bincount(
            inverse, weights=np.asarray(weights, dtype=np.float64), minlength=first.size
        )
    )
    fk_u, Fk_u = distinct_frequencies(codes[first], counts, sums, missing, distinct=True)
    fk = fk_u[inverse]
    return Frequencies(fk, Fk_u[inverse] if weights is not None else fk.astype(np.float64))


def distinct_frequencies(
    ucodes: np.ndarray,
    counts: np.ndarray,
    sums: np.ndarray,
    missing: Missing = "any",
    distinct: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Return fk and Fk of each distinct code vector, given its record count and weight sum.

    With ``missing="any"`` the distinct vectors are split by their pattern of missing values.
    A vector of pattern p matches the vectors of pattern q that agree with it on the variables
    missing in neither, so for each pair (p, q) the vectors of q are counted by those variables
    and the counts looked up for the vectors of p. With ``distinct`` (the rows are known to be
    distinct) the vectors of one pattern never match each other, so that pair is their own
    counts. Keys are mixed-radix numbers over the whole table's categories; nothing of the
    table is copied.
    """
    if missing == "category" or not (ucodes < 0).any():
        return np.rint(counts).astype(np.int64), sums.astype(np.float64)
    u, m = ucodes.shape
    pattern = ((ucodes < 0).astype(np.int64) << np.arange(m, dtype=np.int64)).sum(axis=1)
    order = np.argsort(pattern, kind="stable")
    patterns, starts = np.unique(pattern[order], return_index=True)
    members = dict(zip(patterns.tolist(), np.split(order, starts[1:]), strict=True))
    del order, pattern
    cards = [int(ucodes[:, j].max()) + 2 for j in range(m)]  # -1 (missing) -> 0
    fk = np.zeros(u, dtype=np.float64)
    Fk = np.zeros(u, dtype=np.float64)  # noqa: N806
    for p, rows_p in members.items():
        for q, rows_q in members.items():
            if q == p and distinct:  # each vector is only its own match
                fk[rows_p] += counts[rows_p]
                Fk[rows_p] += sums[rows_p]
                continue
            shared = [v for v in range(m) if not ((p | q) >> v) & 1]
            if not shared:
                fk[rows_p] += counts[rows_q].sum()
                Fk[rows_p] += sums[rows_q].sum()
                continue
            mine, theirs, size = _match(ucodes, rows_p, rows_q, shared, cards)
            found = mine >= 0
            hits, mine = rows_p[found], mine[found]
            fk[hits] += np.bincount(theirs, weights=counts[rows_q], minlength=size)[mine]
            Fk[hits] += np.bincount(theirs, weights=sums[rows_q], minlength=size)[mine]
    return np.rint(fk).astype(np.int64), Fk


def _match(
    ucodes: np.ndarray, rows_p: np.ndarray, rows_q: np.ndarray, shared: list[int], cards: list[int]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Group ids over ``shared`` variables of rows_p (-1: no match) and rows_q, and their bound."""
    bound = 1
    for v in shared:
        bound *= cards[v]
    if bound < 2**62:
        key_p, key_q = (_radix(ucodes, rows, shared, cards) for rows in (rows_p, rows_q))
    else:  # too many combinations for one number: number the vectors of both sides together
        key, _ = _combine(ucodes[np.concatenate([rows_p, rows_q])], shared)
        key_p, key_q = key[: rows_p.size], key[rows_p.size :]
    if bound <= 4 * rows_q.size + 4096:
        return key_p, key_q, bound  # dense already: bincount over theirs, indexed by mine
    distinct, theirs = np.unique(key_q, return_inverse=True)
    at = np.minimum(np.searchsorted(distinct, key_p), max(distinct.size - 1, 0))
    mine = np.where(distinct[at] == key_p, at, -1) if distinct.size else np.full(key_p.size, -1)
    return mine, theirs, distinct.size


def _radix(ucodes: np.ndarray, rows: np.ndarray, shared: list[int], cards: list[int]) -> np.ndarray:
    key = np.zeros(rows.size, dtype=np.int64)
    for v in shared:
        key *= cards[v]
        key += ucodes[rows, v]
        key += 1
    return key

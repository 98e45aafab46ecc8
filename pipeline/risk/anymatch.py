"""fk and Fk when a missing value matches any value (sdcMicro's convention), in bounded memory.

The distinct key vectors are split by their pattern of missing values. A vector of pattern p
matches the vectors of pattern q that agree with it on the variables missing in neither, so for
each pair (p, q) the vectors of q are summed by those shared variables and the sums looked up
for the vectors of p. Keys are mixed-radix numbers over the table's categories. The smaller
side of a pair gets the lookup table; the larger side is streamed through it in blocks, so the
memory of a pair is the smaller side plus one block, never a copy of the table.
"""

from __future__ import annotations

import numpy as np

from pipeline.core.groups import distinct_rows

BLOCK = 1 << 22  # rows streamed through a lookup table at a time
DENSE_SLACK = 4096  # a dense table may be this much larger than 4x the rows it counts
RADIX_BITS = 62  # widest mixed-radix key


def any_frequencies(
    ucodes: np.ndarray, counts: np.ndarray, sums: np.ndarray, distinct: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies fk (int64) and Fk of each row of ``ucodes`` (code vectors, -1 = missing).

    With ``distinct`` the rows are known to be distinct, so two rows of one pattern never
    match and that pair is each row's own counts.
    """
    u, m = ucodes.shape
    pattern = np.zeros(u, dtype=np.int64 if m > 30 else np.int32)
    for j in range(m):
        pattern |= (ucodes[:, j] < 0).astype(pattern.dtype) << j
    order = np.argsort(pattern, kind="stable")
    patterns, starts = np.unique(pattern[order], return_index=True)
    del pattern
    members = dict(zip(patterns.tolist(), np.split(order, starts[1:]), strict=True))
    cards = [int(ucodes[:, j].max()) + 2 for j in range(m)]  # -1 (missing) -> 0
    fk = np.zeros(u, dtype=np.float64)
    Fk = np.zeros(u, dtype=np.float64)  # noqa: N806
    for p, rows_p in members.items():
        for q, rows_q in members.items():
            if q == p and distinct:
                fk[rows_p] += counts[rows_p]
                Fk[rows_p] += sums[rows_p]
                continue
            shared = [v for v in range(m) if not ((p | q) >> v) & 1]
            if not shared:
                fk[rows_p] += counts[rows_q].sum()
                Fk[rows_p] += sums[rows_q].sum()
                continue
            _add_matches(ucodes, rows_p, rows_q, shared, cards, (counts, sums), (fk, Fk))
    return np.rint(fk).astype(np.int64), Fk


def _keys(ucodes: np.ndarray, rows: np.ndarray, shared: list[int], cards: list[int]) -> np.ndarray:
    key = np.zeros(rows.size, dtype=np.int64)
    for v in shared:
        key *= cards[v]
        key += ucodes[rows, v]
        key += 1
    return key


def _blocks(rows: np.ndarray):  # noqa: ANN202 - a generator of index blocks
    for lo in range(0, rows.size, BLOCK):
        yield rows[lo : lo + BLOCK]


def _add_matches(
    ucodes: np.ndarray,
    rows_p: np.ndarray,
    rows_q: np.ndarray,
    shared: list[int],
    cards: list[int],
    values: tuple[np.ndarray, np.ndarray],
    totals: tuple[np.ndarray, np.ndarray],
) -> None:
    """Add to ``totals`` at rows_p the ``values`` of the rows_q agreeing on ``shared``."""
    bound = 1
    for v in shared:
        bound *= cards[v]
    if bound >= 2**RADIX_BITS:  # too many combinations for one number: rank the keys instead
        _add_ranked(ucodes, rows_p, rows_q, shared, values, totals)
        return
    if bound <= 4 * rows_q.size + DENSE_SLACK:  # a dense table over q, indexed by p's keys
        tables = [np.zeros(bound) for _ in values]
        for block in _blocks(rows_q):
            key = _keys(ucodes, block, shared, cards)
            for table, value in zip(tables, values, strict=True):
                table += np.bincount(key, weights=value[block], minlength=bound)
        for block in _blocks(rows_p):
            key = _keys(ucodes, block, shared, cards)
            for table, total in zip(tables, totals, strict=True):
                total[block] += table[key]
        return
    if rows_q.size <= rows_p.size:  # a sparse table over q, p streamed through it
        distinct, inverse = np.unique(_keys(ucodes, rows_q, shared, cards), return_inverse=True)
        tables = [np.bincount(inverse, weights=value[rows_q]) for value in values]
        del inverse
        for block in _blocks(rows_p):
            at, hit = _lookup(distinct, _keys(ucodes, block, shared, cards))
            for table, total in zip(tables, totals, strict=True):
                total[block[hit]] += table[at[hit]]
        return
    # a sparse table over p, q streamed into it
    distinct, inverse = np.unique(_keys(ucodes, rows_p, shared, cards), return_inverse=True)
    sums = [np.zeros(distinct.size) for _ in values]
    for block in _blocks(rows_q):
        at, hit = _lookup(distinct, _keys(ucodes, block, shared, cards))
        for acc, value in zip(sums, values, strict=True):
            acc += np.bincount(at[hit], weights=value[block[hit]], minlength=distinct.size)
    for acc, total in zip(sums, totals, strict=True):
        total[rows_p] += acc[inverse]


def _lookup(distinct: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each key in the sorted ``distinct`` keys, and whether it is there."""
    if distinct.size == 0:
        return np.zeros(keys.size, dtype=np.int64), np.zeros(keys.size, dtype=bool)
    at = np.minimum(np.searchsorted(distinct, keys), distinct.size - 1)
    return at, distinct[at] == keys


def _add_ranked(
    ucodes: np.ndarray,
    rows_p: np.ndarray,
    rows_q: np.ndarray,
    shared: list[int],
    values: tuple[np.ndarray, np.ndarray],
    totals: tuple[np.ndarray, np.ndarray],
) -> None:
    """The general case (keys wider than 62 bits): group both sides' rows together."""
    both = np.concatenate([rows_p, rows_q])
    inverse = distinct_rows(ucodes[both][:, shared])[1]
    mine, theirs = inverse[: rows_p.size], inverse[rows_p.size :]
    size = int(inverse.max()) + 1 if inverse.size else 0
    for value, total in zip(values, totals, strict=True):
        total[rows_p] += np.bincount(theirs, weights=value[rows_q], minlength=size)[mine]

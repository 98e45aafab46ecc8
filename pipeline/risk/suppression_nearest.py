"""Nearest-neighbour passes of local suppression when a missing value matches any value.

The idea of sdcMicro's ``kAnon``, worked out here on distinct code vectors with record counts
(``-1`` = missing). In a pass, the vectors below k at its start are taken one after the other,
lowest fk first, then in the lexicographic order of the vectors; each sees the suppressions made
before it. A vector sets one more value missing: of the variables in which it differs from its
nearest vectors (fewest variables where both have a value and the values differ), the least
important. In the first pass every vector below k does so, as in sdcMicro, even one that
earlier suppressions have already lifted to k: otherwise the first records to give up values
become wildcards that the later ones merely match (a record with every value missing matches
all). In later passes a vector that has reached k is passed over. Passes repeat until k holds.

Distances of a batch of vectors to all vectors are counted with bitsets (per variable: the
vectors with a value, and the vectors with each value) summed by a bit-sliced adder; vectors
changed earlier in the batch are compared directly. Work is bounded: beyond ``MAX_COMPARED``
comparisons, ``MAX_STEPS`` vectors taken or ``MAX_BITSET_BYTES`` of bitsets the passes give up
and return None (the caller keeps its other result), so the outcome depends on the data only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BATCH = 256  # vectors whose distances are counted together
MAX_COMPARED = 6e9  # vectors taken x vectors x variables, over all passes
MAX_STEPS = 60_000  # vectors taken, over all passes
MAX_BITSET_BYTES = 1 << 28


class _Bitsets:
    """Per variable, the vectors with a value and the vectors with each value, as bitsets."""

    def __init__(self, work: np.ndarray, words: int) -> None:
        self.words = words
        self.present = np.stack([_pack(work[:, v] >= 0, words) for v in range(work.shape[1])])
        self.equal = [_value_bits(work[:, v], words) for v in range(work.shape[1])]

    def clear(self, row: int, var: int, value: int) -> None:
        """Record that ``row`` no longer has ``value`` in ``var`` (it became missing)."""
        word, bit = row >> 6, np.uint64(1) << np.uint64(row & 63)
        self.present[var, word] &= ~bit
        self.equal[var][value, word] &= ~bit


def nearest_passes(
    original: np.ndarray,
    mult: np.ndarray,
    k: int,
    order: list[int],
    fk_of: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, int] | None:
    """Suppress by nearest-neighbour passes until every fk >= k (``missing = any``).

    Args:
        original: Distinct code vectors (u x m, -1 = missing) in lexicographic order.
        mult: Records each vector stands for.
        k: The k of k-anonymity (at most the number of records).
        order: Variables from the least to the most important.
        fk_of: fk of every vector of a code matrix (missing values matching any value).

    Returns:
        The suppressed vectors and the number of passes, or None when the work bound is hit.

    """
    u, m = original.shape
    words = (u + 63) // 64
    cards = [int(original[:, v].max(initial=-1)) + 1 for v in range(m)]
    if (sum(cards) + m) * words * 8 > MAX_BITSET_BYTES:
        return None
    rank = np.empty(m, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(m)
    work = original.copy()
    bits = _Bitsets(work, words)
    fk = fk_of(work).astype(np.float64)
    passes, steps, compared = 0, 0, 0.0
    while (fk < k).any():
        rows = np.flatnonzero(fk < k)
        rows = rows[np.lexsort((rows, fk[rows]))]
        steps += rows.size
        compared += float(rows.size) * u * m
        if steps > MAX_STEPS or compared > MAX_COMPARED:
            return None
        before = int((work < 0).sum())
        for start in range(0, rows.size, BATCH):
            batch = rows[start : start + BATCH]
            _batch(work, bits, batch, fk, (mult, k, rank), skip=passes > 0)
        passes += 1
        if int((work < 0).sum()) == before:  # nothing left to suppress (cannot happen)
            return None
        fk = fk_of(work).astype(np.float64)
    return work, passes


def _batch(
    work: np.ndarray,
    bits: _Bitsets,
    batch: np.ndarray,
    fk: np.ndarray,
    fixed: tuple[np.ndarray, int, np.ndarray],
    skip: bool,
) -> None:
    """Take the vectors of ``batch`` in turn (``work``, ``bits`` and ``fk`` change in place)."""
    mult, k, rank = fixed
    u = work.shape[0]
    levels = _distance_levels(bits, work[batch])
    stale = np.zeros(bits.words, dtype=np.uint64)
    changed: list[int] = []
    for i, r in enumerate(batch.tolist()):
        if skip and fk[r] >= k:
            continue
        found = _nearest(work, levels[:, i], stale, changed, r, u)
        if found is None:
            continue
        dmin, near = found
        values, own = work[near], work[r]
        differs = ((values != own) & (values >= 0)).any(axis=0) & (own >= 0)
        candidates = np.flatnonzero(differs)
        v = int(candidates[np.argmin(rank[candidates])])
        old = int(own[v])
        if dmin == 1:  # the nearest vectors differing in v now match r
            newly = near[(values[:, v] >= 0) & (values[:, v] != old)]
            fk[newly] += mult[r]
            fk[r] += mult[newly].sum()
        work[r, v] = -1
        bits.clear(r, v, old)
        stale[r >> 6] |= np.uint64(1) << np.uint64(r & 63)
        changed.append(r)


def _nearest(
    work: np.ndarray,
    levels: np.ndarray,
    stale: np.ndarray,
    changed: list[int],
    r: int,
    u: int,
) -> tuple[int, np.ndarray] | None:
    """The smallest positive distance of vector ``r`` and the vectors at that distance."""
    own = work[r]
    d_changed, to_changed = np.inf, np.zeros(0, dtype=np.int64)
    if changed:
        rows = np.asarray(changed, dtype=np.int64)
        values = work[rows]
        to_changed = ((values != own) & (values >= 0) & (own >= 0)).sum(axis=1)
        positive = to_changed[to_changed > 0]
        d_changed = float(positive.min()) if positive.size else np.inf
    d_bits, at = np.inf, None
    for d in range(1, int(min(d_changed, work.shape[1])) + 1):
        exact = _exactly(levels, d) & ~stale
        if exact.any():
            d_bits, at = float(d), exact
            break
    dmin = min(d_bits, d_changed)
    if dmin == np.inf:
        return None
    parts = []
    if at is not None and d_bits == dmin:
        parts.append(
            np.flatnonzero(np.unpackbits(at.astype("<u8").view(np.uint8), bitorder="little")[:u])
        )
    if d_changed == dmin:
        parts.append(np.asarray(changed, dtype=np.int64)[to_changed == dmin])
    return int(dmin), np.sort(np.concatenate(parts))


def _distance_levels(bits: _Bitsets, sub: np.ndarray) -> np.ndarray:
    """Bit-sliced distances of each row of ``sub`` to every vector: (levels, rows, words)."""
    n, m = sub.shape
    levels = np.zeros((max(1, m.bit_length()), n, bits.words), dtype=np.uint64)
    for v in range(m):
        if bits.equal[v].shape[0] == 0:  # no values at all in v
            continue
        own = sub[:, v]
        x = bits.present[v][None, :] & ~bits.equal[v][np.maximum(own, 0)]
        x[own < 0] = 0
        for level in levels:
            carry = level & x
            level ^= x
            x = carry
            if not x.any():
                break
    return levels


def _exactly(levels: np.ndarray, d: int) -> np.ndarray:
    """Bitset of the vectors at distance exactly ``d`` (d >= 1) from the levels of one row."""
    out = np.full(levels.shape[1], np.uint64(0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
    for j, level in enumerate(levels):
        out &= level if (d >> j) & 1 else ~level
    return out


def _pack(mask: np.ndarray, words: int) -> np.ndarray:
    """A boolean vector as a little-endian bitset of ``words`` 64-bit words."""
    packed = np.zeros(words * 8, dtype=np.uint8)
    raw = np.packbits(mask, bitorder="little")
    packed[: raw.size] = raw
    return packed.view("<u8").astype(np.uint64)


def _value_bits(column: np.ndarray, words: int) -> np.ndarray:
    """Bitsets (values x words) of the vectors holding each value of one column."""
    card = int(column.max(initial=-1)) + 1
    out = np.zeros((card, words), dtype=np.uint64)
    rows = np.flatnonzero(column >= 0)
    if rows.size == 0:
        return out
    cell = column[rows].astype(np.int64) * words + (rows >> 6)
    bit = np.left_shift(np.uint64(1), (rows & 63).astype(np.uint64))
    sort = np.argsort(cell, kind="stable")
    cell, bit = cell[sort], bit[sort]
    starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    out.reshape(-1)[cell[starts]] = np.bitwise_or.reduceat(bit, starts)
    return out

"""Sample frequencies fk and weighted frequencies Fk of key-variable combinations.

Key variables are integer codes per column (``-1`` = missing). Two conventions for missing
values:

* ``any`` (default, sdcMicro's): a missing value matches every value, in both records. The fk
  of a record is the number of records that agree with it on every key variable where neither
  is missing; Fk is the sum of their weights.
* ``category``: a missing value is a category of its own (ordinary group-by).
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
    """Return one dense int64 group id per row for the chosen columns (codes >= -1).

    Uses a mixed-radix number while it fits in int64, and re-densifies (np.unique) otherwise.
    """
    n = codes.shape[0]
    cols = list(range(codes.shape[1])) if columns is None else columns
    group = np.zeros(n, dtype=np.int64)
    radix = 1
    for c in cols:
        column = codes[:, c].astype(np.int64) + 1  # -1 (missing) -> 0
        card = int(column.max()) + 1 if n else 1
        if radix * card >= 2**62:
            group = np.unique(group, return_inverse=True)[1].astype(np.int64)
            radix = int(group.max()) + 1 if n else 1
        group = group * card + column
        radix *= card
    return group


def _count(group: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-row size (and weight sum) of its group."""
    if group.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    top = int(group.max()) + 1
    if top <= 4 * group.size + 1024:
        dense = group
    else:
        uniq, dense = np.unique(group, return_inverse=True)
        top = uniq.size
    sizes = np.bincount(dense, minlength=top)
    fk = sizes[dense]
    Fk = np.bincount(dense, weights=weights, minlength=top)[dense] if weights is not None else fk
    return fk.astype(np.int64), np.asarray(Fk, dtype=np.float64)


def frequencies(
    codes: np.ndarray, weights: np.ndarray | None = None, missing: Missing = "any"
) -> Frequencies:
    """Compute fk and Fk of every record over the key-variable codes (n rows x m keys)."""
    if missing == "category" or codes.size == 0 or not (codes < 0).any():
        fk, Fk = _count(combine(codes), weights)
        return Frequencies(fk, Fk.astype(np.float64) if weights is not None else fk.copy())
    return _frequencies_na_any(codes, weights)


def _frequencies_na_any(codes: np.ndarray, weights: np.ndarray | None) -> Frequencies:
    n, m = codes.shape
    bits = (codes < 0).astype(np.int64) << np.arange(m, dtype=np.int64)
    pattern = bits.sum(axis=1)
    patterns, pattern_of = np.unique(pattern, return_inverse=True)
    members = [np.flatnonzero(pattern_of == i) for i in range(patterns.size)]
    fk = np.zeros(n, dtype=np.int64)
    Fk = np.zeros(n, dtype=np.float64)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    for p, rows_p in zip(patterns, members, strict=True):
        # group the other patterns by the union of missing variables: one count per union
        unions: dict[int, list[np.ndarray]] = {}
        for q, rows_q in zip(patterns, members, strict=True):
            unions.setdefault(int(p | q), []).append(rows_q)
        for union, parts in unions.items():
            shared = [v for v in range(m) if not (union >> v) & 1]
            others = np.concatenate(parts)
            if not shared:
                fk[rows_p] += others.size
                Fk[rows_p] += w[others].sum()
                continue
            both = np.concatenate([rows_p, others])
            group = combine(codes[both][:, shared])
            uniq, inverse = np.unique(group, return_inverse=True)
            mine, theirs = inverse[: rows_p.size], inverse[rows_p.size :]
            fk[rows_p] += np.bincount(theirs, minlength=uniq.size)[mine]
            Fk[rows_p] += np.bincount(theirs, weights=w[others], minlength=uniq.size)[mine]
    return Frequencies(fk, Fk if weights is not None else fk.astype(np.float64))

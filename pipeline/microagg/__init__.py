"""Microaggregation: partitions of records into groups of k to 2k - 1 similar records.

``groups`` is the entry point: the optimal univariate partition for one variable
(``pipeline.microagg.univariate``), otherwise MDAV (``pipeline.microagg.mdav``), exact on up to
``EXACT`` records and inside the blocks of a whole-file space partition beyond
(``pipeline.microagg.blocks``), followed by a local search that only lowers the within-group
sum of squares (``pipeline.microagg.refine``). Everything is a pure function of the values and
their order.
"""

from __future__ import annotations

import numpy as np

from pipeline.microagg.blocks import by_size, split_blocks
from pipeline.microagg.mdav import mdav_blocks
from pipeline.microagg.refine import refine
from pipeline.microagg.univariate import optimal_groups

EXACT = 10_000  # MDAV runs exactly on up to this many records
BLOCK = 1000  # beyond, it runs inside blocks of at most this many
BUDGET = 100_000  # local search: records x passes, at most
PASSES = 8
NEIGHBOURS = 10  # candidates of a record's moves and swaps: its 10 k nearest records
_CHUNK = 1 << 18  # records of the blocks handled at once (bounds the working arrays)


def groups(z: np.ndarray, k: int, method: str = "mdav", improve: bool = True) -> np.ndarray:
    """Group labels 0..g-1 of the records ``z`` (records x variables, no missing value).

    ``method`` is ``mdav`` or ``optimal`` (one variable). With fewer than 2k records there
    is one group; fewer than k records must not be passed.
    """
    n = z.shape[0]
    if n < k:
        raise ValueError("fewer records than k")
    if not np.isfinite(z).all():
        raise ValueError("the standardised values must be finite")
    if method == "optimal":
        return optimal_groups(z[:, 0], k)
    labels = np.empty(n, dtype=np.int64)
    stacks = by_size(split_blocks(z, n if n <= EXACT else BLOCK))
    passes = min(PASSES, int(BUDGET // n)) if improve else 0
    offset = 0
    for size, idx in stacks.items():
        step = max(1, _CHUNK // size)
        for at in range(0, idx.shape[0], step):
            chunk = idx[at : at + step]
            found = mdav_blocks(z, chunk, k)
            labels[chunk.ravel()] = (found + offset).ravel()
            offset += chunk.size
    if passes:
        return refine(z, labels, k, passes, NEIGHBOURS * k)
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def within_sse(z: np.ndarray, labels: np.ndarray) -> float:
    """The within-group sum of squares of ``z`` for ``labels``."""
    return float(((z - group_means(z, labels)[labels]) ** 2).sum())


def group_means(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The mean of ``x`` (records x variables) in each group (groups x variables).

    A group whose sum is beyond the floats (values near 1e308) gets the sum of its values
    each divided by the group's size first, which stays within them.
    """
    count = np.bincount(labels).astype(np.float64)
    if not x.shape[1]:
        return np.zeros((count.size, 0))
    sums = [np.bincount(labels, weights=x[:, j], minlength=count.size) for j in range(x.shape[1])]
    means = np.column_stack(sums) / count[:, None]
    for j in np.flatnonzero(~np.isfinite(means).all(axis=0)):
        shared = np.bincount(labels, weights=x[:, j] / count[labels], minlength=count.size)
        means[:, j] = np.where(np.isfinite(means[:, j]), means[:, j], shared)
    return means

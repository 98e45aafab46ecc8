"""A space partition of records into blocks of nearly equal size (exact MDAV runs in each).

Exact MDAV is quadratic in the records. Over many records the file is first cut into blocks by
median splits (a k-d tree built over the whole file, each cut along the variable with the
largest spread in the part being cut, halves of equal size), until a block holds at most
``block`` records; groups are then formed inside each block. Blocks at the same depth differ in
size by at most one record, which lets MDAV run on all blocks of a size at once.
"""

from __future__ import annotations

import numpy as np


def depth_for(n: int, block: int) -> int:
    """The number of halvings that bring ``n`` records to at most ``block`` per block."""
    depth = 0
    while -(-n // (1 << depth)) > block:
        depth += 1
    return depth


def split_blocks(x: np.ndarray, block: int) -> list[np.ndarray]:
    """Index arrays of the blocks of ``x`` (records x variables), each ascending.

    Each part is cut at its median along its widest variable (range of values); the cut is a
    deterministic selection, so the blocks are a pure function of the data and its order.
    """
    parts = [np.arange(x.shape[0])]
    for _ in range(depth_for(x.shape[0], block)):
        nxt = []
        for idx in parts:
            values = x[idx]
            column = int(np.argmax(values.max(axis=0) - values.min(axis=0)))
            half = idx.size // 2
            order = np.argpartition(values[:, column], half)
            nxt.append(np.sort(idx[order[:half]]))
            nxt.append(np.sort(idx[order[half:]]))
        parts = nxt
    return parts


def by_size(parts: list[np.ndarray]) -> dict[int, np.ndarray]:
    """The blocks stacked by their size: {size: (blocks, size) index matrix}."""
    sizes: dict[int, list[np.ndarray]] = {}
    for idx in parts:
        sizes.setdefault(idx.size, []).append(idx)
    return {size: np.vstack(found) for size, found in sorted(sizes.items())}

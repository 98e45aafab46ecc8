"""MDAV (maximum distance to average vector), run on many blocks of equal size at once.

In each block, while at least 3k records are left: r is the record farthest from the mean of
the records left, s the record farthest from r; the k records nearest to r (r included) form a
group, then the k records nearest to s among the rest. With 2k to 3k - 1 records left, one group
of the k nearest to the record farthest from the mean, the rest form the last group; with
fewer than 2k, they form one group. Distances are Euclidean on the (standardised) values given.
Every block of a size takes the same branch, so one array operation serves all of them.
"""

from __future__ import annotations

import numpy as np


def mdav_blocks(x: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    """Group labels (0, 1, ... per block, offset by block) for blocks ``idx`` (blocks x size).

    Returns an array of the shape of ``idx``: the group of each record, numbered so that
    groups of different blocks never share a number (block b uses ``b * size`` upwards).
    """
    blocks, size = idx.shape
    labels = np.full((blocks, size), -1, dtype=np.int64)
    left = np.tile(np.arange(size), (blocks, 1))  # positions (within block) still ungrouped
    here = np.ascontiguousarray(np.moveaxis(x[idx], 2, 0), dtype=np.float32)  # var x block x left
    base = np.arange(blocks)[:, None] * size
    rows = np.arange(blocks)[:, None]
    group = 0
    while left.shape[1] >= 3 * k:
        r = np.argmax(_dist(here, here.mean(axis=2)), axis=1)
        dist_r = _dist(here, here[:, rows[:, 0], r])
        near_r = np.argpartition(dist_r, k - 1, axis=1)[:, :k]
        taken = np.zeros(left.shape, dtype=bool)
        np.put_along_axis(taken, near_r, True, axis=1)
        s = np.argmax(np.where(taken, -np.inf, dist_r), axis=1)
        dist_s = _dist(here, here[:, rows[:, 0], s])
        dist_s[taken] = np.inf
        near_s = np.argpartition(dist_s, k - 1, axis=1)[:, :k]
        for near in (near_r, near_s):
            labels[rows, np.take_along_axis(left, near, axis=1)] = base + group
            group += 1
        np.put_along_axis(taken, near_s, True, axis=1)
        left, here = _keep(left, here, ~taken)
    if left.shape[1] >= 2 * k:
        r = np.argmax(_dist(here, here.mean(axis=2)), axis=1)
        near_r = _nearest(_dist(here, here[:, rows[:, 0], r]), k)
        labels[rows, np.take_along_axis(left, near_r, axis=1)] = base + group
        taken = np.zeros(left.shape, dtype=bool)
        np.put_along_axis(taken, near_r, True, axis=1)
        left, here = _keep(left, here, ~taken)
        group += 1
    if left.shape[1]:
        labels[rows, left] = base + group
    return labels


def _keep(left: np.ndarray, here: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions and points still ungrouped (every block keeps as many)."""
    blocks = left.shape[0]
    return left[keep].reshape(blocks, -1), here[:, keep].reshape(here.shape[0], blocks, -1)


def _dist(here: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Squared distances of each block's points to its centre (blocks x points)."""
    out = np.zeros(here.shape[1:], dtype=here.dtype)
    for j in range(here.shape[0]):
        diff = here[j] - centre[j][:, None]
        out += diff * diff
    return out


def _nearest(dist: np.ndarray, k: int) -> np.ndarray:
    """Per block, the positions of the k smallest distances."""
    if k >= dist.shape[1]:
        return np.tile(np.arange(dist.shape[1]), (dist.shape[0], 1))
    return np.argpartition(dist, k - 1, axis=1)[:, :k]

"""Tables of three dimensions: rows x columns x layers, every margin, as one additive table.

A table with ``layers`` is a cube of (rows + 1) x (columns + 1) x (layers + 1) cells, the last
index of each axis being its margin: a cell (row, column, layer), its row and column totals
within the layer, the layer's grand total, and the Total layer of the same cells over every
layer. Every line of the cube along any axis adds up to its margin, so the protection and the
audit see all of them at once: a cell hidden in one layer cannot be recovered from the other
layers' figures or the Total layer.

A cube's own secondary suppression is the hypercube method (:func:`hypercube`): each primary
cell gets the cheapest box of 8 cells that protects it. A cube is not a network (a 2-D table
with margins is), and the mixed-integer program that protects a 2-D table ran into its 60 s time
limit on a cube of a few hundred cells. Where a cube is linked with other tables, the
primary cells still too narrow over the system get that program all the same; there a hidden
cell may move by ``REACH`` times the level (three-way tables have circuits with entries of 2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.tabulate.model import STATS
from pipeline.tabulate.secondary import TOLERANCE, Table

REACH = 2.0  # how far, in protection levels, a hidden cell of a cube may move in a deviation
KEYS = ["level", "row", "col", "layer"]


def cube(shape: tuple[int, int, int]) -> Table:
    """The additive groups of a cube whose last index on each axis is its margin (zeros)."""
    idx = np.arange(int(np.prod(shape))).reshape(shape)
    groups: list[tuple[list[int], int]] = []
    for axis in range(3):
        for line in np.moveaxis(idx, axis, -1).reshape(-1, shape[axis]):
            groups.append((line[:-1].tolist(), int(line[-1])))
    return Table(np.zeros(idx.size), groups)


def _level(row: object, col: object) -> str:
    if row is not None and col is not None:
        return "cell"
    if row is not None:
        return "row"
    return "col" if col is not None else "total"


def cube_layout(cells: pd.DataFrame) -> tuple[pd.DataFrame, Table, np.ndarray, tuple]:
    """Every cell and margin of the cube (missing ones are zero cells) and their places.

    Returns:
        The completed cells, the cube's additive table (zeros), each cell's place in it and
        the cube's shape.
    """
    axes = [
        sorted({v for v in cells[k] if v is not None and not pd.isna(v)}, key=str)
        for k in ("row", "col", "layer")
    ]
    shape = tuple(len(a) + 1 for a in axes)
    full = pd.DataFrame(
        [
            (_level(r, c), r, c, lay, (i * shape[1] + j) * shape[2] + k)
            for i, r in enumerate([*axes[0], None])
            for j, c in enumerate([*axes[1], None])
            for k, lay in enumerate([*axes[2], None])
        ],
        columns=[*KEYS, "place"],
    )
    held = cells.assign(**{k: cells[k].astype(object).where(cells[k].notna(), None) for k in KEYS})
    keyed = full.merge(held, on=KEYS, how="left")
    keyed = keyed.fillna({name: 0.0 for name in STATS})
    keyed = keyed.astype({k: object for k in KEYS})
    for k in KEYS[1:]:
        keyed[k] = keyed[k].where(keyed[k].notna(), None)
    keyed["units"] = keyed["units"].astype("int64")
    position = keyed.pop("place").to_numpy()
    return keyed, cube(shape), position, shape


def hypercube(
    shape: tuple[int, int, int],
    values: np.ndarray,
    primary: list[int],
    levels: list[tuple[float, float]],
    cost: np.ndarray,
) -> tuple[np.ndarray, list[int]]:
    """Hidden-cell mask of a cube: each primary cell protected by the cheapest box of 8 cells.

    The hypercube method (Repsilber's GHMITER, tau-Argus's "hypercube"): a primary cell and a
    partner cell differing from it on every axis span a box of 8 cells; moving them alternately
    up and down keeps every line of the cube additive (two cells of a line, both inner, move
    opposite ways; an inner cell and its margin move the same way). The box protects the
    primary cell when each cell that must move down can: the cells moving with the primary
    hold at least its level below, the cells moving against it at least its level above. Each
    primary cell, in order, gets the feasible box hiding the least value not hidden yet; the
    interval audit checks the whole pattern afterwards. One program over a cube's cells, as
    for a 2-D table, ran into its 60 s limit for four primary cells of a 351-cell cube.

    Returns:
        The mask, and the primary cells (their indices in ``primary``) that no box protects
        (small cells all around): the caller protects those with a program of their own.
    """
    cube_idx = np.arange(values.size).reshape(shape)
    hidden = np.zeros(values.size, dtype=bool)
    hidden[primary] = True
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    unboxed = []
    for i, (p, (up, down)) in enumerate(zip(primary, levels, strict=True)):
        at = np.unravel_index(p, shape)
        partner = [g.ravel() for g in grids]
        proper = np.all([partner[a] != at[a] for a in range(3)], axis=0)
        partner = [q[proper] for q in partner]
        total = np.zeros(partner[0].size)
        feasible = np.ones(partner[0].size, dtype=bool)
        for corner in np.ndindex(2, 2, 2):
            if corner == (0, 0, 0):
                continue  # the primary cell itself
            place = [partner[a] if corner[a] else np.full(partner[a].size, at[a]) for a in range(3)]
            cells = cube_idx[tuple(place)]
            same = np.ones(cells.size, dtype=bool)  # moves with the primary cell
            for a in range(3):
                if corner[a]:  # two inner cells of a line move opposite ways
                    inner = (partner[a] < shape[a] - 1) & (at[a] < shape[a] - 1)
                    same ^= inner
            need = np.where(same, down, up)
            feasible &= values[cells] + TOLERANCE >= need
            total += np.where(hidden[cells], 0.0, cost[cells])
        if not feasible.any():
            unboxed.append(i)
            continue
        best = int(np.argmin(np.where(feasible, total, np.inf)))
        for corner in np.ndindex(2, 2, 2):
            place = tuple(int(partner[a][best]) if corner[a] else int(at[a]) for a in range(3))
            hidden[cube_idx[place]] = True
    return hidden, unboxed

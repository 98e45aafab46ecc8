"""Secondary suppression and suppression intervals, by linear programming (scipy / HiGHS).

A table is a list of cells and additive groups ``total = sum(members)`` (rows, columns and the
grand total of a 2-D table with margins). Published cells are known to an attacker; hidden cells
are only known to be >= 0 and to satisfy every group.

* :func:`intervals` gives, for hidden cells, the range ``[lo, hi]`` an attacker can derive: two
  LPs per cell over the published table (the audit of what was achieved).
* :func:`protect` chooses extra cells to hide so that every primary cell's range is at least
  its required width, hiding the least total value: a mixed-integer program in the classic
  form (Fischetti and Salazar): one binary per cell (hidden or not) and, for each primary cell
  and each direction, a deviation vector that keeps every group additive, moves the primary
  cell by its protection level and touches only hidden cells (never below zero).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import lil_matrix

TOLERANCE = 1e-6  # of an interval against a protection level


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """Discard what is written to the process's standard output meanwhile (file descriptor 1).

    HiGHS, scipy's solver, can print its own diagnostics from C++ straight to the standard
    output (e.g. ``HighsMipSolverData::transformNewIntegerFeasibleSolution``), past
    ``sys.stdout``; the tool's output is its own messages only.
    """
    if sys.stdout is not None:
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no standard output at all: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


@dataclass(frozen=True)
class Table:
    """Cell values and additive groups ``(members, total)`` over cell indices."""

    values: np.ndarray
    groups: Sequence[tuple[Sequence[int], int]]

    def equations(self) -> np.ndarray:
        """One row per group: +1 for members, -1 for the total (A x = 0)."""
        a = np.zeros((len(self.groups), len(self.values)))
        for g, (members, total) in enumerate(self.groups):
            a[g, list(members)] = 1.0
            a[g, total] = -1.0
        return a


class Unprotectable(ValueError):
    """No suppression pattern protects the primary cells (the message names no value)."""


def grid(values: np.ndarray) -> Table:
    """A 2-D table whose last row and column are the margins (grand total bottom right)."""
    rows, cols = values.shape
    idx = np.arange(rows * cols).reshape(rows, cols)
    groups: list[tuple[list[int], int]] = []
    for i in range(rows - 1):
        groups.append((idx[i, :-1].tolist(), int(idx[i, -1])))
    for j in range(cols - 1):
        groups.append((idx[:-1, j].tolist(), int(idx[-1, j])))
    groups.append((idx[:-1, -1].tolist(), int(idx[-1, -1])))
    groups.append((idx[-1, :-1].tolist(), int(idx[-1, -1])))
    return Table(values.astype(float).ravel(), groups)


def intervals(table: Table, hidden: np.ndarray, cells: Sequence[int]) -> dict[int, tuple]:
    """The attacker's ``(lo, hi)`` for each of ``cells`` (hidden), ``hi = inf`` if unbounded."""
    a = table.equations()
    free = np.flatnonzero(hidden)
    known = ~hidden
    rhs = -(a[:, known] @ table.values[known])
    a_free = a[:, free]
    keep = np.any(a_free != 0, axis=1)
    out: dict[int, tuple] = {}
    for cell in cells:
        k = int(np.flatnonzero(free == cell)[0])
        c = np.zeros(len(free))
        c[k] = 1.0
        bounds = [(0, None)] * len(free)
        with silenced():
            low = linprog(c, A_eq=a_free[keep], b_eq=rhs[keep], bounds=bounds, method="highs")
            high = linprog(-c, A_eq=a_free[keep], b_eq=rhs[keep], bounds=bounds, method="highs")
        lo = float(low.x[k]) if low.status == 0 else 0.0
        hi = float(high.x[k]) if high.status == 0 else float("inf")
        out[cell] = (lo, hi)
    return out


def too_narrow(bound: tuple[float, float], value: float, level: tuple[float, float]) -> bool:
    """True when an interval does not reach a primary cell's level above or below its value."""
    up, down = level
    return bound[1] + TOLERANCE < value + up or bound[0] - TOLERANCE > value - down


def protect(
    table: Table,
    primary: Sequence[int],
    widths: Sequence[float],
    cost: np.ndarray | None = None,
    time_limit: float = 60.0,
    levels: Sequence[tuple[float, float]] | None = None,
    latent: Sequence[int] = (),
    gap: float | None = None,
    reach: float = 1.0,
) -> np.ndarray:
    """Hidden-cell mask: the primary cells plus the cheapest set protecting them.

    Args:
        table: The table.
        primary: Cells that must be hidden (primary suppressions).
        widths: Required interval width of each primary cell.
        cost: Cost of hiding each cell (default: its value + 1, i.e. the least total value,
            then the fewest cells).
        time_limit: Seconds for the solver.
        levels: Each primary cell's protection (above, below) its value; by default half its
            width each way (below never past zero, the rest above).
        latent: Cells that are never published (the finest cells of linked tables): always
            hidden at no cost, free to move up and down to zero.
        gap: The relative gap to the cheapest pattern the solver may stop at (None: HiGHS's
            default, 1e-4); every pattern it returns protects the primary cells.
        reach: How far a hidden cell may move in a deviation, in multiples of the primary
            cell's level (1 for tables of one or two dimensions; see below).

    Raises:
        ValueError: no suppression pattern protects the primary cells.

    A hidden cell's deviation is bounded by the primary cell's width ``w`` both ways (down also
    by its value), not by a big-M of the table's values: in a table of rows, columns and
    margins (a network) a deviation that moves the primary cell by at most ``w`` is a sum of
    cycles through it, so no cell needs to move further. A big-M of the values (weighted
    counts in the millions against a width of 10) let the solver take a hiding variable of
    1e-6 as 0 within its integrality tolerance and protect nothing; the audit of
    :func:`intervals` caught it. Tables of three dimensions are not networks: their deviations
    may need a cell to move by twice the level, so they are given ``reach`` 2
    (:mod:`pipeline.tabulate.cube`); any pattern found is audited by :func:`intervals` all the
    same.
    """
    n = len(table.values)
    x = table.values
    hidden = np.zeros(n, dtype=bool)
    hidden[list(primary)] = True
    hidden[list(latent)] = True
    if not len(primary):
        return hidden
    unseen = np.zeros(n, dtype=bool)
    unseen[list(latent)] = True
    cost = x + 1.0 if cost is None else np.asarray(cost, dtype=float)
    a = table.equations()
    if levels is None:
        levels = [
            (w - min(w / 2, x[p]), min(w / 2, x[p])) for p, w in zip(primary, widths, strict=True)
        ]
    blocks = [
        (p, up if d > 0 else down, d)
        for p, (up, down) in zip(primary, levels, strict=True)
        for d in (1, -1)
    ]
    nvar = n + len(blocks) * n
    rows = len(blocks) * (len(a) + 1 + 2 * n) + len(primary) + len(latent)
    m = lil_matrix((rows, nvar))
    lo = np.zeros(rows)
    hi = np.zeros(rows)
    r = 0
    for b, (p, w, d) in enumerate(blocks):
        off = n + b * n
        for g in range(len(a)):  # the deviation keeps every group additive
            for cell in np.flatnonzero(a[g]):
                m[r, off + cell] = a[g, cell]
            r += 1
        m[r, off + p] = 1.0  # the primary cell moves by its level, up then down
        lo[r] = hi[r] = w * d
        r += 1
        for cell in range(n):  # only hidden cells move, never below zero
            m[r, off + cell] = 1.0
            if unseen[cell]:  # never published: down to zero, up freely (no binary bound)
                lo[r], hi[r] = -x[cell], np.inf
                r += 2
                continue
            m[r, cell] = min(x[cell], reach * w)  # down: to 0 at most, and by the reach at most
            lo[r], hi[r] = 0.0, np.inf
            r += 1
            m[r, off + cell] = 1.0
            m[r, cell] = -reach * w  # the cell moves up by at most the reach (below)
            lo[r], hi[r] = -np.inf, 0.0
            r += 1
    for p in [*primary, *latent]:
        m[r, p] = 1.0
        lo[r] = hi[r] = 1.0
        r += 1
    objective = np.concatenate([cost, np.zeros(nvar - n)])
    integrality = np.concatenate([np.ones(n), np.zeros(nvar - n)])
    bounds = Bounds(
        np.concatenate([np.zeros(n), np.full(nvar - n, -np.inf)]),
        np.concatenate([np.ones(n), np.full(nvar - n, np.inf)]),
    )
    with silenced():
        result = milp(
            objective,
            constraints=LinearConstraint(m.tocsr(), lo, hi),
            integrality=integrality,
            bounds=bounds,
            options={"time_limit": time_limit, "disp": False}
            | ({} if gap is None else {"mip_rel_gap": gap}),
        )
    if result.x is None:
        raise Unprotectable("no suppression pattern protects the primary cells")
    return result.x[:n] > 0.5

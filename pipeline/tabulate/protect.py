"""Apply the output-checking rules to a computed table: primary and secondary suppression.

Primary rules (each cell and margin): ``threshold`` (a non-zero cell from fewer units than the
threshold), ``dominance_n_k`` (magnitude tables: the n largest units hold more than k% of the
cell), ``p_percent_p[_q]`` (when enabled, magnitude tables: the total less the two largest
contributions is below p% - or p/q - of the largest), ``concentration`` (when enabled: an inner
cell holds more than the given share of its row or column total). Secondary suppression then
hides the cheapest further cells so that every primary cell's interval, as an attacker derives
it from the published table by linear programming, reaches its protection levels above and
below the value: half the required width each way (``min_interval_units`` for count tables,
``min_interval_share`` x the cell value for magnitude tables; below, never past zero), and for a
p%-sensitive cell at least the rule's own protection ``(p x1 - q (X - x1 - x2)) / 100`` each way
(computed on the additive sums; mean and share tables hide the same cells).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.tabulate.cube import REACH, cube_layout, hypercube
from pipeline.tabulate.model import Rules, TableSpec
from pipeline.tabulate.secondary import TOLERANCE, Table, grid, intervals, protect


def primary_rules(cells: pd.DataFrame, spec: TableSpec, rules: Rules) -> list[list[str]]:
    """The rules each cell fails (empty list: passes)."""
    failed: list[list[str]] = [[] for _ in range(len(cells))]
    totals = _totals(cells)
    for i, cell in enumerate(cells.itertuples(index=False)):
        if 0 < cell.units < rules.threshold:
            failed[i].append("threshold")
        if spec.magnitude and cell.absum > 0:
            for d in rules.dominance:
                top = cell.top1 + (cell.top2 if d.n >= 2 else 0.0)
                if top > d.k / 100 * cell.absum + TOLERANCE:
                    failed[i].append(f"dominance_{d.n}_{d.k:g}")
            rule = rules.p_percent
            if rule is not None and rule.protection(cell.top1, cell.top2, cell.absum) > TOLERANCE:
                failed[i].append(rule.name)
        if rules.concentration and cell.level == "cell" and spec.columns is not None:
            row_total = totals[("row", cell.row, cell.layer)]
            col_total = totals[("col", cell.col, cell.layer)]
            share = rules.concentration / 100
            if (row_total > 0 and cell.value > share * row_total + TOLERANCE) or (
                col_total > 0 and cell.value > share * col_total + TOLERANCE
            ):
                failed[i].append("concentration")
    return failed


def _totals(cells: pd.DataFrame) -> dict[tuple, float]:
    """Each row and column total by (level, category, layer): a cell's, within its layer."""
    out = {}
    for cell in cells.itertuples(index=False):
        if cell.level == "row":
            out[("row", cell.row, cell.layer)] = cell.value
        elif cell.level == "col":
            out[("col", cell.col, cell.layer)] = cell.value
    return out


@dataclass(frozen=True)
class Layout:
    """Where each cell of ``cells`` sits in the additive table."""

    table: Table
    position: np.ndarray  # index into table.values for each row of ``cells``
    shape: tuple[int, int, int] | None = None  # a cube's (None: a table of one or two dimensions)

    @property
    def reach(self) -> float:
        """How far a hidden cell may move in a deviation, in protection levels (a cube: 2)."""
        return REACH if self.shape is not None else 1.0


def layout(cells: pd.DataFrame, spec: TableSpec) -> tuple[pd.DataFrame, Layout]:
    """Complete the cells (missing combinations are zero cells) and lay them out."""
    if spec.layers is not None:
        keyed, table, position, shape = cube_layout(cells)
        values = np.zeros(len(table.values))
        values[position] = keyed["value"].to_numpy(dtype=float)
        return keyed, Layout(Table(values, table.groups), position, shape)
    rows = sorted(cells.loc[cells.level == "row", "row"].tolist(), key=str)
    if spec.columns is None:
        values = np.zeros(len(rows) + 1)
        pos = {("row", r): i for i, r in enumerate(rows)} | {("total", None): len(rows)}
        table = Table(values, [(list(range(len(rows))), len(rows))])
        keys = [
            (lv, r) if lv == "row" else ("total", None)
            for lv, r in zip(cells.level, cells.row, strict=True)
        ]
        keyed = cells.assign(key=keys)
        keyed = keyed[keyed.level != "cell"]
    else:
        cols = sorted(cells.loc[cells.level == "col", "col"].tolist(), key=str)
        full = pd.MultiIndex.from_product([rows, cols], names=["row", "col"]).to_frame(index=False)
        inner = full.merge(cells[cells.level == "cell"], on=["row", "col"], how="left")
        inner["level"], inner["layer"] = "cell", None
        inner = inner.fillna(
            {"units": 0, "value": 0.0, "weight": 0.0, "absum": 0.0, "top1": 0.0, "top2": 0.0}
        )
        keyed = pd.concat([inner, cells[cells.level != "cell"]], ignore_index=True)
        width = len(cols) + 1
        pos = {
            ("cell", r, c): i * width + j for i, r in enumerate(rows) for j, c in enumerate(cols)
        }
        pos |= {("row", r, None): i * width + len(cols) for i, r in enumerate(rows)}
        pos |= {("col", None, c): len(rows) * width + j for j, c in enumerate(cols)}
        pos[("total", None, None)] = len(rows) * width + len(cols)
        table = grid(np.zeros((len(rows) + 1, width)))
        keyed["key"] = [
            (lv, r if lv in ("cell", "row") else None, c if lv in ("cell", "col") else None)
            for lv, r, c in zip(keyed.level, keyed.row, keyed.col, strict=True)
        ]
    keyed = keyed.reset_index(drop=True)
    keyed["units"] = keyed["units"].astype("int64")
    position = np.array([pos[k] for k in keyed["key"]])
    values = np.zeros(len(table.values))
    values[position] = keyed["value"].to_numpy(dtype=float)
    return keyed.drop(columns="key"), Layout(Table(values, table.groups), position)


@dataclass(frozen=True)
class Judged:
    """A table laid out with its primary cells and their protection levels."""

    cells: pd.DataFrame
    lay: Layout
    failed: list[list[str]]
    up: np.ndarray
    down: np.ndarray

    @property
    def primary(self) -> list[int]:
        """Rows of ``cells`` that fail a primary rule."""
        return [i for i, f in enumerate(self.failed) if f]


def judge(cells: pd.DataFrame, spec: TableSpec, rules: Rules) -> Judged:
    """Lay the table out and apply the primary rules (no suppression pattern yet)."""
    cells, lay = layout(cells, spec)
    failed = primary_rules(cells, spec, rules)
    up, down = protection_levels(cells, spec, rules, lay.table.values[lay.position])
    return Judged(cells, lay, failed, up, down)


def suppress(cells: pd.DataFrame, spec: TableSpec, rules: Rules) -> pd.DataFrame:
    """Apply the rules: the cells with their verdicts.

    Adds ``rules_failed``, ``suppression`` (primary / secondary / none), the ``required``
    interval width of primary cells and the achieved interval ``lo`` / ``hi`` of hidden cells.

    Raises:
        ValueError: the primary cells cannot be protected.
    """
    judged = judge(cells, spec, rules)
    lay = judged.lay
    hidden = own_pattern(judged)
    hidden_rows = [i for i in range(len(judged.cells)) if hidden[lay.position[i]]]
    bounds = intervals(lay.table, hidden, [int(lay.position[i]) for i in hidden_rows])
    return verdicts(judged, hidden[lay.position], bounds, lay.position)


def own_pattern(judged: Judged) -> np.ndarray:
    """The cheapest cells to hide in the table alone (a mask over its laid-out cells).

    Raises:
        Unprotectable: no suppression pattern protects the primary cells.
    """
    lay, up, down, rows = judged.lay, judged.up, judged.down, judged.primary
    places = [int(lay.position[i]) for i in rows]
    levels = [(float(up[i]), float(down[i])) for i in rows]
    cost = np.abs(lay.table.values) + 1.0
    if lay.shape is not None:  # a cube: boxes, then a program for what no box protects
        hidden, left = hypercube(lay.shape, lay.table.values, places, levels, cost)
        if not left:
            return hidden
        return protect(
            lay.table,
            [places[i] for i in left],
            [sum(levels[i]) for i in left],
            cost=cost,
            levels=[levels[i] for i in left],
            latent=list(np.flatnonzero(hidden)),
            reach=lay.reach,
        )
    return protect(lay.table, places, [sum(v) for v in levels], cost=cost, levels=levels)


def verdicts(
    judged: Judged, hidden: np.ndarray, bounds: dict[int, tuple], position: np.ndarray
) -> pd.DataFrame:
    """The cells with their verdicts: ``hidden`` per row of cells, ``bounds`` by ``position``."""
    cells, failed, up, down = judged.cells, judged.failed, judged.up, judged.down
    hidden_rows = [i for i in range(len(cells)) if hidden[i]]
    out = cells.copy()
    out["rules_failed"] = failed
    out["suppression"] = [
        "primary" if failed[i] else "secondary" if hidden[i] else "none" for i in range(len(cells))
    ]
    out["required"] = [float(up[i] + down[i]) if failed[i] else None for i in range(len(cells))]
    out["required_up"] = [float(up[i]) if failed[i] else None for i in range(len(cells))]
    out["required_down"] = [float(down[i]) if failed[i] else None for i in range(len(cells))]
    out["lo"] = [
        bounds[int(position[i])][0] if i in hidden_rows else None for i in range(len(cells))
    ]
    out["hi"] = [
        bounds[int(position[i])][1] if i in hidden_rows else None for i in range(len(cells))
    ]
    return out


def protection_levels(
    cells: pd.DataFrame, spec: TableSpec, rules: Rules, additive: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's protection above and below its additive value, were it a primary cell.

    Half the required width each way (below: never past zero, the rest above); for a cell
    the p% rule finds sensitive, at least the rule's protection each way (below: to zero).
    """
    if spec.magnitude:
        width = rules.min_interval_share * np.abs(cells["value"].to_numpy(dtype=float))
    else:
        width = np.full(len(cells), float(rules.min_interval_units))
    floor = np.maximum(additive, 0.0)
    down = np.minimum(width / 2, floor)
    up = width - down
    rule = rules.p_percent
    if spec.magnitude and rule is not None:
        top1, top2 = cells["top1"].to_numpy(float), cells["top2"].to_numpy(float)
        needed = np.maximum(rule.protection(top1, top2, cells["absum"].to_numpy(float)), 0.0)
        up, down = np.maximum(up, needed), np.maximum(down, np.minimum(needed, floor))
    return up, down


def unprotected(checked: pd.DataFrame) -> list[str]:
    """Primary cells whose achieved interval is narrower than required (should be none).

    Cells are named by their position in the check report and the interval by its share of
    the required width: never a category label or a value (a gate report is a message too).
    """
    bad = []
    primary = checked[checked.suppression == "primary"]
    for position, cell in zip(primary.index, primary.itertuples(index=False), strict=True):
        if cell.lo is None or pd.isna(cell.lo):  # left out of the pattern the audit took
            bad.append(f"{cell.level} cell #{position}: not hidden in the suppression pattern")
            continue
        width = cell.hi - cell.lo
        if width + TOLERANCE < cell.required:
            share = width / cell.required if cell.required else 0.0
            bad.append(f"{cell.level} cell #{position}: interval {share:.0%} of the required width")
        elif cell.hi + TOLERANCE < cell.value + cell.required_up or (
            cell.lo - TOLERANCE > cell.value - cell.required_down
        ):
            bad.append(f"{cell.level} cell #{position}: interval not wide enough on one side")
    return bad

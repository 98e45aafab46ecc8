"""Linked tables, protected as one system: no hidden cell recoverable from all tables together.

Tables of one recipe that count the same records (count tables with the same weight) or add up
the same variable (sum, mean and share tables with the same variable and weight), without a
``unit`` (a unit counted once per cell is not a sum of finer cells), are *linked*: a region's
total in one is the sum of its prefectures' totals in another, and two tables of the same
population share their grand total. Published separately, their cells can be combined to narrow
a cell hidden in one of them. A mean or a share table is protected on its sums (as alone): a
mean times a cell's weighted count from a count table, or a share times the grand total, gives
the sum back, so its sums are taken as known wherever its cells are published.

The system's unknowns are the *finest cells*: every combination of all the linked tables'
categories that the records hold (one group-by over the records in the tables' pass). Each
cell and margin of each table is the sum of the finest cells that fall in it. An attacker knows
the published cells and that the finest cells are at least zero; the finest cells that hold no
record are taken as known to be empty, which only narrows the attacker's intervals (the audit
errs on the side of protection). Each table first hides what it would alone; the primary cells
whose interval over the whole system is still too narrow then get one mixed-integer program
over the system (the finest cells are never published: always hidden at no cost). Each hidden
cell's interval is two linear programs over the whole system: what the review shows and the
gate audits.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask.dataframe as dd
import numpy as np
import pandas as pd

from pipeline.core.errors import GateError, Problem
from pipeline.tabulate.compute import V, assemble_cells, check_finite
from pipeline.tabulate.model import Rules, TableSpec
from pipeline.tabulate.protect import Judged, judge, own_pattern, verdicts
from pipeline.tabulate.secondary import Table, Unprotectable, intervals, protect, too_narrow

VALUE = "__value"
GAP = 0.05  # the joint pattern may cost 5% more than the cheapest (seconds, not minutes)
MAX_FINEST = 5_000  # finest cells of one system (its program grows with them)


def families(specs: Sequence[TableSpec]) -> list[list[TableSpec]]:
    """The groups of two or more linked tables (recipe order)."""
    groups: dict[tuple, list[TableSpec]] = {}
    for spec in specs:
        if spec.unit:
            continue
        key = (spec.magnitude, spec.variable, spec.weight)  # a mean or share: its sums
        groups.setdefault(key, []).append(spec)
    return [group for group in groups.values() if len(group) > 1]


def _axes(spec: TableSpec) -> list[str]:
    return [v.column for v in spec.axes]


def finest_plan(prepared: dict[str, dd.DataFrame], family: list[TableSpec]) -> dd.DataFrame:
    """The lazy group-by of the records over every category of the family's tables."""
    first = prepared[family[0].name]
    joint = first[[V]].rename(columns={V: VALUE})
    names = []
    for i, spec in enumerate(family):
        for j, column in enumerate(_axes(spec)):
            name = f"t{i}_{j}"
            joint = joint.assign(**{name: prepared[spec.name][column]})
            names.append(name)
    return joint.dropna(subset=names).groupby(names, dropna=False)[VALUE].sum()


def suppress_family(
    cells: dict[str, pd.DataFrame], family: list[TableSpec], rules: Rules, finest: pd.Series
) -> dict[str, pd.DataFrame]:
    """Protect the family's tables together; each table's cells with verdicts (system intervals).

    Raises:
        Unprotectable: no suppression pattern protects the primary cells of the system.
        ValueError: more finest cells than :data:`MAX_FINEST`.
    """
    judged = {s.name: judge(cells[s.name], s, rules) for s in family}
    table, offsets = _system(judged, family, finest)
    try:
        hidden = _together(judged, family, table, offsets)
    except Unprotectable:
        raise Unprotectable(f"no suppression pattern protects {_primaries(judged)}") from None
    shown = [c for c in np.flatnonzero(hidden) if c < offsets["__finest"]]
    bounds = intervals(table, hidden, shown)
    out = {}
    for spec in family:
        j = judged[spec.name]
        place = offsets[spec.name] + j.lay.position
        out[spec.name] = verdicts(j, hidden[place], bounds, place)
    return out


def _together(
    judged: dict[str, Judged], family: list[TableSpec], table: Table, offsets: dict[str, int]
) -> np.ndarray:
    """The system's hidden cells: each table's own pattern, widened where the others leak.

    Each table first hides what it would alone. The system's intervals of its primary cells are
    then taken over all the tables; only the primary cells still too narrow get a program of
    their own, with every cell hidden so far kept hidden (hiding more never narrows an
    interval, so the other primary cells stay protected). Tables that do not leak into each
    other keep the patterns they would have alone.
    """
    start = offsets["__finest"]
    hidden = np.zeros(len(table.values), dtype=bool)
    hidden[start:] = True  # the finest cells are never published
    primary = []  # (system place, up, down)
    for spec in family:
        j = judged[spec.name]
        hidden[offsets[spec.name] : offsets[spec.name] + len(j.lay.table.values)] = own_pattern(j)
        for i in j.primary:
            primary.append((offsets[spec.name] + int(j.lay.position[i]), j.up[i], j.down[i]))
    bounds = intervals(table, hidden, [p for p, _, _ in primary])
    values = table.values
    short = [
        (p, up, down) for p, up, down in primary if too_narrow(bounds[p], values[p], (up, down))
    ]
    if not short:
        return hidden
    cost = np.concatenate([np.abs(values[:start]) + 1.0, np.zeros(len(values) - start)])
    return protect(
        table,
        [p for p, _, _ in short],
        [float(up + down) for _, up, down in short],
        cost=cost,
        levels=[(float(up), float(down)) for _, up, down in short],
        latent=list(np.flatnonzero(hidden)),
        gap=GAP,
        reach=max(judged[s.name].lay.reach for s in family),
    )


def _primaries(judged: dict[str, Judged]) -> str:
    """The primary cells of each table, by level and count (never a label or a value)."""
    parts = []
    for name, j in judged.items():
        levels = pd.Series([j.cells.level.iloc[i] for i in j.primary]).value_counts()
        said = ", ".join(f"{n} {level}" for level, n in levels.items())
        parts.append(f"{name} ({said or 'none'})")
    return "the primary cells of " + "; ".join(parts)


def _system(
    judged: dict[str, Judged], family: list[TableSpec], finest: pd.Series
) -> tuple[Table, dict[str, int]]:
    """Every table's cells, then the finest cells; each cell the sum of its finest cells."""
    if len(finest) > MAX_FINEST:
        raise ValueError(f"{len(finest)} finest cells, at most {MAX_FINEST}")
    offsets, values, groups, start = {}, [], [], 0
    for spec in family:
        j = judged[spec.name]
        offsets[spec.name] = start
        values.append(j.lay.table.values)
        start += len(j.lay.table.values)
    offsets["__finest"] = start
    combos = finest.index.to_frame(index=False)
    members: dict[int, list[int]] = {}
    for i, spec in enumerate(family):
        lookup = _positions(judged[spec.name], offsets[spec.name])
        dims = len(spec.axes)
        for b, combo in enumerate(combos.itertuples(index=False)):
            r = getattr(combo, f"t{i}_0")
            c = getattr(combo, f"t{i}_1") if dims > 1 else None
            layers = [getattr(combo, f"t{i}_2"), None] if dims > 2 else [None]
            for layer in layers:  # a cube's cell is in its layer and in the Total layer
                keys = [("row", r, None, layer), ("total", None, None, layer)]
                if dims > 1:
                    keys += [("cell", r, c, layer), ("col", None, c, layer)]
                for key in keys:
                    members.setdefault(lookup[key], []).append(start + b)
    groups = [(finer, cell) for cell, finer in members.items()]
    values.append(finest.to_numpy(dtype=float))
    return Table(np.concatenate(values), groups), offsets


def _positions(judged: Judged, offset: int) -> dict[tuple, int]:
    """Each cell's (level, row, col, layer) key and its place in the system."""
    cells = judged.cells
    out = {}
    rows = zip(cells.level, cells.row, cells.col, cells.layer, strict=True)
    for i, (level, row, col, layer) in enumerate(rows):
        key = (
            level,
            row if level in ("cell", "row") else None,
            col if level in ("cell", "col") else None,
            None if layer is None or pd.isna(layer) else layer,
        )
        out[key] = offset + int(judged.lay.position[i])
    return out


def protect_linked(computed: dict, linked: list[list[TableSpec]], rules: Rules) -> dict:
    """The linked tables' cells with their verdicts, protected family by family.

    Raises:
        InputDataError: a sum overflows.
        GateError: a family's primary cells cannot be protected together (its tables named).
    """
    out: dict[str, pd.DataFrame] = {}
    for family, finest in zip(linked, computed["__finest"], strict=True):
        cells = {s.name: assemble_cells(computed[s.name], s) for s in family}
        for spec in family:
            check_finite(cells[spec.name], spec)
        try:
            out.update(suppress_family(cells, family, rules, finest))
        except ValueError as exc:  # Unprotectable, or a system too large (no value in it)
            names = ", ".join(s.name for s in family)
            raise GateError(
                [
                    Problem(
                        f"the linked tables {names} cannot be protected together: {exc}",
                        code="unprotectable",
                    )
                ]
            ) from None
    return out


def system_widths(
    cells: dict[str, pd.DataFrame],
    family: list[TableSpec],
    rules: Rules,
    checked: dict[str, pd.DataFrame],
    finest: pd.Series,
) -> list[float]:
    """Each primary cell's interval width over all the family's published tables.

    ``checked``: each table's verdicts (however they were taken: alone or together); this is
    the attack on them with every table at hand.
    """
    judged = {s.name: judge(cells[s.name], s, rules) for s in family}
    table, offsets = _system(judged, family, finest)
    hidden = np.zeros(len(table.values), dtype=bool)
    hidden[offsets["__finest"] :] = True
    primary = []
    for spec in family:
        j = judged[spec.name]
        for i, kind in enumerate(checked[spec.name]["suppression"]):
            place = offsets[spec.name] + int(j.lay.position[i])
            hidden[place] = kind != "none"
            primary += [place] if kind == "primary" else []
    bounds = intervals(table, hidden, primary)
    return [bounds[p][1] - bounds[p][0] for p in primary]

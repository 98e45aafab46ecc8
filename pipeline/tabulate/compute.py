"""Compute a table's cells and margins with dask over the whole file.

For every cell, row total, column total and the grand total it gives the number of units, the
sum of their contributions, the sum of weights and the two largest absolute contributions (for
dominance). With a ``unit`` column, a unit's records are added up first (per cell and per
margin), so a household or an enterprise counts once.
"""

from __future__ import annotations

from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd

from pipeline.core.errors import InputDataError, Problem
from pipeline.engine.apply import PendingChecks
from pipeline.recipe.models import ColumnsSpec
from pipeline.steps.recode import recode
from pipeline.steps.registry import StepContext
from pipeline.tabulate.model import NOT_STATED, STATS, TableSpec

V, W, A = "__v", "__w", "__a"  # contribution, weight, |contribution|
LEVELS = ("cell", "row", "col", "total")


def prepare(
    ddf: dd.DataFrame,
    spec: TableSpec,
    base_dir: Path,
    checks: PendingChecks,
    location: str = "",
) -> dd.DataFrame:
    """The table's classifying columns (recoded) with contribution and weight columns.

    The recodes' whole-file checks (values outside a hierarchy, bands or map) are added to
    ``checks``; the caller settles them in its pass over the data (``PendingChecks.settle``), so
    with ``on_unknown: error`` an unmapped value stops the run instead of dropping records.
    """
    frame = ddf[list(dict.fromkeys(spec.columns_used()))]
    for axis, var in (("rows", spec.rows), ("columns", spec.columns), ("layers", spec.layers)):
        params = var.recode_params(base_dir) if var else None
        if params is not None:
            where = f"{location or 'table ' + spec.name}.{axis}.recode".lstrip(".")
            ctx = StepContext(
                seed=0,
                index=0,
                name="recode",
                columns=ColumnsSpec(),
                base_dir=base_dir,
                location=where,
            )
            effect = recode(frame, params, ctx)
            checks.add(effect.checks, effect.facts)
            frame = effect.frame
    for var in spec.axes:
        if var.missing == "category":  # "not stated": a cell like any other
            frame = frame.assign(**{var.column: frame[var.column].astype("string")})
            frame = frame.assign(**{var.column: frame[var.column].fillna(NOT_STATED)})
    weight = frame[spec.weight].astype("float64") if spec.weight else 1.0
    value = frame[spec.variable].astype("float64") if spec.variable else 1.0
    frame = frame.assign(**{W: weight}) if spec.weight else frame.assign(**{W: 1.0})
    contribution = value * frame[W]
    if spec.variable:  # a record without a value weighs nothing in a mean or a share
        frame = frame.assign(**{W: frame[W].where(frame[spec.variable].notnull(), 0.0)})
    frame = frame.assign(**{V: contribution})
    return frame.assign(**{A: frame[V].abs()})


def _top2(pdf: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    ordered = pdf.sort_values(A, ascending=False, kind="stable")
    top = ordered.groupby(keys, sort=False).head(2) if keys else ordered.head(2)
    return top[[*keys, A]]


def _level(frame: dd.DataFrame, keys: list[str], unit: str | None) -> tuple:
    """Lazy (stats, top-2 candidates) of one level (cells, a margin or the total)."""
    if unit:  # a unit's records are one contribution
        frame = frame.groupby([*keys, unit], dropna=False).agg({V: "sum", W: "sum", A: "sum"})
        frame = frame.reset_index()
        frame = frame.assign(**{A: frame[V].abs()})
    if keys:
        stats = frame.groupby(keys, dropna=False).agg({V: ["count", "sum"], W: "sum", A: "sum"})
    else:
        stats = [frame[V].count(), frame[V].sum(), frame[W].sum(), frame[A].sum()]
    top = frame.map_partitions(_top2, keys, meta=frame._meta[[*keys, A]])
    return stats, top


def _levels(spec: TableSpec) -> dict[str, list[str]]:
    """The group-by keys of each level; ``LEVEL@`` is that level within each layer."""
    r = spec.rows.column
    c = spec.columns.column if spec.columns else None
    plans = {"cell": [r, c] if c else [r], "row": [r], "total": []}
    if c:
        plans["col"] = [c]
    if spec.layers is not None:
        layer = spec.layers.column
        plans |= {f"{level}@": [*keys, layer] for level, keys in list(plans.items())}
    return plans


def plan_cells(frame: dd.DataFrame, spec: TableSpec) -> dict:
    """The lazy aggregates of every level (compute several tables' plans in one pass).

    Records whose row or column category is missing cannot be placed in a cell: they are
    counted (``unclassified``) and the run stops when there are any (see ``Variable.missing``).
    """
    keys = [v.column for v in spec.axes]
    placed = frame.dropna(subset=keys)
    plan: dict = {level: _level(placed, k, spec.unit) for level, k in _levels(spec).items()}
    plan["unclassified"] = frame[keys].isna().any(axis=1).sum()
    return plan


def assemble_cells(computed: dict, spec: TableSpec) -> pd.DataFrame:
    """Every cell and margin: level, row, col, layer, units, value, weight, absum, top1, top2.

    ``layer`` is the layer's category in a table of three dimensions, None in its Total layer
    (and in a table of one or two).
    """
    r = spec.rows.column
    c = spec.columns.column if spec.columns else None
    lay = spec.layers.column if spec.layers else None
    parts = []
    for plan, keys in _levels(spec).items():
        level = plan.rstrip("@")
        stats, top = computed[plan]
        if keys:
            stats.columns = ["units", "value", "weight", "absum"]
            stats = stats.reset_index()
        else:
            stats = pd.DataFrame([stats], columns=["units", "value", "weight", "absum"])
        best = _best_two(top, keys)
        table = stats.merge(best, on=keys, how="left") if keys else pd.concat([stats, best], axis=1)
        table["level"] = level
        table["row"] = table[r] if r in keys else None
        table["col"] = table[c] if c and c in keys else None
        table["layer"] = table[lay] if lay and lay in keys else None
        parts.append(table[["level", "row", "col", "layer", *STATS]])
    out = pd.concat(parts, ignore_index=True)
    out[["top1", "top2"]] = out[["top1", "top2"]].fillna(0.0)
    out["units"] = out["units"].astype("int64")
    return out


def _best_two(top: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    ordered = top.sort_values(A, ascending=False, kind="stable")
    if not keys:
        values = ordered[A].to_numpy()[:2]
        values = np.pad(values, (0, 2 - len(values)))
        return pd.DataFrame({"top1": [values[0]], "top2": [values[1]]})
    ranked = ordered.assign(rank=ordered.groupby(keys, sort=False).cumcount())
    ranked = ranked[ranked["rank"] < 2]
    wide = ranked.pivot_table(index=keys, columns="rank", values=A, aggfunc="first")
    wide = wide.reindex(columns=[0, 1]).fillna(0.0)
    wide.columns = ["top1", "top2"]
    return wide.reset_index()


def check_finite(cells: pd.DataFrame, spec: TableSpec) -> None:
    """Sums beyond the range of 64-bit floats overflow to inf: stop instead of publishing it."""
    sums = cells[["value", "weight", "absum"]].to_numpy(dtype="float64", na_value=0.0)
    if not np.isfinite(sums).all():
        raise InputDataError(
            [
                Problem(
                    f"table {spec.name}: a sum overflows (values of "
                    f"{spec.variable or spec.weight!r} too large for 64-bit floats)",
                    code="overflow",
                )
            ]
        )

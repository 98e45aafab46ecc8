"""The whole-file aggregates information loss is computed from, as lazy dask values.

A run copies each utility variable before the steps into an internal column (``before``); the
steps never read or write those, so at the end every released record carries its values
before and after. One pass then gathers, tree-reduced and partition-independent:

* per categorical variable, the counts of (value before, value after) pairs;
* the sizes of the classes of the released key values (missing as a category), and the records
  whose key values were all suppressed;
* per numeric variable, sums of values, squares and |before - after|, and the cross products
  of the complete records (for correlations);
* per chosen 2-way table, the counts of its (before, before, after, after) combinations;
* for perturbed numeric variables (noise, microaggregation, swapping), every record's values
  before and after: linkage needs the records themselves.

Memory holds the distinct pairs and combinations; the perturbed variables' values are the one
per-record collection (16 bytes per record and variable).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from pipeline.columns import INTERNAL_PREFIX

_N = f"{INTERNAL_PREFIX}n"
_SUPPRESSED = f"{INTERNAL_PREFIX}suppressed"


def before(column: str) -> str:
    """The internal column holding ``column``'s value before the steps."""
    return f"{INTERNAL_PREFIX}before_{column}"


@dataclass(frozen=True)
class UtilityPlan:
    """Which variables are measured: key variables, other categorical ones, numeric ones."""

    keys: tuple[str, ...]
    categorical: tuple[str, ...]  # the key variables first, then the tables' other columns
    numeric: tuple[str, ...]
    tables: tuple[tuple[str, str], ...] = ()
    perturbed: tuple[str, ...] = ()  # numeric variables a step perturbs (among ``numeric``)
    randomized: tuple[str, ...] = ()  # categorical ones a step randomises (PRAM)

    @property
    def columns(self) -> list[str]:
        """Every column whose value before the steps is kept."""
        return list(dict.fromkeys([*self.categorical, *self.numeric]))


@dataclass(frozen=True)
class Aggregates:
    """The computed aggregates (see the module docstring)."""

    records: int
    pairs: dict[str, pd.DataFrame]  # columns: before, after, n
    classes: np.ndarray  # class sizes; the all-missing class without the suppressed records
    suppressed_records: int
    moments: dict[str, float]
    tables: dict[tuple[str, str], pd.DataFrame]  # columns: b0, b1, a0, a1, n
    perturbed: tuple[np.ndarray, np.ndarray] | None = None  # records x variables, before/after


def with_before(frame: dd.DataFrame, plan: UtilityPlan) -> dd.DataFrame:
    """``frame`` with a copy of each of the plan's columns as it is now."""
    return frame.assign(**{before(c): frame[c] for c in plan.columns})


def without_before(frame: dd.DataFrame, plan: UtilityPlan) -> dd.DataFrame:
    """``frame`` without the copies."""
    return frame.drop(columns=[before(c) for c in plan.columns])


def _counts(frame: dd.DataFrame, columns: list[str]) -> Any:
    grouped = frame[columns].assign(**{_N: 1})
    grouped = grouped.groupby(columns, dropna=False, observed=True, sort=False)
    return grouped.agg({_N: "sum"}, split_every=8)


def lazy_aggregates(frame: dd.DataFrame, plan: UtilityPlan) -> tuple:
    """The lazy aggregates of ``frame`` (with its ``before`` copies), to compute in one pass."""
    pairs = tuple(_counts(frame, [before(c), c]) for c in plan.categorical)
    keys = list(plan.keys)
    classes = _counts(frame, keys) if keys else None
    cols = [*keys, *map(before, keys)]
    suppressed = frame[cols].map_partitions(_all_suppressed, keys, meta=(_SUPPRESSED, "int64"))
    cols = [*plan.numeric, *map(before, plan.numeric)]
    moments = frame[cols].map_partitions(
        _moments, list(plan.numeric), meta=_moments(frame._meta[cols], list(plan.numeric))
    )
    tables = tuple(_counts(frame, [before(a), before(b), a, b]) for a, b in plan.tables)
    records = frame[plan.columns[:1]].map_partitions(len).sum()
    cols = [*plan.perturbed, *map(before, plan.perturbed)]
    values = frame[cols].astype("float64") if plan.perturbed else None
    return pairs, classes, suppressed.sum(), moments.sum(), tables, records, values


def collect(plan: UtilityPlan, computed: Sequence[Any]) -> Aggregates:
    """The aggregates from the computed values of :func:`lazy_aggregates`."""
    pairs, classes, suppressed, moments, tables, records, values = computed
    named = {}
    for column, found in zip(plan.categorical, pairs, strict=True):
        named[column] = _frame(found, ["before", "after"])
    sizes = np.zeros(0, dtype=np.float64)
    if classes is not None:
        table = classes.reset_index()
        sizes = table[_N].to_numpy(dtype=np.float64)
        empty = table[list(plan.keys)].isna().all(axis=1).to_numpy()
        sizes[empty] -= float(suppressed)
        sizes = sizes[sizes > 0]
    return Aggregates(
        records=int(records),
        pairs=named,
        classes=sizes,
        suppressed_records=int(suppressed),
        moments={str(k): float(v) for k, v in moments.items()},
        tables={
            t: _frame(f, ["b0", "b1", "a0", "a1"]) for t, f in zip(plan.tables, tables, strict=True)
        },
        perturbed=_values(values, plan.perturbed),
    )


def _values(found: pd.DataFrame | None, names: tuple[str, ...]) -> tuple | None:
    """(before, after) arrays of the perturbed variables."""
    if found is None:
        return None
    after = found[list(names)].to_numpy(np.float64, na_value=np.nan)
    return found[[before(c) for c in names]].to_numpy(np.float64, na_value=np.nan), after


def _frame(found: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    table = found.reset_index()
    table.columns = [*names, "n"]
    return table


def _all_suppressed(part: pd.DataFrame, keys: list[str]) -> pd.Series:
    """1 for a record whose key values are all missing now but not all before."""
    if not keys:
        return pd.Series(np.zeros(len(part), dtype=np.int64), index=part.index)
    now = part[keys].isna().all(axis=1)
    was = part[[before(k) for k in keys]].notna().any(axis=1)
    return (now & was).astype("int64")


def _floats(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _moments(part: pd.DataFrame, numeric: list[str]) -> pd.DataFrame:
    """One row of sums: per variable, and the cross products of the complete records."""
    out: dict[str, float] = {}
    x = np.column_stack([_floats(part[before(c)]) for c in numeric]) if numeric else None
    y = np.column_stack([_floats(part[c]) for c in numeric]) if numeric else None
    for j in range(len(numeric)):
        xb, ya = x[:, j], y[:, j]
        both = ~np.isnan(xb) & ~np.isnan(ya)
        for tag, v in (("b", xb[~np.isnan(xb)]), ("a", ya[~np.isnan(ya)])):
            out[f"{j}.n{tag}"], out[f"{j}.s{tag}"] = float(v.size), float(v.sum())
            out[f"{j}.ss{tag}"] = float((v * v).sum())
        out[f"{j}.np"] = float(both.sum())
        out[f"{j}.abs"] = float(np.abs(xb[both] - ya[both]).sum())
    if len(numeric) > 1:
        z = np.column_stack([x, y])
        z = z[~np.isnan(z).any(axis=1)]
        out["cc.n"] = float(z.shape[0])
        for i, s in enumerate(z.sum(axis=0)):
            out[f"cc.s{i}"] = float(s)
        cross = z.T @ z
        for i in range(cross.shape[0]):
            for j in range(i, cross.shape[0]):
                out[f"cc.x{i}.{j}"] = float(cross[i, j])
    return pd.DataFrame({k: [v] for k, v in out.items()}, dtype="float64")

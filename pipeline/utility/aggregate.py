"""The whole-file aggregates information loss is computed from, as lazy dask values.

A run copies each utility variable before the steps into an internal column (``before``); the
steps never read or write those, so at the end every released record carries its values
before and after. One pass then gathers, tree-reduced and partition-independent:

* per categorical variable, the counts of (value before, value after) pairs (these counts, the
  classes' and the tables' are counted together: ``pipeline.utility.counts``);
* the sizes of the classes of the released key values (missing as a category), and the records
  whose key values were all suppressed;
* per numeric variable, exact sums (``pipeline.core.moments``) of values, squares and
  |before - after|, and the cross products of the complete records (for correlations): the
  same figures whatever the partitions, and no overflow for values near the float limits;
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

from pipeline.core import exact
from pipeline.core.columns import INTERNAL_PREFIX
from pipeline.core.moments import OWN, ExactMoments, moment_sums, numbers, term
from pipeline.utility.counts import COUNT, TABLES, count_tables

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
    analysis: tuple[str, ...] = ()  # what an analyst's models read (utility.analysis)

    @property
    def columns(self) -> list[str]:
        """Every column whose value before the steps is kept."""
        return list(dict.fromkeys([*self.categorical, *self.numeric, *self.analysis]))


@dataclass(frozen=True)
class Aggregates:
    """The computed aggregates (see the module docstring)."""

    records: int
    pairs: dict[str, pd.DataFrame]  # columns: before, after, n
    classes: np.ndarray  # class sizes; the all-missing class without the suppressed records
    suppressed_records: int
    moments: ExactMoments  # the values before (variables 0..p-1), then after (p..2p-1)
    tables: dict[tuple[str, str], pd.DataFrame]  # columns: b0, b1, a0, a1, n
    perturbed: tuple[np.ndarray, np.ndarray] | None = None  # records x variables, before/after


def with_before(frame: dd.DataFrame, plan: UtilityPlan) -> dd.DataFrame:
    """``frame`` with a copy of each of the plan's columns as it is now."""
    return frame.assign(**{before(c): frame[c] for c in plan.columns})


def without_before(frame: dd.DataFrame, plan: UtilityPlan) -> dd.DataFrame:
    """``frame`` without the copies."""
    return frame.drop(columns=[before(c) for c in plan.columns])


def _groups(plan: UtilityPlan) -> list[list[str]]:
    """The columns of each count table: the pairs, the classes (with keys), the 2-way tables."""
    pairs = [[before(c), c] for c in plan.categorical]
    classes = [list(plan.keys)] if plan.keys else []
    return [*pairs, *classes, *([before(a), before(b), a, b] for a, b in plan.tables)]


def lazy_aggregates(frame: dd.DataFrame, plan: UtilityPlan) -> tuple:
    """The lazy aggregates of ``frame`` (with its ``before`` copies), to compute in one pass."""
    groups = _groups(plan)
    counted = count_tables(frame, groups) if groups else None
    keys = list(plan.keys)
    cols = [*keys, *map(before, keys)]
    suppressed = frame[cols].map_partitions(_all_suppressed, keys, meta=(_SUPPRESSED, "int64"))
    cols = [*plan.numeric, *map(before, plan.numeric)]
    moments = exact.add_limbs(
        frame[cols].map_partitions(_moments, list(plan.numeric), meta=exact.limbs_meta())
    )
    records = frame[plan.columns[:1]].map_partitions(len).sum()
    cols = [*plan.perturbed, *map(before, plan.perturbed)]
    values = frame[cols].astype("float64") if plan.perturbed else None
    return counted, suppressed.sum(), moments, records, values


SAMPLE = 100_000  # records an analyst's models are trained on, at most (about)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def lazy_sample(frame: dd.DataFrame, plan: UtilityPlan, rows: int, row: str) -> Any:
    """The released records' analysis columns before and after, a seeded sample of them.

    A record is kept when a hash of its row number (``row``, numbered as read) falls below
    ``SAMPLE / rows``: the same records whatever the partitions. None without an analysis.
    """
    if not plan.analysis:
        return None
    cols = [row, *plan.analysis, *map(before, plan.analysis)]
    share = min(1.0, SAMPLE / max(rows, 1))
    return frame[cols].map_partitions(_sampled, row, share, meta=frame._meta[cols])


def _sampled(part: pd.DataFrame, row: str, share: float) -> pd.DataFrame:
    if share >= 1.0:
        return part
    x = part[row].to_numpy().astype(np.uint64) * _GOLDEN  # splitmix64's finish: well mixed
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return part[x < np.uint64(share * 2.0**64)]


def collect(plan: UtilityPlan, computed: Sequence[Any]) -> Aggregates:
    """The aggregates from the computed values of :func:`lazy_aggregates`."""
    counted, suppressed, moments, records, values = computed
    found = iter(counted[TABLES].iloc[0] if counted is not None else [])  # ``_groups``' order
    named = {}
    for column in plan.categorical:
        named[column] = _frame(next(found), ["before", "after"])
    sizes = np.zeros(0, dtype=np.float64)
    if plan.keys:
        table = next(found)
        sizes = table[COUNT].to_numpy(dtype=np.float64)
        empty = table[list(plan.keys)].isna().all(axis=1).to_numpy()
        sizes[empty] -= float(suppressed)
        sizes = sizes[sizes > 0]
    return Aggregates(
        records=int(records),
        pairs=named,
        classes=sizes,
        suppressed_records=int(suppressed),
        moments=ExactMoments(2 * len(plan.numeric), exact.from_limbs(moments), blocks=2),
        tables={t: _frame(next(found), ["b0", "b1", "a0", "a1"]) for t in plan.tables},
        perturbed=_values(values, plan.perturbed),
    )


def _values(found: pd.DataFrame | None, names: tuple[str, ...]) -> tuple | None:
    """(before, after) arrays of the perturbed variables."""
    if found is None:
        return None
    after = found[list(names)].to_numpy(np.float64, na_value=np.nan)
    return found[[before(c) for c in names]].to_numpy(np.float64, na_value=np.nan), after


def _frame(found: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    table = found.copy(deep=False)
    table.columns = [*names, "n"]
    return table


def _all_suppressed(part: pd.DataFrame, keys: list[str]) -> pd.Series:
    """1 for a record whose key values are all missing now but not all before."""
    if not keys:
        return pd.Series(np.zeros(len(part), dtype=np.int64), index=part.index)
    now = part[keys].isna().all(axis=1)
    was = part[[before(k) for k in keys]].notna().any(axis=1)
    return (now & was).astype("int64")


PAIRS, ABSOLUTE = OWN, OWN + 1  # per variable: pairs compared, sum of |before - after|


def _moments(part: pd.DataFrame, numeric: list[str]) -> pd.DataFrame:
    """Exact sums (limbs) of the values before and after, the pairs and their |differences|.

    ``|x - y|`` is summed as the sum of x less that of y, each times the sign of x - y, so a
    difference beyond the floats (1e308 - -1e308) is summed exactly too. Cross products are
    summed among the values before and among those after (the correlations compared).
    """
    x, y = numbers(part, [before(c) for c in numeric]), numbers(part, numeric)
    sums = moment_sums(np.column_stack([x, y]), blocks=2)  # correlations before; after
    for j in range(len(numeric)):
        both = ~np.isnan(x[:, j]) & ~np.isnan(y[:, j])
        sign = np.where(x[both, j] >= y[both, j], 1.0, -1.0)
        sums[term(PAIRS, j)] = int(both.sum())
        sums[term(ABSOLUTE, j)] = exact.exact_sum(sign * x[both, j]) - exact.exact_sum(
            sign * y[both, j]
        )
    return exact.to_limbs(sums)

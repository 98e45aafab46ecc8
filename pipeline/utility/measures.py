"""Information-loss figures from the whole-file aggregates (pure numpy/pandas, no data values).

Definitions (each record compared with itself before the steps):

* suppressed: a value present before and missing after; a record is suppressed when all its
  key values are (and some was present before);
* precision loss (Sweeney, ARX): per value level/height of its generalization, 1 when
  suppressed, 0 when it was missing before; averaged over records, then over key variables;
* loss (ARX's): per value (leaves merged into its released value - 1) / (leaves - 1), the
  leaves being the distinct values before; 1 when suppressed;
* discernibility: sum over the released classes of |class|^2, plus the number of records for
  each suppressed record; C_avg: (records - suppressed) / classes / k;
* non-uniform entropy (ARX's): sum over records and key variables of -log2(f(x) / f(g(x))),
  f counting the records before, g(x) the released value (every value when suppressed);
* Hellinger distance of a variable: its released distribution against the original values
  mapped to the released level of detail (each value to its most frequent released value;
  missing and suppressed are categories of their own); total-variation distance of a 2-way
  table the same way;
* IL1s (sdcMicro 5.8's ``dUtility(method = "IL1s")``): the sum over records and numeric
  variables of |x - x'| / (sqrt(2) sd(x)), sd the sample standard deviation of every value
  before, pairs with a missing side left out; ``il1s_mean`` divides by the pairs summed (the
  per-value mean of the literature, sdcMicro's former ``IL1``);
* perturbed and randomised variables: see ``pipeline.utility.perturbed``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from pipeline.core.exact import SUM_UNIT, ratio
from pipeline.core.moments import COUNT, SUM, ExactMoments
from pipeline.utility.aggregate import ABSOLUTE, PAIRS, Aggregates, UtilityPlan
from pipeline.utility.model import NumericLoss, TableLoss, Utility, VariableLoss
from pipeline.utility.perturbed import category_changes, perturbation

_LOST = -2  # an original value without any released value (all its records suppressed)


def _round(value: float | None, digits: int = 6) -> float | None:
    """Six significant digits: the figures do not depend on the order of float sums."""
    if value is None or not math.isfinite(value) or value == 0:
        return None if value is None or not math.isfinite(value) else 0.0
    return float(f"{value:.{digits}g}")


def generalization_map(pairs: pd.DataFrame) -> pd.Series:
    """Each original value's released value: the most frequent non-missing one (ties: first).

    Released values are given as their position among the pairs' distinct released values
    (:func:`released_codes`), so values of any type compare exactly.
    """
    codes = released_codes(pairs, pairs["after"])
    seen = pairs.assign(code=codes)[pairs["before"].notna().to_numpy() & (codes >= 0)]
    if seen.empty:
        return pd.Series(dtype=np.int64)
    ranked = seen.sort_values(["n", "code"], ascending=[False, True], kind="stable")
    first = ranked.drop_duplicates("before")
    return pd.Series(first["code"].to_numpy(dtype=np.int64), index=first["before"].to_numpy())


def released_codes(pairs: pd.DataFrame, values: pd.Series) -> np.ndarray:
    """Position of each of ``values`` among the pairs' distinct released values (-1: missing)."""
    categories = pd.Index(pairs["after"].dropna().unique())
    return categories.get_indexer(values)


def _released_level(before_values: pd.Series, mapping: pd.Series) -> np.ndarray:
    """The original values at the released level: code of g(x), -2 lost, -1 missing."""
    mapped = before_values.map(mapping).to_numpy(dtype=np.float64, na_value=np.nan)
    out = np.where(np.isnan(mapped), _LOST, mapped).astype(np.int64)
    return np.where(before_values.isna().to_numpy(), -1, out)


def _distribution(labels: np.ndarray, counts: np.ndarray) -> pd.Series:
    total = float(counts.sum())
    return pd.Series(counts).groupby(labels).sum() / (total or 1.0)


def hellinger(p: pd.Series, q: pd.Series) -> float:
    """Hellinger distance of two distributions (indexed by category)."""
    both = np.sqrt(pd.concat([p, q], axis=1).fillna(0.0).to_numpy())
    return float(np.sqrt(((both[:, 0] - both[:, 1]) ** 2).sum() / 2.0))


def total_variation(p: pd.Series, q: pd.Series) -> float:
    """Total-variation distance 0.5 * sum |p - q|."""
    both = pd.concat([p, q], axis=1).fillna(0.0).to_numpy()
    return 0.5 * float(np.abs(both[:, 0] - both[:, 1]).sum())


def variable_loss(
    column: str, pairs: pd.DataFrame, records: int, level: tuple[int, int] | None
) -> VariableLoss:
    """The figures of one categorical variable from its (before, after, n) pairs."""
    n = pairs["n"].astype(np.float64)
    present = pairs["before"].notna()
    cut = present & pairs["after"].isna()
    mapping = generalization_map(pairs)
    codes = released_codes(pairs, pairs["after"])
    leaves = mapping.value_counts()  # originals merged into each released value
    domain = int(pairs.loc[present, "before"].nunique())
    share = level[0] / level[1] if level and level[1] else 0.0
    precision = float(n[cut].sum() + n[present & ~cut].sum() * share)
    under = pd.Series(codes).map(leaves).fillna(1).to_numpy(dtype=np.float64)
    cell = (under - 1) / (domain - 1) if domain > 1 else under * 0
    loss = float(n[cut].sum() + (n.to_numpy() * cell)[(present & ~cut).to_numpy()].sum())
    f_before = n[present].groupby(pairs.loc[present, "before"]).sum()
    f_released = f_before.groupby(f_before.index.map(mapping)).sum()  # f(g(x)) per released
    f_gen = pd.Series(codes, index=pairs.index).map(f_released)
    f_gen = f_gen.where(~cut, float(n[present].sum()))
    ratio = f_gen.to_numpy(dtype=np.float64) / pairs["before"].map(f_before).to_numpy(np.float64)
    bits = np.clip(np.nan_to_num(np.log2(ratio)), 0, None)
    entropy = float((bits * n.to_numpy())[present.to_numpy()].sum())
    before_dist = _distribution(_released_level(pairs["before"], mapping), n.to_numpy())
    after_dist = _distribution(codes, n.to_numpy())
    return VariableLoss(
        column=column,
        level=level[0] if level else None,
        height=level[1] if level else None,
        suppressed=int(n[cut].sum()),
        suppressed_share=_round(float(n[cut].sum()) / records) if records else 0.0,
        categories_before=domain,
        categories_after=int(pairs["after"].dropna().nunique()),
        precision_loss=_round(precision / records) if records else 0.0,
        loss=_round(loss / records) if records else 0.0,
        entropy=_round(entropy),
        hellinger=_round(hellinger(before_dist, after_dist)),
    )


def numeric_loss(j: int, column: str, m: ExactMoments) -> NumericLoss:
    """The figures of numeric variable ``j`` of ``m.p // 2`` from the exact sums.

    Values before are variable ``j`` of ``m``, after ``j + p``; the changes are taken from the
    exact sums, so values near the float limits give finite figures.
    """
    p = m.p // 2
    sd, t = m.sd_scaled()
    (nb, na), pairs = (m.get(COUNT, j), m.get(COUNT, j + p)), m.get(PAIRS, j)
    sb = float(np.ldexp(sd[j], t[j])) if nb > 1 else (0.0 if nb else None)
    sa = float(np.ldexp(sd[j + p], t[j + p])) if na > 1 else (0.0 if na else None)
    il1s = mean_change = sd_change = None
    if sb and pairs:  # sdcMicro's IL1s: sum |x - x'| / (sqrt(2) sd(x)), sd of every value before
        il1s = ratio(m.get(ABSOLUTE, j), 1, SUM_UNIT + int(t[j])) / (math.sqrt(2) * sd[j])
    if sb and sa is not None:  # sa / sb - 1, the sds scaled (one value after: sd 0)
        after = sd[j + p] if na > 1 else 0.0
        sd_change = float(np.ldexp(after / sd[j], t[j + p] - t[j])) - 1.0
    mb, ma = m.column_mean(j), m.column_mean(j + p)
    if mb and ma is not None:  # of the means (each rounded once); exactly when beyond floats
        change, exact_sums = ma - mb, (m.get(SUM, j + p) * nb - m.get(SUM, j) * na)
        mean_change = (
            change / abs(mb)
            if math.isfinite(change)
            else ratio(exact_sums, abs(m.get(SUM, j)) * na)
        )
    return NumericLoss(
        column=column,
        records=int(pairs),
        il1s=_round(il1s),
        il1s_mean=_round(il1s / pairs) if il1s is not None else None,
        mean_before=_round(mb),
        mean_after=_round(ma),
        sd_before=_round(sb),
        sd_after=_round(sa),
        mean_change=_round(mean_change),
        sd_change=_round(sd_change),
    )


def correlation_change(p: int, m: ExactMoments) -> float | None:
    """Largest |corr after - corr before| over pairs of numeric variables (complete records)."""
    if p < 2 or m.complete < 2:
        return None
    corr = m.correlations()
    before_, after = corr[:p, :p], corr[p:, p:]  # the values before first
    diff = np.abs(after - before_)[np.triu_indices(p, 1)]
    diff = diff[np.isfinite(diff)]
    return _round(float(diff.max())) if diff.size else None


def table_loss(
    table: tuple[str, str],
    counts: pd.DataFrame,
    pairs: Mapping[str, pd.DataFrame],
    maps: Mapping[str, pd.Series],
) -> TableLoss:
    """A 2-way table before (at the released level of detail) against after."""
    n = counts["n"].to_numpy(dtype=np.float64)
    before_cells, after_cells = [], []
    for i, column in enumerate(table):
        before_cells.append(_released_level(counts[f"b{i}"], maps[column]))
        after_cells.append(released_codes(pairs[column], counts[f"a{i}"]))
    radix = int(pairs[table[1]]["after"].nunique()) + 3
    p = _distribution(_cell(*before_cells, radix), n)
    q = _distribution(_cell(*after_cells, radix), n)
    return TableLoss(
        columns=list(table),
        tvd=_round(total_variation(p, q)),
        cells_before=int(p.size),
        cells_after=int(q.size),
    )


def _cell(first: np.ndarray, second: np.ndarray, radix: int) -> np.ndarray:
    """One integer per pair of codes (codes >= -2, the second's below ``radix - 2``)."""
    return (first.astype(np.int64) + 2) * radix + (second + 2)


def utility(
    plan: UtilityPlan,
    found: Aggregates,
    levels: Mapping[str, tuple[int, int]],
    k: int,
    rows_in: int | None = None,
) -> Utility:
    """Every figure of a run (or of two aligned files) from its aggregates."""
    records = found.records
    variables = [variable_loss(c, found.pairs[c], records, levels.get(c)) for c in plan.categorical]
    variables = [
        _randomized(v, found.pairs[v.column]) if v.column in plan.randomized else v
        for v in variables
    ]
    keyed = [v for v in variables if v.column in plan.keys]
    sizes = found.classes
    suppressed = found.suppressed_records
    numeric = [numeric_loss(j, c, found.moments) for j, c in enumerate(plan.numeric)]
    scored = [v.il1s for v in numeric if v.il1s is not None]
    counted = sum(v.records for v in numeric if v.il1s is not None)
    maps = {c: generalization_map(found.pairs[c]) for c in plan.categorical}
    return Utility(
        records=records,
        records_removed=max(0, (rows_in or records) - records),
        key_variables=list(plan.keys),
        k=k,
        suppressed_records=suppressed,
        precision_loss=_round(float(np.mean([v.precision_loss for v in keyed]))) if keyed else 0,
        loss=_round(float(np.mean([v.loss for v in keyed]))) if keyed else 0.0,
        discernibility=_round(float((sizes * sizes).sum()) + float(suppressed) * records),
        classes=int(sizes.size),
        c_avg=_round((records - suppressed) / sizes.size / k) if sizes.size else None,
        entropy=_round(float(sum(v.entropy for v in keyed))),
        variables=variables,
        numeric=numeric,
        il1s=_round(float(sum(scored))) if scored else None,
        il1s_mean=_round(float(sum(scored)) / counted) if counted else None,
        correlation_change=correlation_change(len(plan.numeric), found.moments),
        tables=[table_loss(t, found.tables[t], found.pairs, maps) for t in plan.tables],
        perturbation=perturbation(*found.perturbed, list(plan.perturbed))
        if found.perturbed is not None
        else None,
    )


def _randomized(found: VariableLoss, pairs: pd.DataFrame) -> VariableLoss:
    """A randomised variable's loss with the shares of values changed."""
    overall, per = category_changes(pairs)
    return found.model_copy(update={"changed_share": overall, "changed_by_category": per})


def warnings(found: Utility, share: float) -> list[str]:
    """A line per key variable that lost more than ``share`` of its values to suppression."""
    return [
        f"{v.column}: {v.suppressed} of {found.records} values suppressed "
        f"({v.suppressed_share:.1%}, more than {share:.0%})"
        for v in found.variables
        if v.column in found.key_variables and v.suppressed_share > share
    ]

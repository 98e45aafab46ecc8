"""Output checking on hand-made tables whose answers are known."""

from __future__ import annotations

from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from pipeline.engine.apply import PendingChecks
from pipeline.tabulate.compute import assemble_cells, plan_cells, prepare
from pipeline.tabulate.model import Rules, TableSpec
from pipeline.tabulate.protect import suppress, unprotected
from pipeline.tabulate.secondary import grid, intervals, protect


def records(counts: dict[tuple[str, str], int], values: dict | None = None) -> pd.DataFrame:
    rows = []
    for (r, c), n in counts.items():
        for i in range(n):
            v = (values or {}).get((r, c), [10.0] * n)[i]
            rows.append((r, c, v))
    return pd.DataFrame(rows, columns=["r", "c", "income"])


def table(frame: pd.DataFrame, rules: Rules | None = None, **spec) -> pd.DataFrame:
    spec = TableSpec.model_validate(
        {"name": "t", "rows": {"column": "r"}, "columns": {"column": "c"}, **spec}
    )
    with PendingChecks() as checks:  # no recodes here: nothing to settle
        prepared = prepare(dd.from_pandas(frame, npartitions=3), spec, Path("."), checks)
    (computed,) = dask.compute(plan_cells(prepared, spec))
    cells = assemble_cells(computed, spec)
    return suppress(cells, spec, rules or Rules())


def cell(checked: pd.DataFrame, level: str, row=None, col=None) -> pd.Series:
    sel = checked[(checked.level == level)]
    if row is not None:
        sel = sel[sel.row == row]
    if col is not None:
        sel = sel[sel.col == col]
    (i,) = sel.index
    return checked.loc[i]


COUNTS = {
    ("a", "x"): 20,
    ("a", "y"): 3,
    ("a", "z"): 40,
    ("b", "x"): 30,
    ("b", "y"): 25,
    ("b", "z"): 50,
    ("c", "x"): 15,
    ("c", "y"): 35,
    ("c", "z"): 60,
}


def test_single_small_cell_is_hidden_and_cannot_be_recomputed() -> None:
    checked = table(records(COUNTS))
    small = cell(checked, "cell", "a", "y")
    assert small.suppression == "primary" and small.rules_failed == ["threshold"]
    assert small.hi - small.lo >= 10
    assert (checked.suppression == "primary").sum() == 1
    # one hidden cell in a row with a published total would be recomputable: partners hidden
    assert (checked.suppression == "secondary").sum() >= 3
    assert unprotected(checked) == []


def test_without_secondary_suppression_the_cell_is_recomputed_from_margins() -> None:
    values = np.zeros((4, 4))
    inner = np.array([[COUNTS[(r, c)] for c in "xyz"] for r in "abc"], dtype=float)
    values[:3, :3] = inner
    values[:3, 3], values[3, :3], values[3, 3] = inner.sum(1), inner.sum(0), inner.sum()
    t = grid(values)
    only = np.zeros(16, dtype=bool)
    only[1] = True
    assert intervals(t, only, [1]) == {1: (3.0, 3.0)}  # exactly the hidden value
    hidden = protect(t, [1], [10.0])
    lo, hi = intervals(t, hidden, [1])[1]
    assert lo <= 3 <= hi and hi - lo >= 10
    # the pattern is the cheapest: the rectangle with the smallest values around the cell
    assert hidden.sum() == 4 and values.ravel()[hidden].sum() == 20 + 3 + 15 + 35


@pytest.mark.parametrize("scale", [1.0, 1_500.0, 2.0e6])
def test_weighted_counts_in_the_millions_are_protected_by_a_width_of_ten(scale: float) -> None:
    """Before: with weights (values x1,500) the solver hid the primary cell alone."""
    inner = np.array([[COUNTS[(r, c)] for c in "xyz"] for r in "abc"], dtype=float) * scale
    values = np.zeros((4, 4))
    values[:3, :3] = inner
    values[:3, 3], values[3, :3], values[3, 3] = inner.sum(1), inner.sum(0), inner.sum()
    hidden = protect(grid(values), [1], [10.0])
    lo, hi = intervals(grid(values), hidden, [1])[1]
    assert hidden.sum() == 4 and hi - lo >= 10


def test_cheapest_pattern_is_rejected_when_its_interval_is_too_narrow() -> None:
    # cell (a,y)=5 is primary; the cheapest partners (a,x)=1 and (c,x)/(c,y) bound it to +-1:
    # the solver must pay for wider partners so the interval reaches the required 10
    inner = np.array([[1, 5, 40], [30, 25, 50], [1, 30, 60]], dtype=float)
    values = np.zeros((4, 4))
    values[:3, :3] = inner
    values[:3, 3], values[3, :3], values[3, 3] = inner.sum(1), inner.sum(0), inner.sum()
    t = grid(values)
    naive = np.zeros(16, dtype=bool)
    naive[[0, 1, 8, 9]] = True  # (a,x), (a,y), (c,x), (c,y)
    lo, hi = intervals(t, naive, [1])[1]
    assert hi - lo < 10
    hidden = protect(t, [1], [10.0])
    lo, hi = intervals(t, hidden, [1])[1]
    assert hi - lo >= 10


def test_dominated_cell_is_primary_in_a_magnitude_table() -> None:
    counts = {k: 12 for k in COUNTS}
    values = {("b", "y"): [1000.0] + [10.0] * 11}  # one unit holds 1000/1110 = 90%
    checked = table(records(counts, values), statistic="sum", variable="income")
    dom = cell(checked, "cell", "b", "y")
    assert dom.suppression == "primary" and "dominance_1_70" in dom.rules_failed
    assert dom.hi - dom.lo >= 0.3 * dom.value - 1e-6
    assert cell(checked, "cell", "a", "x").rules_failed == []
    assert unprotected(checked) == []


def test_two_unit_dominance_and_units_from_a_unit_column() -> None:
    counts = {k: 12 for k in COUNTS}
    values = {("c", "z"): [500.0, 450.0] + [10.0] * 10}  # two units hold 950/1050 = 90%
    checked = table(records(counts, values), statistic="sum", variable="income")
    two = cell(checked, "cell", "c", "z")
    assert "dominance_2_85" in two.rules_failed and "dominance_1_70" not in two.rules_failed


def test_zero_cells_are_published_and_totals_are_protected_too() -> None:
    counts = dict(COUNTS)
    counts[("a", "y")] = 0
    checked = table(records({k: v for k, v in counts.items() if v}))
    zero = cell(checked, "cell", "a", "y")
    assert zero.units == 0 and zero.rules_failed == []
    assert (checked.suppression == "primary").sum() == 0


@pytest.mark.parametrize("statistic", ["max", "min", "residuals"])
def test_never_released_statistics_are_refused(statistic: str) -> None:
    with pytest.raises(ValueError, match="never released"):
        TableSpec.model_validate(
            {"name": "t", "rows": {"column": "r"}, "statistic": statistic, "variable": "income"}
        )


def test_the_solver_prints_nothing_on_the_standard_output(capfd) -> None:
    import os

    from pipeline.tabulate.secondary import silenced

    with silenced():
        os.write(1, b"HighsMipSolverData::transformNewIntegerFeasibleSolution\n")  # as HiGHS does
    print("after")  # the standard output works again
    table = grid(np.array([[1.0, 9.0, 10.0], [7.0, 6.0, 13.0], [8.0, 15.0, 23.0]]))
    hidden = protect(table, [0], [3.0])
    assert hidden[0] and hidden.sum() >= 4  # the small cell and its complements
    out = capfd.readouterr().out
    assert out == "after\n"

"""``rank_swap``: exact marginals, the rank window, missing values, ties and determinism."""

from __future__ import annotations

import json
import math
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pydantic import ValidationError

from pipeline.core.columns import ROW, ColumnsSpec
from pipeline.steps.registry import STEPS, StepContext
from pipeline.steps.swap import RankSwapParams, rank_swap, rank_swap_values, swap_ranks, window
from tests.conftest import demo_recipe, examples, invoke, run_step

N = 20_000
NAMES = ["a", "b", "c"]


def _frame(seed: int = 1, n: int = N) -> pd.DataFrame:
    """a: continuous; b: skewed with missing values; c: ten values only (many ties)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(300, 40, n)
    b = rng.gamma(2, 50, n)
    b[::13] = np.nan
    c = rng.integers(0, 10, n)
    return pd.DataFrame({ROW: np.arange(n), "a": a, "b": b, "c": c, "tag": rng.integers(0, 5, n)})


def _run(frame: pd.DataFrame, partitions: int, seed: int = 7, **raw) -> tuple[pd.DataFrame, dict]:
    params = RankSwapParams(variables=NAMES, **raw)
    ctx = StepContext(
        seed=seed,
        index=2,
        name="rank_swap",
        columns=ColumnsSpec(),
        base_dir=Path(),
        location="test",
    )
    effect = run_step(rank_swap, dd.from_pandas(frame, npartitions=partitions), params, ctx)
    out = effect.frame.compute().sort_values(ROW).reset_index(drop=True)
    return out, effect.facts


def _floats(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series).to_numpy(np.float64, na_value=np.nan)


def assert_within_window(before: np.ndarray, after: np.ndarray, w: int) -> None:
    """Every present value is a value of rank at most ``w`` from its record's rank.

    Ranks are by (value, position); a tied released value may stand for any rank of its value,
    so the check is that its run of equal values reaches within ``w`` of the record's rank.
    """
    present = ~np.isnan(before)
    x, y = before[present], after[present]
    rank = np.empty(x.size, np.int64)
    rank[np.argsort(x, kind="stable")] = np.arange(x.size)
    ordered = np.sort(x)
    low = np.searchsorted(ordered, y, side="left")
    high = np.searchsorted(ordered, y, side="right") - 1
    assert np.all(low <= rank + w) and np.all(high >= rank - w)


def assert_same_marginal(before: np.ndarray, after: np.ndarray) -> None:
    np.testing.assert_array_equal(np.isnan(after), np.isnan(before))  # missing stay, in place
    present = ~np.isnan(before)
    np.testing.assert_array_equal(np.sort(after[present]), np.sort(before[present]))


def test_the_distribution_of_every_variable_is_kept_exactly() -> None:
    frame = _frame()
    out, _ = _run(frame, 3)
    for column in NAMES:
        assert_same_marginal(_floats(frame[column]), _floats(out[column]))
    pd.testing.assert_series_equal(out["tag"], frame["tag"])  # other columns untouched


def test_every_value_moves_at_most_the_window() -> None:
    frame = _frame(2)
    out, facts = _run(frame, 4, p=15)
    for column in NAMES:
        before = _floats(frame[column])
        w = facts["window"][column]
        assert w == math.floor(0.15 * np.count_nonzero(~np.isnan(before)))
        assert_within_window(before, _floats(out[column]), w)
    out, facts = _run(frame, 4, p=0.5)  # a narrow window: the bound is tight, not loose
    assert facts["window"]["a"] == 100
    before, after = _floats(frame["a"]), _floats(out["a"])
    assert_within_window(before, after, 100)
    moved = np.abs(np.argsort(np.argsort(before)) - np.searchsorted(np.sort(before), after))
    assert 90 <= moved.max() <= 100 and moved.mean() > 20


def test_most_values_change_and_the_facts_say_how_many() -> None:
    frame = _frame(3)
    out, facts = _run(frame, 3)
    for column in ("a", "b"):
        before, after = _floats(frame[column]), _floats(out[column])
        present = ~np.isnan(before)
        share = np.mean(before[present] != after[present])
        assert share > 0.9
        assert facts["changed"][column] == pytest.approx(share, abs=1e-6)
    moved = np.abs(_floats(out["a"]) - _floats(frame["a"]))
    assert np.corrcoef(_floats(out["a"]), _floats(frame["a"]))[0, 1] > 0.5  # values stay close
    assert np.median(moved) > 0


def test_missing_values_stay_missing_on_the_same_records() -> None:
    frame = _frame(4)
    frame.loc[frame.index[:500], "a"] = np.nan  # a run of missing values at the start
    out, facts = _run(frame, 5)
    for column in NAMES:
        assert out[column].isna().tolist() == frame[column].isna().tolist()
    assert facts["window"]["a"] == math.floor(0.15 * (N - 500))


def test_ties_are_ranked_by_position() -> None:
    x = np.random.default_rng(9).integers(0, 10, 5000).astype(np.float64)
    x[::17] = np.nan
    broken = x + np.arange(x.size) * 1e-6  # no ties left, the same order as (value, position)
    tied, _ = swap_ranks(x, 15, np.random.default_rng(1))
    distinct, _ = swap_ranks(broken, 15, np.random.default_rng(1))
    np.testing.assert_array_equal(np.floor(distinct), tied)  # the same pairs of records


def test_tied_values_are_swapped() -> None:
    frame = _frame(5)
    out, facts = _run(frame, 3)
    before, after = _floats(frame["c"]), _floats(out["c"])
    assert_same_marginal(before, after)
    assert_within_window(before, after, facts["window"]["c"])
    assert 0.3 < facts["changed"]["c"] < 0.9  # a tied partner leaves the value as it was
    constant = _frame(5).assign(c=4)
    out, facts = _run(constant, 3)
    assert (out["c"] == 4).all() and facts["changed"]["c"] == 0.0


@pytest.mark.parametrize("partitions", [3, 7])
def test_the_same_for_the_seed_whatever_the_partitions(partitions: int) -> None:
    frame = _frame(6)
    one, facts_one = _run(frame, 1)
    many, facts_many = _run(frame, partitions)
    pd.testing.assert_frame_equal(one, many)
    assert facts_one == facts_many


def test_another_seed_swaps_otherwise() -> None:
    frame = _frame(7)
    first, _ = _run(frame, 3, seed=7)
    second, _ = _run(frame, 3, seed=8)
    for column in NAMES:
        assert not first[column].equals(second[column])
        assert_same_marginal(_floats(first[column]), _floats(second[column]))


def test_the_facts_are_numbers_and_no_data_value() -> None:
    frame = _frame(8)
    _, facts = _run(frame, 3, p=10)
    assert set(facts) == {"p", "window", "changed"} and facts["p"] == 10.0
    assert set(facts["window"]) == set(NAMES) == set(facts["changed"])
    numbers = [facts["p"], *facts["window"].values(), *facts["changed"].values()]
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers)
    assert all(0 <= v <= 1 for v in facts["changed"].values())
    data = set(frame[["a", "b"]].stack().tolist())
    assert not data & set(numbers)
    text = json.dumps(facts)
    assert not any(f"{v:.6f}"[:8] in text for v in frame["a"].head(200))


def test_the_window_and_the_parameters() -> None:
    assert window(15, 20_000) == 3000 and window(29, 100) == 29 and window(15, 6) == 0
    with pytest.raises(ValidationError):
        RankSwapParams(variables=[])
    for p in (0, -1, 100.5):
        with pytest.raises(ValidationError):
            RankSwapParams(variables=["a"], p=p)
    params = RankSwapParams(variables=["a", "b"])
    declared = params.declare(ColumnsSpec())
    assert params.p == 15 and declared.numeric == {"a", "b"}
    assert declared.reads == {ROW, "a", "b"}
    assert declared.writes == declared.replaces == {"a", "b"}
    assert STEPS["rank_swap"].params is RankSwapParams
    assert "window" in STEPS["rank_swap"].doc


def test_small_windows_and_tiny_inputs() -> None:
    x = np.array([5.0, np.nan, 1.0, 3.0, 2.0, 4.0, 0.0, 7.0, 6.0, 9.0, 8.0])
    rng = np.random.default_rng(0)
    out, w = swap_ranks(x, 15, rng)  # 10 present values: w = 1, adjacent ranks only
    assert w == 1
    assert_same_marginal(x, out)
    assert np.nanmax(np.abs(out - x)) == 1 and np.count_nonzero(out != x) >= 6
    for tiny in (np.array([]), np.array([np.nan]), np.array([3.0]), np.array([1.0, 2.0])):
        same, _ = swap_ranks(tiny, 15, rng)
        np.testing.assert_array_equal(same, tiny)
    swapped, _ = swap_ranks(np.array([1.0, 2.0]), 100, rng)
    assert_same_marginal(np.array([1.0, 2.0]), swapped)


@settings(max_examples=examples(200), deadline=None)
@given(
    arrays(
        np.float64,
        st.integers(0, 60),
        elements=st.one_of(st.integers(-5, 5).map(float), st.floats(-1e6, 1e6), st.just(np.nan)),
    ),
    st.floats(0.1, 100),
    st.integers(1, 4),
)
def test_marginals_and_the_window_hold_for_any_values(
    column: np.ndarray, p: float, variables: int
) -> None:
    values = np.column_stack([np.roll(column, j) for j in range(variables)])
    out, windows = rank_swap_values(values, p, b"k" * 32)
    again, _ = rank_swap_values(values, p, b"k" * 32)
    np.testing.assert_array_equal(out, again)
    for j in range(variables):
        assert windows[j] == window(p, int(np.count_nonzero(~np.isnan(values[:, j]))))
        assert_same_marginal(values[:, j], out[:, j])
        assert_within_window(values[:, j], out[:, j], windows[j])


@pytest.mark.slow
def test_in_a_run_the_manifest_records_the_window(workdir: Path) -> None:
    steps = "  - rank_swap: {variables: [income, age], p: 10}\n"
    result = invoke("run", str(demo_recipe(workdir, steps, extra="risk: {k: 1}\n")))
    assert result.exit_code == 0, result.output
    manifest = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    facts = next(s for s in manifest["steps"] if s["name"] == "rank_swap")["facts"]
    assert facts["p"] == 10.0 and facts["window"]["income"] > 0
    source = pd.read_csv(workdir / "data" / "census.csv")
    released = pd.read_parquet(workdir / "out" / "run" / "data")
    assert sorted(released["income"].dropna()) == sorted(source["income"].dropna().astype(float))


def test_values_near_the_float_limits_are_swapped_without_warnings() -> None:
    import warnings

    frame = _frame(9, 3000)
    frame.loc[[0, 1, 2], "a"] = [1.7e308, -1.7e308, 1e200]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out, _ = _run(frame, 3)
    assert_same_marginal(frame["a"].to_numpy(), _floats(out["a"]))


def test_variables_are_listed_once() -> None:
    problems = RankSwapParams(variables=["a", "b", "a"]).recipe_problems(ColumnsSpec(weight="b"))
    assert problems == [("variables[2]", "'a' is listed twice; list each variable once")]

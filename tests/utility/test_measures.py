"""Information-loss figures against values computed by hand (and sdcMicro's IL1s definition)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.utility.aggregate import UtilityPlan
from pipeline.utility.compare import compare
from pipeline.utility.measures import hellinger, total_variation
from tests.conftest import REPO, examples

# five records: a, b -> x; c (twice) -> y; d suppressed. Numbers: one changed by 2, one by 1.
ORIGINAL = pd.DataFrame(
    {"v": ["a", "b", "c", "c", "d"], "s": ["M", "F", "M", "M", "F"], "x": [1.0, 2, 3, 4, 5]}
)
RELEASED = pd.DataFrame(
    {"v": ["x", "x", "y", "y", None], "s": ["M", "F", "M", "M", None], "x": [1.0, 2, 3, 6, 4]}
)
PLAN = UtilityPlan(("v", "s"), ("v", "s"), ("x",), (("v", "s"),))


@pytest.fixture(scope="module")
def found():
    return compare(ORIGINAL, RELEASED, PLAN, {"v": (1, 2)}, k=2, rows_in=8)


def test_per_variable_by_hand(found) -> None:
    v = found.variables[0]
    assert (v.level, v.height, v.suppressed, v.suppressed_share) == (1, 2, 1, 0.2)
    assert (v.categories_before, v.categories_after) == (4, 2)
    assert v.precision_loss == pytest.approx((1 + 4 * 0.5) / 5)  # suppressed 1, others 1/2
    # loss: x merges 2 of 4 leaves -> 1/3 each, y holds 1 -> 0, the suppressed value 1
    assert v.loss == pytest.approx((1 + 2 / 3) / 5, rel=1e-5)
    # entropy: a, b: log2(2/1) each; c: log2(2/2) = 0; d suppressed: log2(5/1)
    assert v.entropy == pytest.approx(2 + math.log2(5), rel=1e-5)
    # at the released level: {x: .4, y: .4, d lost: .2} against {x: .4, y: .4, missing: .2}
    assert v.hellinger == pytest.approx(math.sqrt(0.2), rel=1e-5)
    s = found.variables[1]
    assert (s.suppressed, s.level, s.precision_loss, s.hellinger) == (
        1,
        None,
        0.2,
        pytest.approx(math.sqrt(0.5 * ((math.sqrt(0.4) - math.sqrt(0.2)) ** 2 + 0.2)), rel=1e-5),
    )


def test_whole_file_figures_by_hand(found) -> None:
    assert (found.records, found.records_removed, found.suppressed_records) == (5, 3, 1)
    assert found.classes == 3  # (x, M), (x, F), (y, M); the suppressed record aside
    assert found.discernibility == 1 + 1 + 4 + 1 * 5
    assert found.c_avg == pytest.approx((5 - 1) / 3 / 2, rel=1e-5)
    assert found.precision_loss == pytest.approx((0.6 + 0.2) / 2)


def test_il1s_is_sdcmicros_definition(found) -> None:
    """IL1s = sum |x - x'| / (sqrt(2) S), S the original's sample standard deviation."""
    x = ORIGINAL["x"].to_numpy()
    expected = np.abs(x - RELEASED["x"].to_numpy()).sum() / (math.sqrt(2) * x.std(ddof=1))
    num = found.numeric[0]
    assert num.il1s == pytest.approx(expected, rel=1e-5) and found.il1s == num.il1s
    assert num.il1s_mean == pytest.approx(expected / 5, rel=1e-5) == found.il1s_mean
    assert num.mean_before == 3.0 and num.mean_after == pytest.approx(3.2)
    assert num.sd_change == pytest.approx(
        np.std([1, 2, 3, 6, 4], ddof=1) / x.std(ddof=1) - 1, rel=1e-5
    )


def test_il1s_equals_sdcmicro_on_its_testdata() -> None:
    """sdcMicro 5.8.1: dUtility(obj = x, xm = round(x / 1000) * 1000, method = "IL1s") on
    testdata's income, expend, savings gives 0.308682482569975 (0.00272989212846744,
    0.02821083515064579, 0.27774175529086192 per variable); R's round is half-to-even, as
    numpy's."""
    data = pd.read_csv(REPO / "tests" / "data" / "sdcmicro_testdata.csv")
    x = data[["income", "expend", "savings"]].astype(float)
    xm = x.apply(lambda v: np.round(v / 1000) * 1000)
    plan = UtilityPlan((), (), ("income", "expend", "savings"))
    found = compare(x, xm, plan, partitions=4)
    assert found.il1s == pytest.approx(0.308682482569975, rel=1e-5)
    expected = [0.00272989212846744, 0.02821083515064579, 0.27774175529086192]
    assert [v.il1s for v in found.numeric] == pytest.approx(expected, rel=1e-5)


def test_table_tvd_by_hand(found) -> None:
    # before at the released level: (x,M) .2 (x,F) .2 (y,M) .4 (lost,F) .2; after (-, -) .2
    (table,) = found.tables
    assert table.tvd == pytest.approx(0.2) and (table.cells_before, table.cells_after) == (4, 4)


def test_nothing_changed_costs_nothing() -> None:
    found = compare(ORIGINAL, ORIGINAL, PLAN, k=1)
    assert found.precision_loss == 0 and found.loss == 0 and found.entropy == 0
    assert all(v.hellinger == 0 and v.suppressed == 0 for v in found.variables)
    assert found.il1s == 0 and found.tables[0].tvd == 0 and found.suppressed_records == 0


def test_correlation_change() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=500)
    original = pd.DataFrame({"k": ["1"] * 500, "a": a, "b": a + rng.normal(size=500)})
    released = original.assign(b=rng.permutation(original["b"].to_numpy()))
    plan = UtilityPlan(("k",), ("k",), ("a", "b"))
    found = compare(original, released, plan)
    before = np.corrcoef(original["a"], original["b"])[0, 1]
    after = np.corrcoef(released["a"], released["b"])[0, 1]
    assert found.correlation_change == pytest.approx(abs(after - before), rel=1e-4)


def test_distances() -> None:
    p, q = pd.Series({"a": 0.5, "b": 0.5}), pd.Series({"a": 1.0})
    assert total_variation(p, q) == pytest.approx(0.5)
    assert hellinger(p, q) == pytest.approx(math.sqrt(1 - math.sqrt(0.5)))
    assert hellinger(p, p) == 0.0


def test_warnings_name_counts_not_values() -> None:
    found = compare(ORIGINAL, RELEASED, PLAN, warn_share=0.1)
    assert found.warnings == [
        "v: 1 of 5 values suppressed (20.0%, more than 10%)",
        "s: 1 of 5 values suppressed (20.0%, more than 10%)",
    ]


@pytest.mark.slow
@settings(max_examples=examples(25), deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_partitions_do_not_change_the_figures(partitions: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 200
    original = pd.DataFrame(
        {
            "v": rng.integers(0, 9, n).astype(str),
            "s": rng.choice(["M", "F"], n),
            "x": rng.normal(50, 10, n),
        }
    )
    released = original.assign(
        v=(original["v"].astype(int) // 3).astype(str).where(rng.random(n) > 0.1),
        x=original["x"].round(-1),
    )
    one = compare(original, released, PLAN, {"v": (1, 2)}, k=3)
    many = compare(original, released, PLAN, {"v": (1, 2)}, k=3, partitions=partitions)
    assert one == many


def test_numeric_figures_of_values_near_the_float_limits_are_finite() -> None:
    import warnings

    plan = UtilityPlan(("s",), ("s",), ("x",))
    original = pd.DataFrame({"s": ["M", "F"] * 3, "x": [1.7e308, -1.7e308, 1.0, 2.0, 3.0, 4.0]})
    released = original.assign(x=[1.7e308, 1.7e308, 1.0, 2.0, 3.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        (x,) = compare(original, released, plan, {}, k=1, partitions=3).numeric
    sd = math.sqrt(2 * 1.7**2 / 5) * 1e308  # the sample sd, about 1.5e308
    assert x.il1s == pytest.approx(3.4 / (math.sqrt(2) * sd / 1e308), rel=1e-5)  # 3.4e308 / ..
    assert x.sd_before == pytest.approx(sd, rel=1e-5)  # figures have six digits
    assert x.mean_before == pytest.approx(10 / 6, rel=1e-5)
    assert x.mean_change is not None and x.mean_change > 1e300  # an exact ratio, not inf
    after = np.std(released["x"] / 1e308, ddof=1) / np.std(original["x"] / 1e308, ddof=1)
    assert x.sd_change == pytest.approx(after - 1, rel=1e-5)


def test_moments_are_exact_whatever_the_partitions() -> None:
    rng = np.random.default_rng(8)
    n = 500
    x = rng.choice([1e15, 1.0, 1e-3], n) * rng.uniform(1, 2, n)
    plan = UtilityPlan(("s",), ("s",), ("x", "y"))
    original = pd.DataFrame({"s": ["M"] * n, "x": x, "y": rng.normal(0, 1, n)})
    released = original.assign(x=x * rng.uniform(0.9, 1.1, n))
    one = compare(original, released, plan, {}, k=1)
    for partitions in (3, 8):
        assert compare(original, released, plan, {}, k=1, partitions=partitions) == one

"""Individual, global and household risk, against sdcMicro's published test values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.risk.frequencies import frequencies
from pipeline.risk.measures import household_risk, individual_risk, measure_risk
from tests.conftest import examples

A = (2, 3, 2, 2, 3, 3, 1, 2)
B = (3, 3, 3, 3, 3, 3, 4, 3)
C = (1, 3, 1, 2, 1, 1, 1, 1)
W = np.array([18, 45.5, 39, 17, 92, 8, 123.5, 51])
RK = [
    0.01369863,
    0.08579129,
    0.01369863,
    0.17707583,
    0.01877883,
    0.01877883,
    0.03931625,
    0.01369863,
]


def sdc_codes() -> np.ndarray:
    return np.array([A, B, C], dtype=np.int32).T.copy()


def test_sdcmicro_rk() -> None:
    result = measure_risk(sdc_codes(), k=3, weights=W)
    assert result.rk == pytest.approx(RK, abs=5e-9)
    assert result.fk.tolist() == [3, 1, 3, 1, 2, 2, 1, 3]


def test_individual_risk_direct() -> None:
    rk = individual_risk(frequencies(sdc_codes(), W), weighted=True)
    assert rk == pytest.approx(RK, abs=5e-9)


def test_rk_is_one_over_fk_without_weights() -> None:
    result = measure_risk(sdc_codes())
    assert result.rk == pytest.approx(1.0 / result.fk, rel=1e-12)


def test_rk_is_one_over_fk_when_fk_equals_Fk() -> None:  # noqa: N802
    result = measure_risk(sdc_codes(), weights=np.ones(8))
    assert np.array_equal(result.Fk, result.fk)
    assert result.rk == pytest.approx(1.0 / result.fk, rel=1e-12)


def test_summary_fields() -> None:
    result = measure_risk(sdc_codes(), k=3, weights=W)
    s = result.summary
    assert s["records"] == 8
    assert s["k"] == 3
    assert s["sample_uniques"] == 3  # fk = 3,1,3,1,2,2,1,3
    assert s["k_violations"] == 5
    assert s["expected_reidentifications"] == pytest.approx(sum(RK), abs=1e-7)
    assert s["expected_reidentifications"] == pytest.approx(float(result.rk.sum()), rel=1e-12)
    assert s["global_risk"] == pytest.approx(s["expected_reidentifications"] / 8, rel=1e-12)
    assert s["max_individual_risk"] == pytest.approx(max(RK), abs=5e-9)
    assert s["weighted"] is True
    assert "household_expected_reidentifications" not in s
    assert result.household_rk is None
    assert measure_risk(sdc_codes(), k=2).summary["k_violations"] == 3


def test_household_risk_by_hand() -> None:
    rk = np.array([0.1, 0.2, 0.5, 0.3, 0.25, 0.4])
    household = np.array([0, 0, 1, -1, 0, -1])
    expected_h0 = 1 - (1 - 0.1) * (1 - 0.2) * (1 - 0.25)
    expected = [expected_h0, expected_h0, 0.5, 0.3, expected_h0, 0.4]  # -1 = alone
    assert household_risk(rk, household) == pytest.approx(expected, rel=1e-12)


def test_household_risk_in_summary() -> None:
    household = np.array([0, 0, 1, 1, 1, 2, -1, 2])
    result = measure_risk(sdc_codes(), k=3, weights=W, household=household)
    rk = result.rk
    groups = [[0, 1], [2, 3, 4], [5, 7], [6]]
    expected = np.empty(8)
    for members in groups:
        expected[members] = 1 - math.prod(1 - rk[i] for i in members)
    assert result.household_rk == pytest.approx(expected, rel=1e-12)
    s = result.summary
    assert s["household_expected_reidentifications"] == pytest.approx(expected.sum(), rel=1e-12)
    assert s["household_global_risk"] == pytest.approx(expected.mean(), rel=1e-12)


@given(
    st.lists(
        st.tuples(st.integers(-1, 2), st.integers(-1, 2), st.integers(-1, 1)),
        min_size=1,
        max_size=60,
    ),
    st.integers(2, 4),
)
@settings(max_examples=examples(100))
def test_each_convention_reports_the_other_one_s_figures(rows: list, k: int) -> None:
    codes = np.array(rows, dtype=np.int32)
    anymatch = measure_risk(codes, k=k, missing="any").summary
    category = measure_risk(codes, k=k, missing="category").summary
    for one, other in ((anymatch, category), (category, anymatch)):
        assert one["other_convention"] == {
            "missing": other["missing"],
            "sample_uniques": other["sample_uniques"],
            "k_violations": other["k_violations"],
        }

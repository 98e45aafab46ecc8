"""The ``risk`` and ``local_suppression`` steps over dask frames."""

from __future__ import annotations

from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from pipeline.core.columns import ROW
from pipeline.recipe.models import ColumnsSpec
from pipeline.risk.encode import codes_from_pandas
from pipeline.risk.measures import measure_risk
from pipeline.risk.suppression import default_order, suppress
from pipeline.steps.registry import StepContext
from pipeline.steps.risk import LocalSuppressionParams, RiskParams, local_suppression, risk
from tests.conftest import run_step

TESTDATA = Path(__file__).resolve().parents[1] / "data" / "sdcmicro_testdata.csv"
KEYS = ["urbrur", "roof", "walls", "water", "electcon", "relat", "sex"]


@pytest.fixture(autouse=True)
def _sync_scheduler():
    with dask.config.set(scheduler="sync"):
        yield


@pytest.fixture(scope="module")
def testdata() -> pd.DataFrame:
    """sdcMicro's testdata with the key variables as text (as the engine reads a CSV)."""
    pdf = pd.read_csv(TESTDATA, dtype={k: "string" for k in KEYS})
    pdf = pdf[[*KEYS, "sampling_weight"]].copy()
    pdf["sampling_weight"] = pdf["sampling_weight"].astype("Float64")
    # a few pre-existing missing values, which must not count as suppressions
    pdf.loc[[5, 50, 500], "water"] = pd.NA
    pdf.loc[[7, 700], "relat"] = pd.NA
    pdf[ROW] = np.arange(len(pdf), dtype="int64")
    return pdf


def ctx_for(name: str, weight: str | None = None) -> StepContext:
    columns = ColumnsSpec(key_variables=KEYS, weight=weight)
    return StepContext(seed=1, index=3, name=name, columns=columns)


def test_risk_step_records_facts_and_changes_nothing(testdata: pd.DataFrame) -> None:
    pdf = testdata.copy()
    ddf = dd.from_pandas(pdf, npartitions=3, sort=False)
    done = run_step(risk, ddf, RiskParams(k=3), ctx_for("risk", weight="sampling_weight"))
    pd.testing.assert_frame_equal(done.frame.compute(), ddf.compute())
    assert set(done.facts) >= {
        "sample_uniques",
        "k_violations",
        "global_risk",
        "max_individual_risk",
    }
    codes = codes_from_pandas(pdf, KEYS)
    expected = measure_risk(codes, 3, pdf["sampling_weight"].to_numpy(dtype="float64")).summary
    for name in ("sample_uniques", "k_violations"):
        assert done.facts[name] == expected[name]
    for name in ("global_risk", "max_individual_risk"):
        assert done.facts[name] == pytest.approx(expected[name], rel=1e-12)


def test_risk_step_reproduces_sdcmicro() -> None:
    pdf = pd.read_csv(TESTDATA, dtype={k: "string" for k in KEYS})
    pdf[ROW] = np.arange(len(pdf), dtype="int64")
    ctx = ctx_for("risk", weight="sampling_weight")
    done = run_step(risk, dd.from_pandas(pdf, npartitions=2, sort=False), RiskParams(k=3), ctx)
    assert done.facts["sample_uniques"] == 157
    assert done.facts["k_violations"] == 281
    assert done.facts["global_risk"] * len(pdf) == pytest.approx(10.78, abs=0.005)


def test_risk_step_missing_weight_counts_as_zero() -> None:
    pdf = pd.DataFrame(
        {
            "a": pd.array(["1", "1", "1", "2", "2", "3"], dtype="string"),
            "w": pd.array([1.0, None, 3.0, 4.0, 5.0, 6.0], dtype="Float64"),
        }
    )
    pdf[ROW] = np.arange(len(pdf), dtype="int64")
    ctx = StepContext(
        seed=1, index=0, name="risk", columns=ColumnsSpec(key_variables=["a"], weight="w")
    )
    done = run_step(risk, dd.from_pandas(pdf, npartitions=2, sort=False), RiskParams(k=3), ctx)
    weights = np.array([1.0, 0.0, 3.0, 4.0, 5.0, 6.0])
    expected = measure_risk(codes_from_pandas(pdf, ["a"]), 3, weights).summary
    assert done.facts["global_risk"] == pytest.approx(expected["global_risk"], rel=1e-12)
    assert done.facts["max_individual_risk"] == pytest.approx(
        expected["max_individual_risk"], rel=1e-12
    )


def run_suppression(pdf: pd.DataFrame, npartitions: int, **params) -> tuple[pd.DataFrame, dict]:
    ddf = dd.from_pandas(pdf, npartitions=npartitions, sort=False)
    ctx = ctx_for("local_suppression")
    done = run_step(local_suppression, ddf, LocalSuppressionParams(**params), ctx)
    result = done.frame.compute().sort_values(ROW, kind="stable").reset_index(drop=True)
    return result, done.facts


def test_local_suppression_independent_of_partitions(testdata: pd.DataFrame) -> None:
    one, facts_one = run_suppression(testdata, 1, k=3)
    four, facts_four = run_suppression(testdata, 4, k=3)
    pd.testing.assert_frame_equal(one, four)
    assert facts_one == facts_four

    # k holds afterwards
    codes = codes_from_pandas(one, KEYS)
    assert measure_risk(codes, 3).summary["k_violations"] == 0

    # only key values were set to missing; the rest is untouched
    before = testdata.reset_index(drop=True)
    pd.testing.assert_series_equal(one["sampling_weight"], before["sampling_weight"])
    pd.testing.assert_series_equal(one[ROW], before[ROW])
    newly = {}
    for key in KEYS:
        was, now = before[key], one[key]
        kept = now.notna()
        assert (now[kept] == was[kept]).all()
        newly[key] = int((now.isna() & was.notna()).sum())
    assert facts_one["suppressions"] == newly
    assert facts_one["suppressed_total"] == sum(newly.values())
    assert facts_one["suppressed_total"] > 0
    assert str(one["water"].dtype) == "string"


def test_local_suppression_equals_suppress_on_every_record(testdata: pd.DataFrame) -> None:
    # the step works on distinct combinations; the records must get what suppress() gives
    # each record of the whole file
    out, facts = run_suppression(testdata, 3, k=3)
    codes = codes_from_pandas(testdata, KEYS)
    cards = [int(codes[:, j].max()) + 1 for j in range(len(KEYS))]
    order = default_order(cards, KEYS)  # the step's: ties by name
    expected = suppress(codes, 3, order)
    newly = (expected.codes < 0) & (codes >= 0)
    before = testdata.reset_index(drop=True)
    for j, key in enumerate(KEYS):
        got = (out[key].isna() & before[key].notna()).to_numpy()
        np.testing.assert_array_equal(got, newly[:, j], err_msg=key)
    assert facts["suppressed_total"] == int(newly.sum())
    shuffled = suppress(codes[::-1], 3, order)
    np.testing.assert_array_equal(shuffled.codes[::-1], expected.codes)


def test_local_suppression_importance(testdata: pd.DataFrame) -> None:
    # relat is the variable with most categories: by default it takes most suppressions;
    # naming it most important shifts suppressions to other variables
    _, default = run_suppression(testdata, 2, k=3)
    _, relat_first = run_suppression(testdata, 2, k=3, importance=["relat"])
    assert relat_first["suppressions"]["relat"] < default["suppressions"]["relat"]


def test_importance_must_name_key_variables() -> None:
    params = LocalSuppressionParams(k=3, importance=["relat", "age"])
    problems = params.recipe_problems(ColumnsSpec(key_variables=KEYS))
    assert len(problems) == 1
    field, message = problems[0]
    assert field == "importance" and "age" in message
    assert (
        LocalSuppressionParams(importance=["sex"]).recipe_problems(ColumnsSpec(key_variables=KEYS))
        == []
    )
    assert LocalSuppressionParams().recipe_problems(ColumnsSpec()) != []


def test_local_suppression_keeps_dtype_of_numpy_int_keys() -> None:
    pdf = pd.DataFrame({"a": [1, 1, 1, 2, 2, 3, 1, 2], "b": [1, 1, 2, 2, 2, 3, 1, 2]})
    pdf[ROW] = np.arange(len(pdf), dtype="int64")
    ctx = StepContext(
        seed=1, index=0, name="local_suppression", columns=ColumnsSpec(key_variables=["a", "b"])
    )
    ddf = dd.from_pandas(pdf, npartitions=4, sort=False)
    done = run_step(local_suppression, ddf, LocalSuppressionParams(k=2), ctx)
    out = done.frame
    assert done.facts["suppressed_total"] > 0
    parts = [p.compute() for p in out.to_delayed()]
    for part in parts:
        assert part.dtypes.to_dict() == out.dtypes.to_dict()

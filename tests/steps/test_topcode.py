"""top_code and bottom_code: fixed thresholds and whole-file quantiles."""

from __future__ import annotations

import math

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from pipeline.core.columns import ROW
from pipeline.core.errors import EXIT_INPUT, InputDataError
from pipeline.recipe.models import ColumnsSpec
from pipeline.steps.registry import StepContext
from pipeline.steps.topcode import BottomCodeParams, TopCodeParams, bottom_code, top_code
from tests.conftest import run_step


@pytest.fixture(autouse=True)
def _sync_scheduler():
    with dask.config.set(scheduler="sync"):
        yield


def make_ctx() -> StepContext:
    return StepContext(seed=42, index=2, name="top_code", columns=ColumnsSpec())


def to_dask(values, dtype: str, npartitions: int) -> dd.DataFrame:
    pdf = pd.DataFrame({"v": pd.array(values, dtype=dtype)})
    pdf[ROW] = pd.array(range(len(pdf)), dtype="int64")
    return dd.from_pandas(pdf, npartitions=npartitions, sort=False)


def run(func, params, values, dtype: str = "Int64", npartitions: int = 2):
    done = run_step(func, to_dask(values, dtype, npartitions), params, make_ctx())
    (metric,) = dask.compute(done.metrics["values_changed"])
    return done.frame.compute().sort_values(ROW)["v"].reset_index(drop=True), done, int(metric)


def test_top_code_fixed_above() -> None:
    out, done, changed = run(top_code, TopCodeParams(column="v", above=90), [30, 90, 91, 116, None])
    assert out.tolist()[:4] == [30, 90, 90, 90]
    assert out[4] is pd.NA
    assert str(out.dtype) == "Int64"
    assert done.facts["threshold"] == 90.0 and done.facts["replace_with"] == 90.0
    assert "quantile" not in done.facts
    assert changed == 2


def test_top_code_replace_with() -> None:
    params = TopCodeParams(column="v", above=90, replace_with=95)
    out, done, changed = run(top_code, params, [116, 90, 100, 5])
    assert out.tolist() == [95, 90, 95, 5]
    assert done.facts["replace_with"] == 95.0
    assert changed == 2


def test_top_code_non_integer_replacement_on_integer_column_gives_float() -> None:
    params = TopCodeParams(column="v", above=90, replace_with=90.5)
    out, _, _ = run(top_code, params, [116, 10])
    assert str(out.dtype) == "Float64"
    assert out.tolist() == [90.5, 10.0]


def test_top_code_float_column() -> None:
    params = TopCodeParams(column="v", above=1.5)
    out, _, changed = run(top_code, params, [1.0, 1.5, 1.75, None, 3.0], dtype="Float64")
    assert out.tolist()[:3] == [1.0, 1.5, 1.5] and out[3] is pd.NA and out[4] == 1.5
    assert changed == 2


@pytest.mark.parametrize("q", [0.5, 0.8, 0.9, 0.995])
def test_top_code_quantile_over_whole_frame(q: float) -> None:
    # Sorted values split into 4 partitions: every per-partition quantile is different.
    values = [float(x) for x in np.r_[np.arange(0, 40), np.arange(100, 140) * 3.7]]
    expected = float(np.quantile(np.asarray(values), q))
    results = []
    for npartitions in (1, 4):
        params = TopCodeParams(column="v", quantile=q)
        out, done, changed = run(top_code, params, values, dtype="Float64", npartitions=npartitions)
        assert done.facts["threshold"] == pytest.approx(expected, rel=0, abs=1e-12)
        assert done.facts["quantile"] == q
        assert changed == sum(v > expected for v in values)
        assert out.tolist() == [min(v, done.facts["threshold"]) for v in values]
        results.append(out)
    pd.testing.assert_series_equal(results[0], results[1])


def test_top_code_quantile_ignores_missing() -> None:
    values = [1.0, None, 2.0, 3.0, None, 4.0, 100.0]
    params = TopCodeParams(column="v", quantile=0.5)
    out, done, _ = run(top_code, params, values, dtype="Float64", npartitions=3)
    assert done.facts["threshold"] == 3.0
    assert out.isna().tolist() == [v is None for v in values]


def test_top_code_quantile_integer_column_floors_threshold() -> None:
    values = list(range(1, 12))  # 0.95 quantile = 10.5 -> 10
    params = TopCodeParams(column="v", quantile=0.95)
    out, done, changed = run(top_code, params, values, npartitions=4)
    assert np.quantile(values, 0.95) == 10.5
    assert done.facts["threshold"] == 10.0
    assert str(out.dtype) == "Int64"
    assert out.tolist() == [*range(1, 11), 10]
    assert changed == 1


def test_bottom_code_fixed_and_quantile() -> None:
    params = BottomCodeParams(column="v", below=0)
    out, done, changed = run(bottom_code, params, [-5, 0, 3, None, -1])
    assert out.tolist()[:3] == [0, 0, 3] and out[3] is pd.NA and out[4] == 0
    assert changed == 2
    assert done.facts["threshold"] == 0.0

    values = list(range(1, 12))  # 0.05 quantile = 1.5 -> ceil 2
    q_params = BottomCodeParams(column="v", quantile=0.05)
    out, done, changed = run(bottom_code, q_params, values, npartitions=4)
    assert done.facts["threshold"] == float(math.ceil(np.quantile(values, 0.05))) == 2.0
    assert out.tolist() == [2, *range(2, 12)]
    assert str(out.dtype) == "Int64"
    assert changed == 1


def test_bottom_code_replace_with() -> None:
    params = BottomCodeParams(column="v", below=10, replace_with=-1)
    out, _, _ = run(bottom_code, params, [3, 10, 20])
    assert out.tolist() == [-1, 10, 20]


def test_numpy_integer_column() -> None:
    out, _, _ = run(top_code, TopCodeParams(column="v", above=5), [1, 9, 5], dtype="int64")
    assert out.tolist() == [1, 5, 5]
    assert out.dtype == np.dtype("int64")


def test_non_numeric_column_is_input_error() -> None:
    ddf = to_dask(["10", "20"], "string", 1)
    with pytest.raises(InputDataError, match="not numeric") as info:
        run_step(top_code, ddf, TopCodeParams(column="v", above=5), make_ctx())
    assert info.value.exit_code == EXIT_INPUT
    with pytest.raises(InputDataError):
        run_step(bottom_code, ddf, BottomCodeParams(column="v", quantile=0.1), make_ctx())


def test_quantile_of_all_missing_column_is_input_error() -> None:
    ddf = to_dask([None, None], "Float64", 1)
    with pytest.raises(InputDataError, match="no values"):
        run_step(top_code, ddf, TopCodeParams(column="v", quantile=0.9), make_ctx())


@pytest.mark.parametrize(
    ("model", "params"),
    [
        (TopCodeParams, {}),
        (TopCodeParams, {"above": 90, "quantile": 0.9}),
        (TopCodeParams, {"quantile": 1.0}),
        (TopCodeParams, {"quantile": 0}),
        (TopCodeParams, {"below": 1}),
        (BottomCodeParams, {}),
        (BottomCodeParams, {"below": 0, "quantile": 0.1}),
        (BottomCodeParams, {"above": 1}),
    ],
)
def test_params_validation(model, params: dict) -> None:
    with pytest.raises(ValidationError):
        model.model_validate({"column": "v", **params})


def test_numeric_columns_declared() -> None:
    assert TopCodeParams(column="v", above=1).declare(ColumnsSpec()).numeric == {"v"}
    assert BottomCodeParams(column="v", below=1).columns_used() == {"column": "v"}

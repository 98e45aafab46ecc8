"""``add_noise``: the defining properties of additive and correlated noise, and determinism."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from pipeline.core.columns import ROW, ColumnsSpec
from pipeline.core.errors import InputDataError
from pipeline.steps.noise import AddNoiseParams, add_noise
from pipeline.steps.registry import StepContext
from tests.conftest import demo_recipe, invoke, run_step

N = 40_000


def _frame(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(300, 40, N)
    b = 0.6 * a + rng.normal(0, 20, N)
    c = rng.gamma(2, 50, N)
    frame = pd.DataFrame({ROW: np.arange(N), "a": a, "b": b, "c": c})
    frame.loc[::97, "c"] = np.nan
    return frame


def _run(frame: pd.DataFrame, partitions: int, **raw) -> pd.DataFrame:
    params = AddNoiseParams(variables=["a", "b", "c"], **raw)
    ctx = StepContext(
        seed=7, index=3, name="add_noise", columns=ColumnsSpec(), base_dir=Path(), location="test"
    )
    effect = run_step(add_noise, dd.from_pandas(frame, npartitions=partitions), params, ctx)
    return effect.frame.compute().sort_values(ROW).reset_index(drop=True)


def test_additive_noise_has_the_stated_scale() -> None:
    frame = _frame()
    out = _run(frame, 4, method="additive", noise=50)
    for column in ("a", "b", "c"):
        diff = (out[column].astype(float) - frame[column]).dropna()
        assert abs(diff.mean()) < 0.02 * frame[column].std()
        assert diff.std() == pytest.approx(0.5 * frame[column].std(), rel=0.03)  # sdcMicro's
    assert out["c"].isna().sum() == frame["c"].isna().sum()  # missing stays missing
    noise = (out[["a", "b"]].astype(float) - frame[["a", "b"]]).to_numpy()
    assert abs(np.corrcoef(noise.T)[0, 1]) < 0.03  # independent per variable


def test_correlated_noise_keeps_means_and_covariance() -> None:
    frame = _frame(2)
    out = _run(frame, 3, method="correlated", noise=100)
    full = frame.dropna()
    released = out.loc[full.index, ["a", "b", "c"]].astype(float)
    assert np.allclose(released.mean(), full[["a", "b", "c"]].mean(), rtol=0.01)
    before, after = full[["a", "b", "c"]].cov().to_numpy(), released.cov().to_numpy()
    assert np.allclose(after, before, rtol=0.06, atol=0.06 * np.abs(before).max())
    assert not np.allclose(released.to_numpy(), full[["a", "b", "c"]].to_numpy())


@pytest.mark.parametrize("method", ["additive", "correlated"])
def test_the_same_for_the_seed_whatever_the_partitions(method: str) -> None:
    frame = _frame(3).iloc[:5000]
    one = _run(frame, 1, method=method)
    many = _run(frame, 7, method=method)
    pd.testing.assert_frame_equal(one, many)


@pytest.mark.slow
def test_in_a_run_the_loss_is_measured(workdir: Path) -> None:
    steps = "  - add_noise: {variables: [income], noise: 10}\n"
    result = invoke("run", str(demo_recipe(workdir, steps, extra="risk: {k: 1}\n")))
    assert result.exit_code == 0, result.output
    manifest = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    facts = next(s for s in manifest["steps"] if s["name"] == "add_noise")["facts"]
    assert facts == {
        "method": "additive",
        "noise": 10.0,
        "rescale": 1.0,
        "beyond_float_range.income": 0,
    }
    (income,) = [v for v in manifest["utility"]["numeric"] if v["column"] == "income"]
    assert income["il1s_mean"] > 0 and abs(income["mean_change"]) < 0.05


def _magnitudes(n: int = 3000) -> pd.DataFrame:
    """Values whose float sums depend on their order (magnitudes from 1e-3 to 1e15)."""
    rng = np.random.default_rng(11)
    a = rng.choice([1e15, 3e9, 1.0, 1e-3], n) * rng.uniform(1, 2, n)
    b = 0.3 * a + rng.lognormal(3, 4, n)
    frame = pd.DataFrame({ROW: np.arange(n), "a": a, "b": b, "c": rng.normal(50, 5, n)})
    frame.loc[::13, "c"] = np.nan
    return frame


@pytest.mark.parametrize("method", ["additive", "correlated"])
def test_byte_for_byte_the_same_whatever_the_partitions(method: str) -> None:
    frame = _magnitudes()
    one = _run(frame, 1, method=method, noise=1000)
    for partitions in (3, 8):
        pd.testing.assert_frame_equal(
            _run(frame, partitions, method=method, noise=1000), one, check_exact=True
        )


@pytest.mark.parametrize("method", ["additive", "correlated"])
@pytest.mark.parametrize("big", [1e200, 1e308])
def test_values_near_the_float_limits_get_noise_of_the_stated_scale(method: str, big: float):
    frame = _frame(4).iloc[:4000].copy()
    frame.loc[[1, 2], "a"] = big  # records with every variable (c is missing in record 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out = _run(frame, 3, method=method, noise=100)
    noisy = out[["a", "b", "c"]].astype(float)
    assert np.isfinite(noisy.to_numpy()[~np.isnan(noisy.to_numpy())]).all()
    diff = (noisy["a"] / big - frame["a"] / big).drop([1, 2])  # in units of big: no overflow
    sd = np.sqrt(2 / (len(frame) - 1))  # the sd of a, about big / 45, and so the noise's
    assert 0.5 < float(diff.std() / sd) < 1.5  # (correlated: times the rescaling, 0.7)


def test_noise_beyond_the_floats_is_refused_naming_the_column_and_records() -> None:
    frame = _frame(5).iloc[:3000].copy()
    frame.loc[::10, "b"] = 1.7e308
    with pytest.raises(InputDataError) as found:
        _run(frame, 2, noise=1000)
    (problem,) = found.value.problems
    assert problem.code == "beyond_float_range" and "column 'b': 3000 record(s)" in problem.message
    assert "1.7e" not in problem.message and "e+308" in problem.message  # the limit, no value


def test_the_weight_is_refused_and_variables_are_listed_once() -> None:
    params = AddNoiseParams(variables=["a", "w", "a"])
    problems = params.recipe_problems(ColumnsSpec(weight="w"))
    assert [field for field, _ in problems] == ["variables[2]", "variables[1]"]
    assert "negative" in problems[1][1] and "columns.weight" in problems[1][1]
    assert AddNoiseParams(variables=["a"]).recipe_problems(ColumnsSpec(weight="w")) == []


def _published(workdir: Path, partitions: int) -> str:
    """The SHA-256 of the data files of a run with ``partitions``."""
    import hashlib

    out = workdir / "out" / f"p{partitions}"
    args = ("run", str(workdir / "recipes" / "test.yaml"), "--output", str(out), "-q")
    result = invoke(*args, "--partitions", str(partitions))
    assert result.exit_code == 0, result.output
    files = sorted((out / "data").iterdir())
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


@pytest.mark.slow
def test_the_published_files_are_identical_for_1_3_and_8_partitions(workdir: Path) -> None:
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    rng = np.random.default_rng(3)
    magnitude = rng.choice([1e15, 3e9, 1.0, 1e-3], len(frame)) * rng.uniform(1, 2, len(frame))
    frame["income"] = [repr(float(v)) for v in magnitude]
    frame.to_csv(workdir / "data" / "census.csv", index=False)
    steps = (
        "  - add_noise: {variables: [income], noise: 1000}\n"
        "  - add_noise: {variables: [income, age], method: correlated}\n"
    )
    demo_recipe(workdir, steps, extra="risk: {k: 1}\n")
    assert len({_published(workdir, n) for n in (1, 3, 8)}) == 1

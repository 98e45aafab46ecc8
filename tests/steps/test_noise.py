"""``add_noise``: the defining properties of additive and correlated noise, and determinism."""

from __future__ import annotations

import json
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from pipeline.columns import ROW, ColumnsSpec
from pipeline.steps.noise import AddNoiseParams, add_noise
from pipeline.steps.registry import StepContext
from tests.conftest import demo_recipe, run_step
from tests.gate.test_stages import invoke

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
    ctx = StepContext(seed=7, index=3, name="add_noise", columns=ColumnsSpec(), base_dir=Path(),
                      location="test")  # fmt: skip
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


def test_in_a_run_the_loss_is_measured(workdir: Path) -> None:
    steps = "  - add_noise: {variables: [income], noise: 10}\n"
    result = invoke("run", str(demo_recipe(workdir, steps, extra="risk: {k: 1}\n")))
    assert result.exit_code == 0, result.output
    manifest = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    facts = next(s for s in manifest["steps"] if s["name"] == "add_noise")["facts"]
    assert facts == {"method": "additive", "noise": 10.0, "rescale": 1.0}
    (income,) = [v for v in manifest["utility"]["numeric"] if v["column"] == "income"]
    assert income["il1s_mean"] > 0 and abs(income["mean_change"]) < 0.05

"""Risk and loss of perturbed variables: hand-computed cases and a run's figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.utility.perturbed import category_changes, perturbation
from tests.conftest import demo_recipe, invoke


def test_unperturbed_records_are_all_disclosed_and_linked() -> None:
    x = np.array([[1.0, 10], [2, 30], [4, 20], [8, 50]])
    found = perturbation(x, x.copy(), ["a", "b"])
    assert found.records == 4 and found.sse_sst == 0
    assert found.interval_disclosure == 1 and found.record_linkage == 1


def test_hand_computed_figures() -> None:
    x = np.array([[0.0], [1], [2], [3], [np.nan]])
    y = np.array([[0.0], [1.5], [2], [2.0], [1]])
    found = perturbation(x, y, ["a"])
    assert found.records == 4  # the record missing before is left out
    sd = np.std([0, 1, 2, 3], ddof=1)
    assert found.sse_sst == pytest.approx((0.25 + 1) / 5, abs=1e-6)  # SST = 3 sd^2 / sd^2 * ...
    width = 0.05 * np.std([0, 1.5, 2, 2], ddof=1)
    assert width < 0.5
    assert found.interval_disclosure == pytest.approx(0.5)  # records 0 and 2 within +- width
    # nearest originals of 0, 1.5, 2, 2 among 0, 1, 2, 3: 0 (own), 1 or 2 (tie, not own:
    # |1.5 - 1| = 0.5 = |1.5 - 2|, own is 1: linked), 2 (own), 2 (not own 3)
    assert found.record_linkage == pytest.approx(0.75)
    assert sd > 0


def test_linkage_falls_as_noise_grows() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5000, 3))
    low = perturbation(x, x + rng.normal(scale=0.01, size=x.shape), list("abc"))
    high = perturbation(x, x + rng.normal(scale=1.0, size=x.shape), list("abc"))
    assert low.record_linkage > 0.95 > 0.2 > high.record_linkage
    assert low.sse_sst < 0.001 < 0.5 < high.sse_sst


def test_category_changes() -> None:
    pairs = pd.DataFrame(
        {
            "before": ["1", "1", "2", "2", "2", None],
            "after": ["1", "2", "2", "1", None, "1"],
            "n": [6, 2, 3, 1, 5, 4],
        }
    )
    overall, per = category_changes(pairs)
    assert per == [0.25, 0.25] and overall == pytest.approx(3 / 12)


@pytest.mark.slow
def test_a_run_measures_perturbed_and_randomised_variables(workdir: Path) -> None:
    steps = (
        "  - microaggregate: {variables: [income, household_size], k: 3}\n"
        "  - pram: {column: sex, pd: 0.7}\n"
    )
    result = invoke("run", str(demo_recipe(workdir, steps, extra="risk: {k: 1}\n")))
    assert result.exit_code == 0, result.output
    manifest = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    found = manifest["utility"]["perturbation"]
    assert found["variables"] == ["income", "household_size"]
    assert 0 < found["sse_sst"] < 0.5 and found["records"] > 0
    facts = next(s for s in manifest["steps"] if s["name"] == "microaggregate")["facts"]
    assert found["sse_sst"] == pytest.approx(facts["sse_sst"], abs=1e-6)
    (sex,) = [v for v in manifest["utility"]["variables"] if v["column"] == "sex"]
    assert 0 < sex["changed_share"] < 0.5 and len(sex["changed_by_category"]) == 2
    html = (workdir / "out" / "run" / "risk_report.html").read_text()
    assert "record linkage" in html


@pytest.mark.slow
def test_the_command_measures_what_the_run_measured(workdir: Path, capsys) -> None:
    from pipeline.cli.utility import main

    steps = (
        "  - microaggregate: {variables: [income, household_size], k: 4}\n"
        "  - pram: {column: occupation}\n"
    )
    result = invoke("run", str(demo_recipe(workdir, steps, extra="risk: {k: 1}\n")))
    assert result.exit_code == 0, result.output
    run = json.loads((workdir / "out" / "run" / "manifest.json").read_text())["utility"]
    capsys.readouterr()
    code = main(
        [
            str(workdir / "data" / "census.csv"),
            str(workdir / "out" / "run" / "data"),
            "--key-vars",
            "sex",
            "--perturbed",
            "income,household_size",
            "--randomized",
            "occupation",
            "--format",
            "json",
        ]
    )
    assert code == 0
    found = json.loads(capsys.readouterr().out)
    assert found["perturbation"] == run["perturbation"]
    (mine,) = [v for v in found["variables"] if v["column"] == "occupation"]
    (theirs,) = [v for v in run["variables"] if v["column"] == "occupation"]
    assert mine["changed_by_category"] == theirs["changed_by_category"]


def test_equal_to_sdcmicro_on_casc_microaggregated_by_sdcmicro() -> None:
    data = Path(__file__).resolve().parents[1] / "data"
    x = pd.read_csv(data / "casc_refmicrodata.csv").to_numpy(np.float64)
    y = pd.read_csv(data / "casc_mdav_k3_sdcmicro.csv").to_numpy(np.float64)
    names = [f"v{j}" for j in range(x.shape[1])]
    drisk = {0.01: 0.0, 0.05: 0.0, 0.1: 0.002778, 0.2: 0.068519, 0.5: 0.634259, 1.0: 0.955556}
    for k, theirs in drisk.items():  # sdcMicro 5.8.1 dRisk(x, xm, k)
        assert perturbation(x, y, names, k).interval_disclosure == pytest.approx(theirs, abs=1e-6)
    assert perturbation(x, y, names).sse_sst == pytest.approx(0.056922, abs=1e-6)  # 5.6922%


def _pairs(seed: int = 5, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.lognormal(8, 1, n), rng.normal(50, 10, n)])
    return x, x + rng.normal(0, 1, (n, 2)) * x.std(axis=0) * 0.3


@pytest.mark.parametrize("shift", [600, 1000])
def test_values_near_the_float_limits_give_the_figures_of_the_same_values_scaled(shift: int):
    import warnings

    x, y = _pairs()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # 2**1000 squared is beyond the floats
        big = perturbation(np.ldexp(x, shift), np.ldexp(y, shift), ["a", "b"])
    assert big == perturbation(x, y, ["a", "b"])  # the figures are invariant to the scale
    assert big.sse_sst is not None and big.record_linkage is not None


def test_opposite_values_near_the_float_limits_give_finite_figures() -> None:
    x = np.array([[1.7e308], [-1.7e308], [1.0], [2.0], [3.0], [4.0]])
    found = perturbation(x, x[::-1].copy(), ["a"])  # x - y is beyond the floats
    assert found.sse_sst == pytest.approx(2.0, rel=1e-6)
    assert found.interval_disclosure is not None and found.record_linkage is not None


def test_the_figures_are_those_of_the_plain_formulas_on_ordinary_values() -> None:
    x, y = _pairs(6)
    mean, sd = x.mean(axis=0), x.std(axis=0, ddof=1)
    zx, zy = (x - mean) / sd, (y - mean) / sd
    found = perturbation(x, y, ["a", "b"])
    assert found.sse_sst == round(float(((zx - zy) ** 2).sum() / (zx * zx).sum()), 6)
    width = 0.05 * y.std(axis=0, ddof=1)
    assert found.interval_disclosure == round(float((np.abs(x - y) <= width).all(axis=1).mean()), 6)

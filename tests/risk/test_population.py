"""Population uniques from the class sizes: ARX's estimators and Dankar's rule, against ARX."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.api import risk
from pipeline.core.errors import RecipeError
from pipeline.risk.population import Histogram, pitman, population_size, snb, uniqueness, zayatz
from tests.conftest import demo_recipe, invoke, reasons, run_entry

DATA = Path(__file__).parents[1] / "data"
# ARX (aacd487) on adult's nine quasi-identifiers: sampling fraction -> (Zayatz, Pitman, SNB)
# population uniques (counts; None: ARX found no solution)
ARX = {
    0.001: (8000118.898417165, 2278255.692101257, None),
    0.01: (819539.9058719622, 436167.7146707063, None),
    0.05: (178797.8620725102, 137350.02293962502, None),
    0.1: (96741.67099172718, 83503.47855187597, None),
    0.2: (53946.23356045803, 50766.87124638239, None),
    0.5: (26056.918512805987, 26295.40039041532, None),
    0.9: (16756.004848635806, 17242.651883685314, 16653.11354496266),
    1.0: (15512.0, 15986.581986078201, 15512.000000688842),
}
# ARX's TestRiskMetrics.testDecisionRule2: fraction -> (Dankar's share, the model it chose)
DANKAR = {
    0.1: (0.27684993883653597, "pitman"),
    0.2: (0.3577099234829125, "zayatz"),
    0.01: (0.1446083531167384, "pitman"),
    1.0: (0.5142895033485844, "zayatz"),
}


def adult() -> np.ndarray:
    rows = [
        line.split()
        for line in (DATA / "arx" / "adult_class_sizes.txt").read_text().split("\n")
        if line
    ]
    return np.concatenate([np.full(int(f), int(k)) for k, f in rows])


@pytest.mark.parametrize("fraction", list(ARX))
def test_each_estimator_equals_arx_on_adult(fraction: float) -> None:
    h = Histogram.of_counts(adult())
    population = population_size(30162, fraction)
    expected_zayatz, expected_pitman, expected_snb = ARX[fraction]
    assert zayatz(h, population) == pytest.approx(expected_zayatz, rel=1e-12)
    # ARX's Newton steps stop at a residual of 1e-6; the root here is exact
    assert pitman(h, population) == pytest.approx(expected_pitman, rel=1e-9)
    if fraction > 0.1:
        found = snb(h, population)
        if expected_snb is None:
            assert found is None
        else:
            assert found == pytest.approx(expected_snb, rel=1e-9)


@pytest.mark.parametrize("fraction", list(DANKAR))
def test_dankar_s_rule_equals_arx_s_test(fraction: float) -> None:
    found = uniqueness(adult(), fraction)
    share, model = DANKAR[fraction]
    assert found["dankar"] == pytest.approx(share, rel=1e-9)
    assert found["dankar_model"] == model
    assert found["sample_uniques"] == pytest.approx(15512 / 30162)


def test_small_and_empty_samples() -> None:
    # ARX's testDecisionRule: seven records, all unique, pi = 0.2: Pitman has no solution and
    # Zayatz counts all 35 of the population
    found = uniqueness(np.ones(7), 0.2)
    assert found["population"] == 35 and found["pitman"] is None
    assert (found["dankar"], found["dankar_model"]) == (1.0, "zayatz")
    none = uniqueness(np.full(10, 3), 0.5)
    assert (none["dankar"], none["dankar_model"], none["zayatz"]) == (0.0, "none", 0.0)


def test_the_api_takes_a_fraction() -> None:
    data = DATA / "sdcmicro_testdata.csv"
    keys = ["urbrur", "roof", "walls", "water", "electcon", "relat", "sex"]
    given = risk(data, keys, sampling_fraction=0.01).summary["population"]
    assert given["population"] == 458000 and given["dankar_model"] == "pitman"
    assert "population" not in risk(data, keys).summary  # only when asked
    with pytest.raises(RecipeError, match=r"\(0, 1\]"):
        risk(data, keys, sampling_fraction=1.5)


def test_a_run_gates_the_estimate_and_the_command_prints_it(workdir: Path, capfd) -> None:
    steps = "  - recode: {column: age, bands: [0, 20, 40, 60, 80]}\n"
    extra = "risk: {k: 1, population: {max_share: 0.0}}\n"  # the fraction from the weights
    result = invoke("run", str(demo_recipe(workdir, steps, extra=extra)))
    assert result.exit_code == 4 and "population_uniques_too_many" in reasons(result), result.output
    report = json.loads((workdir / "out" / "run.gate_report.json").read_text())
    (check,) = [c for c in report["output"]["checks"] if c["id"] == "risk.population.max_share"]
    assert 0 < check["observed"] <= 1 and "Dankar" in check["description"]
    extra = "risk: {k: 1, population: {max_share: 1.0}}\n"
    result = invoke("run", str(demo_recipe(workdir, steps, output="out/ok", extra=extra)))
    assert result.exit_code == 0, result.output
    out = workdir / "out" / "ok"
    after = json.loads((out / "risk_report.json").read_text())["after"]["summary"]["population"]
    released = pd.read_parquet(out / "data")
    assert after["sampling_fraction"] == pytest.approx(len(released) / released["weight"].sum())
    path = demo_recipe(workdir, steps, extra="risk: {k: 1, population: {}}\n")
    path.write_text(path.read_text().replace("  weight: weight\n", ""))
    result = invoke("run", str(path))
    assert result.exit_code == 2 and "needs sampling_fraction, or the weights" in result.output
    args = ["risk", str(DATA / "sdcmicro_testdata.csv"), "--key-vars", "urbrur,roof"]
    code, out = run_entry([*args, "--sampling-fraction", "0"], capfd)
    assert code == 2 and "(0, 1]" in out

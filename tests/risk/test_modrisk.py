"""Model-based risk (sdcMicro's modRisk): equal to sdcMicro, its fit exact, its limits named."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.api import risk
from pipeline.core.errors import InputDataError, RecipeError
from pipeline.core.groups import distinct_rows
from pipeline.risk import modrisk
from tests.conftest import demo_recipe, invoke, reasons

DATA = Path(__file__).parents[1] / "data"
KEYS = ["urbrur", "roof", "walls", "water", "electcon", "relat", "sex"]
# sdcMicro 5.8.1, modRisk(method = "default", weights = "sampling_weight"), the key variables as
# factors (tests/data/modrisk/modrisk_factor.R): (formula, bound) -> (gr1, gr2)
SDCMICRO = {
    (None, None): (0.2249330480973577, 0.28042216626930527),
    ("urbrur:roof", None): (0.22787809779522489, 0.28272657832122189),
    ("urbrur:water + roof:walls + water:sex", None): (0.21456325966800341, 0.27460229006796327),
    (None, 5.0): (0.32746436684138291, 0.40824711131785785),
}


@pytest.mark.parametrize(("terms", "bound"), list(SDCMICRO))
def test_testdata_equals_sdcmicro(terms: str | None, bound: float | None) -> None:
    found = risk(
        DATA / "sdcmicro_testdata.csv",
        KEYS,
        weight="sampling_weight",
        model=terms or True,
        bound=bound,
    ).summary["model_risk"]
    unique, match = SDCMICRO[(terms, bound)]
    # R's glm stops at a relative change of 1e-8; the fit here is exact (closed form or IPF)
    assert found["unique_risk"] == pytest.approx(unique, abs=1e-9)
    assert found["match_risk"] == pytest.approx(match, abs=1e-9)
    assert found["cells"] == (412 if bound is None else found["cells"])
    assert found["rounds"] == (0 if terms is None else found["rounds"])


def _table() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    d = pd.read_csv(DATA / "sdcmicro_testdata.csv")
    codes = np.column_stack([pd.factorize(d[k], sort=True)[0] for k in KEYS])
    first, inverse = distinct_rows(codes)
    counts = np.bincount(inverse).astype(float)
    cards = [int(codes[:, j].max()) + 1 for j in range(len(KEYS))]
    return codes[first], counts, cards


def test_the_closed_form_is_the_fit_proportional_fitting_reaches() -> None:
    codes, counts, cards = _table()
    closed = modrisk._main_effects(codes, counts, cards)
    fitted, rounds = modrisk._proportional_fit(codes, counts, cards, [(j,) for j in range(7)])
    assert rounds <= 2
    np.testing.assert_allclose(fitted, closed, rtol=1e-12)
    # the fit keeps every term's margin (the likelihood equations of the log-linear model),
    # over every cell of the table, observed or not
    terms = modrisk.parse_terms("urbrur:roof + water:sex", KEYS)
    grid = np.indices(cards).reshape(len(cards), -1).T
    held = dict(zip(map(tuple, codes), counts, strict=True))
    every = np.array([held.get(tuple(row), 0.0) for row in grid])
    fitted, _ = modrisk._proportional_fit(grid, every, cards, terms)
    for term in ([0, 1], [3, 6], [2], [5]):
        observed = pd.DataFrame(grid[:, term]).assign(n=every).groupby(list(range(len(term)))).n
        model = pd.DataFrame(grid[:, term]).assign(n=fitted).groupby(list(range(len(term)))).n
        assert (model.sum() - observed.sum()).abs().max() < 1e-8


def test_bad_models_are_named() -> None:
    data = DATA / "sdcmicro_testdata.csv"
    with pytest.raises(RecipeError, match="age, which is not a key variable"):
        risk(data, KEYS, weight="sampling_weight", model="urbrur:age")
    with pytest.raises(RecipeError, match="needs weight"):
        risk(data, KEYS, model=True)
    with pytest.raises(RecipeError, match="bound > 0"):
        risk(data, KEYS, weight="sampling_weight", model=True, bound=0)
    many = pd.DataFrame({f"k{j}": [str(i % 60) for i in range(600)] for j in range(5)})
    many["w"] = 10.0
    with pytest.raises(InputDataError, match=r"777600000 cells, at most 67108864"):
        risk(many, [f"k{j}" for j in range(5)], weight="w", model="k0:k1")
    # main effects need no table of every combination: the same keys are served
    found = risk(many, [f"k{j}" for j in range(5)], weight="w", model=True)
    assert found.summary["model_risk"]["cells"] == 60
    assert math.isfinite(found.summary["model_risk"]["unique_risk"])


def test_a_run_measures_the_model_and_the_gate_enforces_it(workdir: Path) -> None:
    steps = "  - recode: {column: age, bands: [0, 20, 40, 60, 80]}\n"
    extra = "risk: {k: 1, model: {max_unique_risk: 0.0}}\n"
    result = invoke("run", str(demo_recipe(workdir, steps, extra=extra)))
    assert result.exit_code == 4 and "model_risk_too_high" in reasons(result), result.output
    extra = "risk: {k: 1, model: {max_unique_risk: 1.0, max_match_risk: 1.0}}\n"
    result = invoke("run", str(demo_recipe(workdir, steps, extra=extra)))
    assert result.exit_code == 0, result.output
    report = json.loads((workdir / "out" / "run" / "risk_report.json").read_text())
    before, after = (report[s]["summary"]["model_risk"] for s in ("before", "after"))
    assert 0 < after["unique_risk"] <= 1 and before["model"] == after["model"]
    assert "log-linear" in (workdir / "out" / "run" / "risk_report.html").read_text()
    shutil.rmtree(workdir / "out")
    # an interaction over the municipalities needs a table of 78 million cells: named, exit 3
    extra = "risk: {k: 1, model: {terms: 'age:sex'}}\n"
    result = invoke("run", str(demo_recipe(workdir, steps, extra=extra)))
    assert result.exit_code == 3 and "78397200 cells, at most 67108864" in result.output
    path = demo_recipe(workdir, steps, extra="risk: {k: 1, model: {terms: 'age:region'}}\n")
    path.write_text(path.read_text().replace("  weight: weight\n", ""))
    result = invoke("run", str(path))
    assert result.exit_code == 2, result.output
    assert "needs the sampling weights (columns.weight)" in result.output
    assert "region, which is not a key variable" in result.output


def test_a_sample_unique_of_weight_zero_is_named() -> None:
    data = pd.read_csv(DATA / "sdcmicro_testdata.csv")
    fk = data.groupby(KEYS)["sex"].transform("size")
    data.loc[data.index[fk == 1][:1], "sampling_weight"] = 0.0
    with pytest.raises(InputDataError, match="positive weight for every sample unique"):
        risk(data, KEYS, weight="sampling_weight", model=True)

"""Utility for analysts: classifiers and a regression on the original and the released file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.api import utility
from pipeline.core.errors import InputDataError, RecipeError
from pipeline.utility.analysis import parse_formula
from tests.conftest import run_entry

KEYS = ["region", "group"]


def survey(n: int = 3000, seed: int = 5) -> pd.DataFrame:
    """A target that the region and a number predict; a response linear in x."""
    rng = np.random.default_rng(seed)
    region = rng.choice(list("ABCDEF"), n)
    x = rng.normal(50, 10, n)
    odds = np.where(np.isin(region, ["A", "B", "C"]), 2.0, -2.0) + (x - 50) / 10
    return pd.DataFrame(
        {
            "id": np.arange(n).astype(str),
            "region": region,
            "group": rng.choice(["g1", "g2"], n),
            "x": x,
            "y": 3.0 + 2.0 * x + rng.normal(0, 5, n),
            "target": np.where(rng.random(n) < 1 / (1 + np.exp(-odds)), "yes", "no"),
        }
    )


def analysis(original: pd.DataFrame, released: pd.DataFrame, **options):  # noqa: ANN201
    return utility(original, released, KEYS, numeric=["x", "y"], by="id", **options).analysis


def test_the_same_file_loses_nothing_and_beats_the_majority() -> None:
    data = survey()
    found = analysis(data, data.copy(), model="target", formula="y ~ x + region")
    assert found.records == 3000 and found.test_records == 900
    for m in found.classification:
        assert m.original == m.released and m.relative == 1.0
        assert m.original > found.majority + 0.15  # the features carry the target
    assert found.regression.mean_overlap == pytest.approx(1.0)
    (slope,) = [c for c in found.regression.coefficients if c.term == "x"]
    assert slope.original == pytest.approx(2.0, abs=0.1)


def test_suppressing_the_predictive_variable_costs_accuracy() -> None:
    data = survey()
    released = data.assign(region=None)  # every region value suppressed
    found = analysis(data, released, model="target", features=["region", "group"])
    for m in found.classification:
        assert m.released <= found.majority + 0.02 < m.original - 0.15
        assert m.relative < 0.85


def test_noise_moves_the_intervals_and_recoded_categories_are_not_compared() -> None:
    data = survey()
    rng = np.random.default_rng(9)
    released = data.assign(
        x=data["x"] + rng.normal(0, 15, len(data)),
        region=data["region"].replace({"A": "AB", "B": "AB"}),
    )
    found = analysis(data, released, formula="y ~ x + region + group").regression
    terms = {c.term: c for c in found.coefficients}
    assert terms["x"].overlap < 0.5 < terms["group[g2]"].overlap
    assert found.not_comparable == ["region"]  # by variable: no category of the input named
    assert "region[C]" not in terms  # "C" is in both files, but region's categories changed


def test_the_split_is_seeded() -> None:
    data = survey()
    noisy = data.assign(x=data["x"] + np.random.default_rng(1).normal(0, 10, len(data)))
    one = analysis(data, noisy, model="target", seed=3)
    assert one == analysis(data, noisy, model="target", seed=3)
    assert one != analysis(data, noisy, model="target", seed=4)


def test_bad_analyses_are_named() -> None:
    data = survey(200)
    with pytest.raises(RecipeError, match="y ~ a \\+ b"):
        parse_formula("y = x")
    with pytest.raises(RecipeError, match="may not be a feature"):
        analysis(data, data, model="target", features=["target", "x"])
    with pytest.raises(InputDataError, match="one class"):
        analysis(data.assign(target="yes"), data, model="target")
    with pytest.raises(InputDataError, match="'target'.*not numbers"):
        analysis(data, data, formula="target ~ x")


def test_the_command_prints_the_analysis(tmp_path: Path, capfd) -> None:
    data = survey(1000)
    data.to_csv(tmp_path / "original.csv", index=False)
    data.to_csv(tmp_path / "released.csv", index=False)
    args = ["utility", str(tmp_path / "original.csv"), str(tmp_path / "released.csv")]
    args += ["--key-vars", "region,group", "--numeric", "x,y", "--by", "id", "--model", "target"]
    code, out = run_entry([*args, "--formula", "y ~ x", "--format", "json"], capfd)
    assert code == 0, out
    found = json.loads(out[out.index("{") :])["analysis"]
    assert found["regression"]["mean_overlap"] == pytest.approx(1.0)
    assert [m["model"] for m in found["classification"]] == [
        "logistic regression",
        "gradient boosting",
    ]
    code, out = run_entry(args, capfd)
    assert code == 0 and "from the released (majority class" in out, out
    code, out = run_entry([*args, "--formula", "y x"], capfd)
    assert code == 2 and "y ~ a + b" in out


def test_a_run_measures_it_on_a_sample_independent_of_the_partitions(workdir: Path) -> None:
    from tests.conftest import demo_recipe, invoke

    steps = "  - recode: {column: age, bands: [0, 20, 40, 60, 80]}\n"
    extra = (
        "utility:\n  analysis: {target: sex, features: [age, household_size, income],"
        " formula: 'income ~ household_size + sex'}\n"
    )
    found = []
    for output, partitions in (("out/one", "1"), ("out/three", "3")):
        path = demo_recipe(workdir, steps, output=output, extra=extra)
        result = invoke("run", str(path), "--partitions", partitions)
        assert result.exit_code == 0, result.output
        assert "from the released (majority class" in result.output
        manifest = json.loads((workdir / output / "manifest.json").read_text())
        found.append(manifest["utility"]["analysis"])
    assert found[0] == found[1]  # the same sample and split whatever the partitions
    assert found[0]["records"] == 2000 and found[0]["test_records"] == 600
    assert found[0]["regression"]["not_comparable"] == []  # household_size and sex unchanged
    assert "age" not in json.dumps(found[0]["regression"])  # not in the formula
    page = (workdir / "out" / "one" / "risk_report.html").read_text()
    assert "What it cost an analyst" in page
    path = demo_recipe(workdir, steps, extra="utility:\n  analysis: {target: nowhere}\n")
    result = invoke("run", str(path))
    assert result.exit_code in (2, 3) and "nowhere" in result.output, result.output


def test_a_run_publishes_no_coefficient_of_the_input(workdir: Path) -> None:
    """A category held by one record: its coefficient on the input is that record's income."""
    from tests.conftest import demo_recipe, invoke

    extra = "utility:\n  analysis: {formula: 'income ~ municipality'}\n"
    path = demo_recipe(workdir, "  - top_code: {column: income, above: 10000000}\n", extra=extra)
    result = invoke("run", str(path))
    assert result.exit_code == 0, result.output
    manifest = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    regression = manifest["utility"]["analysis"]["regression"]
    assert regression["coefficients"] == [] and regression["compared"] > 100
    assert 0 < regression["mean_overlap"] <= 1

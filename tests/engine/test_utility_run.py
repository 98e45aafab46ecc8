"""Information loss in real runs: in the manifest and the report, enforced by the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.utility.aggregate import UtilityPlan
from pipeline.utility.compare import compare
from tests.conftest import assert_blocked, demo_recipe, invoke, run_entry

STEPS = """\
  - recode: {column: municipality, hierarchy: jp_region, level: prefecture}
  - recode: {column: age, bands: [0, 20, 40, 60, 80]}
  - top_code: {column: income, quantile: 0.99}
  - local_suppression: {k: 3}
"""


def _manifest(workdir: Path) -> dict:
    return json.loads((workdir / "out" / "run" / "manifest.json").read_text())


@pytest.mark.slow
def test_run_records_what_the_protection_cost(workdir: Path) -> None:
    extra = "risk: {k: 3}\nutility: {tables: [[age, sex]], warn_share: 0.01}\n"
    result = invoke("run", str(demo_recipe(workdir, STEPS, extra=extra)))
    assert result.exit_code == 0, result.output
    found = _manifest(workdir)["utility"]
    steps = _manifest(workdir)["steps"]
    by_name = {v["column"]: v for v in found["variables"]}
    assert (by_name["municipality"]["level"], by_name["municipality"]["height"]) == (2, 5)
    assert (by_name["age"]["level"], by_name["age"]["height"]) == (1, 2)  # bands: value, band, *
    assert by_name["sex"]["level"] is None
    suppressed = next(s for s in steps if s["name"] == "local_suppression")["facts"]
    for column, n in suppressed["suppressions"].items():
        assert by_name[column]["suppressed"] == n  # the step's own count, measured again
    assert found["records"] == 2000 and found["k"] == 3
    assert [n["column"] for n in found["numeric"]] == ["income"]
    assert found["numeric"][0]["il1s"] > 0 and found["numeric"][0]["sd_change"] < 0
    assert found["tables"][0]["columns"] == ["age", "sex"]
    assert found["warnings"] and "values suppressed" in found["warnings"][0]
    assert "warning: " in result.output
    report = json.loads((workdir / "out" / "run" / "risk_report.json").read_text())
    assert report["utility"] == found
    assert report["gate"]["output"]["warnings"] == found["warnings"]
    html = (workdir / "out" / "run" / "risk_report.html").read_text()
    assert "What the protection cost" in html and "Hellinger distance" in html


@pytest.mark.slow
def test_run_figures_equal_comparing_the_two_files(workdir: Path) -> None:
    """Without shuffling or sampling the output is in input order: compare() must agree."""
    result = invoke("run", str(demo_recipe(workdir, STEPS, extra="risk: {k: 3}\n")))
    assert result.exit_code == 0, result.output
    original = pd.read_csv(workdir / "data" / "census.csv", dtype={"municipality": str})
    released = pd.read_parquet(workdir / "out" / "run" / "data")
    keys = ("age", "sex", "municipality", "occupation", "household_size")
    original = original.astype({"sex": "string", "occupation": "string", "municipality": "string"})
    plan = UtilityPlan(keys, keys, ("income",))
    levels = {"municipality": (2, 5), "age": (1, 2)}
    found = compare(original, released, plan, levels, k=3)
    run = _manifest(workdir)["utility"]
    assert run["precision_loss"] == found.precision_loss
    assert run["discernibility"] == found.discernibility
    assert run["numeric"][0]["il1s"] == found.numeric[0].il1s


@pytest.mark.slow
@pytest.mark.parametrize(
    ("limits", "failing"),
    [
        ("{max_suppressed_share: 0.0001}", "utility.max_suppressed_share."),
        ("{max_precision_loss: 0.01}", "utility.max_precision_loss"),
        ("{max_il1s_mean: 0.000001}", "utility.max_il1s_mean"),
        ("{max_hellinger: 0.0000001}", "utility.max_hellinger."),
    ],
)
def test_utility_limits_block_publication(workdir: Path, limits: str, failing: str) -> None:
    extra = f"risk: {{k: 3}}\nutility: {{limits: {limits}}}\n"
    result = invoke("run", str(demo_recipe(workdir, STEPS, extra=extra)))
    report = assert_blocked(workdir, result, "utility_loss_too_high")
    failed = [c["id"] for c in report["output"]["checks"] if not c["passed"]]
    assert failed and all(c.startswith(failing) for c in failed)


@pytest.mark.slow
def test_generous_limits_publish(workdir: Path) -> None:
    limits = "{max_suppressed_share: 0.9, max_precision_loss: 0.9, max_il1s_mean: 5, max_tvd: 1}"
    extra = f"risk: {{k: 3}}\nutility: {{tables: [[age, sex]], limits: {limits}}}\n"
    result = invoke("run", str(demo_recipe(workdir, STEPS, extra=extra)))
    assert result.exit_code == 0, result.output
    checks = _manifest(workdir)["gate"]["output"]["checks"]
    assert {c["id"].split(".")[1] for c in checks if c["id"].startswith("utility.")} == {
        "max_suppressed_share",
        "max_precision_loss",
        "max_il1s_mean",
        "max_tvd",
    }


def test_utility_section_errors_name_the_key(workdir: Path) -> None:
    extra = "utility: {tables: [[age, sex], [age, age]]}\n"
    result = invoke("validate", str(demo_recipe(workdir, STEPS, extra=extra)), "--no-input")
    assert result.exit_code == 2 and "utility.tables: table 1 must name two" in result.output
    extra = "utility: {numeric: [age, name], tables: [[sex, name]]}\n"
    result = invoke("validate", str(demo_recipe(workdir, STEPS, extra=extra)), "--no-input")
    assert result.exit_code == 2, result.output
    assert "utility.numeric[0]: 'age' is a key variable" in result.output
    assert "utility.numeric[1]: column 'name' is deleted before the steps run" in result.output
    assert "utility.tables[0][1]: column 'name' is deleted" in result.output
    extra = "utility: {tables: [[sex, nope]]}\n"
    result = invoke("run", str(demo_recipe(workdir, STEPS, extra=extra)))
    assert result.exit_code == 3 and "utility.tables[0][1]" in result.output, result.output


@pytest.mark.slow
def test_utility_command(workdir: Path, capfd) -> None:
    result = invoke("run", str(demo_recipe(workdir, STEPS, extra="risk: {k: 3}\n")))
    assert result.exit_code == 0, result.output
    released = str(workdir / "out" / "run" / "data")
    code, out = run_entry(
        [
            "utility",
            "data/census.csv",
            released,
            "--key-vars",
            "age,sex,municipality",
            "--numeric",
            "income",
            "--format",
            "json",
            "--levels",
            "municipality=2/5",
        ],
        capfd,
    )
    assert code == 0, out
    found = json.loads(out)
    assert found["variables"][2]["level"] == 2 and found["numeric"][0]["il1s"] > 0
    code, out = run_entry(
        ["utility", "data/census.csv", released, "--key-vars", "age", "--by", "member_id"], capfd
    )
    assert code == 3 and "member_id" in out and "Traceback" not in out


@pytest.mark.slow
def test_gate_only_checks_the_limits_on_the_runs_figures(workdir: Path) -> None:
    """--gate-only cannot re-measure (it has no input): it checks the manifest's figures."""
    extra = "risk: {k: 3}\nutility: {limits: {max_precision_loss: 0.9}}\n"
    recipe = demo_recipe(workdir, STEPS, extra=extra)
    assert invoke("run", str(recipe)).exit_code == 0
    result = invoke("run", str(recipe), "--gate-only", "out/run")
    assert result.exit_code == 0, result.output
    strict = recipe.read_text().replace("max_precision_loss: 0.9", "max_precision_loss: 0.01")
    recipe.write_text(strict)
    result = invoke("run", str(recipe), "--gate-only", "out/run")
    assert result.exit_code == 4 and "[utility_loss_too_high]" in result.output, result.output

"""SUDA2 targets in a run: measured over the whole file before and after, enforced by the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.api import suda2
from tests.conftest import assert_blocked, demo_recipe, invoke

KEYS = ["age", "sex", "municipality", "occupation", "household_size"]
STEPS = """\
  - recode: {column: municipality, hierarchy: jp_region, level: prefecture}
  - recode: {column: age, bands: [0, 20, 40, 60, 80]}
  - top_code: {column: age, above: 80}
"""


def test_special_uniques_above_the_target_block_the_release(workdir: Path) -> None:
    extra = "risk: {k: 1, max_special_uniques: 0, max_dis_score: 0.05}\n"
    result = invoke("run", str(demo_recipe(workdir, STEPS, extra=extra)))
    report = assert_blocked(workdir, result, "special_uniques_too_many")
    checks = {c["id"]: c for c in report["output"]["checks"]}
    assert checks["risk.special_uniques"]["observed"] > 0
    assert not checks["risk.max_dis_score"]["passed"]


def test_local_suppression_meets_the_targets_and_the_report_shows_suda2(workdir: Path) -> None:
    steps = STEPS + "  - local_suppression: {k: 3}\n  - risk: {k: 3, suda2: true}\n"
    extra = "risk: {k: 3, max_special_uniques: 0, max_dis_score: 0.5, dis_fraction: 0.1}\n"
    result = invoke("run", str(demo_recipe(workdir, steps, extra=extra)))
    assert result.exit_code == 0, result.output
    out = workdir / "out" / "run"
    report = json.loads((out / "risk_report.json").read_text())
    before, after = report["before"]["summary"]["suda2"], report["after"]["summary"]["suda2"]
    assert before["special_uniques"] > 0 and after["special_uniques"] == 0
    assert before["dis_fraction"] == 0.1 and report["targets"]["suda2_ok"] is True
    # the report's figures are the whole file's: the same as SUDA2 of the published file
    published = pq.read_table(out / "data").select(KEYS)
    whole = suda2(published, KEYS, dis_fraction=0.1).attrs["summary"]
    assert whole == after
    manifest = json.loads((out / "manifest.json").read_text())
    (step,) = [s for s in manifest["steps"] if s["name"] == "risk"]
    assert step["facts"]["special_uniques"] == 0 and step["facts"]["max_dis_score"] == 0.0
    assert "SUDA2: 0 special uniques" in (out / "risk_report.html").read_text()


def test_more_keys_than_suda2_serves_is_a_recipe_error(workdir: Path) -> None:
    path = demo_recipe(workdir, STEPS, extra="risk: {k: 1, max_dis_score: 0.1}\n")
    keys = ", ".join(f"extra{j}" for j in range(17))
    text = path.read_text().replace("household_size]", f"household_size, {keys}]", 1)
    path.write_text(text)
    result = invoke("run", str(path))
    assert result.exit_code == 2, result.output
    assert "SUDA2 targets serve at most 20 key variables (22 declared)" in result.output
    path.write_text(text.replace("dis_score: 0.1}", "dis_score: 0.1, dis_fraction: 0}"))
    result = invoke("run", str(path))
    assert result.exit_code == 2 and "risk.dis_fraction" in result.output, result.output


def test_a_series_release_is_judged_on_the_merged_view_s_special_uniques() -> None:
    from pipeline.gate.series import merged_checks
    from pipeline.recipe.models import Recipe
    from pipeline.risk.summary import RiskSummary, Suda2Summary

    body = {
        "version": 1,
        "name": "nightly",
        "input": {"path": "night.csv"},
        "output": {"dir": "out"},
        "seed": 1,
        "columns": {"key_variables": KEYS},
        "risk": {"k": 3, "max_special_uniques": 5},
        "steps": [],
    }
    spec = Recipe.model_validate(body)
    found = Suda2Summary(
        dis_fraction=0.01,
        scored=9,
        special_uniques=9,  # each night alone may have had fewer: the merged view has 9
        max_score=2.0,
        max_dis_score=0.01,
        dis_above={},
        contributions={},
    )
    summary = RiskSummary(
        records=100,
        k=3,
        missing="any",
        weighted=False,
        sample_uniques=0,
        k_violations=0,
        expected_reidentifications=1.0,
        global_risk=0.01,
        max_individual_risk=0.5,
        classes=40,
        suda2=found,
    )
    checks = {c.id: c for c in merged_checks(spec, summary)}
    merged = checks["series.special_uniques"]
    assert not merged.passed and merged.observed == 9
    assert merged.reason == "series_risk_too_high" and checks["series.k"].passed

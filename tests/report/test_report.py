"""The auditors' risk report: JSON against its schema, a self-contained HTML page, no values."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.report.html import render_html
from pipeline.report.model import RiskReport
from tests.conftest import REPO, demo_recipe

jsonschema = pytest.importorskip("jsonschema")


@pytest.fixture
def demo_out(published_demo: Path) -> Path:
    """The demo's published folder (shared by the session: read only)."""
    return published_demo / "out" / "census_demo"


def test_report_matches_schema_and_manifest(demo_out: Path) -> None:
    report = json.loads((demo_out / "risk_report.json").read_text())
    schema = json.loads((REPO / "schemas" / "risk_report.schema.json").read_text())
    jsonschema.validate(report, schema)
    manifest = json.loads((demo_out / "manifest.json").read_text())
    assert report["run_id"] == manifest["run_id"]
    assert report["recipe_sha256"] == manifest["recipe"]["sha256"]
    assert report["before"]["summary"] == manifest["risk_before"]
    assert report["after"]["summary"] == manifest["risk_after"]
    facts = next(s for s in manifest["steps"] if s["name"] == "local_suppression")["facts"]
    assert report["suppressions"] == facts["suppressions"]
    assert report["targets"]["k_reached"] is True
    assert report["targets"]["global_risk_ok"] is True
    assert report["after"]["summary"]["k_violations"] == 0
    assert report["before"]["summary"]["k_violations"] > 0
    assert [s["name"] for s in report["steps"]][:2] == ["drop_identifiers", "linking_ids"]
    assert "income" in report["after"]["l_diversity"]
    assert sum(report["after"]["class_sizes"]["counts"]) == report["after"]["summary"]["records"]


def test_risky_categories_never_name_a_rare_category(demo_out: Path) -> None:
    report = json.loads((demo_out / "risk_report.json").read_text())
    k = report["targets"]["k"]
    for items in report["before"]["risky_categories"].values():
        for item in items:
            assert item["records"] >= k or item["value"] == "(all other categories)"


def test_html_is_self_contained_and_shows_no_identifier(demo_out: Path) -> None:
    page = (demo_out / "risk_report.html").read_text()
    assert "<svg" in page and "3-anonymity holds" in page
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}  # namespaces
    assert "<script" not in page and "<link" not in page and "@import" not in page
    source = pd.read_csv(demo_out.parent.parent / "examples" / "census_sample.csv", dtype=str)
    text = page + (demo_out / "risk_report.json").read_text()
    for column in ("name", "my_number", "phone", "email", "household_id", "member_id"):
        for value in source[column].dropna().head(100):
            assert value not in text


def test_report_without_key_variables(workdir: Path) -> None:
    recipe = demo_recipe(workdir, "  - shuffle_records: {}\n")
    body = recipe.read_text().replace(
        "  key_variables: [age, sex, municipality, occupation, household_size]\n", ""
    )
    recipe.write_text(body)
    result = CliRunner().invoke(app, ["run", str(recipe), "-q"])
    assert result.exit_code == 0, result.output
    report = json.loads((workdir / "out/run/risk_report.json").read_text())
    assert report["before"] is None and report["targets"] is None
    assert "not measured" in (workdir / "out/run/risk_report.html").read_text()


@pytest.mark.slow
def test_global_risk_above_target_blocks_and_is_flagged(workdir: Path) -> None:
    recipe = demo_recipe(
        workdir, "  - shuffle_records: {}\n", extra="risk: {k: 3, max_global_risk: 0.0001}\n"
    )
    result = CliRunner().invoke(app, ["run", str(recipe), "-q"])
    assert result.exit_code == 4, result.output
    assert not (workdir / "out/run").exists()
    gate = json.loads((workdir / "out/run.gate_report.json").read_text())
    failed = {c["reason"] for c in gate["output"]["checks"] if not c["passed"]}
    assert failed == {"k_anonymity_violated", "global_risk_too_high"}
    # the same figures, rendered: the verdicts are flagged
    ok = demo_recipe(workdir, "  - shuffle_records: {}\n", extra="risk: {k: 1}\n")
    assert CliRunner().invoke(app, ["run", str(ok), "-q"]).exit_code == 0
    report = RiskReport.model_validate_json((workdir / "out/run/risk_report.json").read_text())
    report.targets.k, report.targets.k_reached = 3, False
    report.targets.max_global_risk, report.targets.global_risk_ok = 0.0001, False
    report.gate.passed = False
    page = render_html(report)
    assert "does NOT hold" in page and 'class="verdict bad"' in page and "gate FAILED" in page

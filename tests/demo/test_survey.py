"""The synthetic household survey, and the survey demo recipe run end to end on it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.demo.survey import COLUMNS, generate_survey, write_survey_csv
from tests.conftest import invoke
from tests.report import browser

REPO = Path(__file__).resolve().parents[2]


def test_the_generator_is_seeded_and_plausible(tmp_path: Path) -> None:
    one, again, other = generate_survey(500, 3), generate_survey(500, 3), generate_survey(500, 4)
    pd.testing.assert_frame_equal(one, again)
    assert not one.equals(other)
    assert tuple(one.columns) == COLUMNS and one["household_id"].is_unique
    assert (one["income"] > 0).all() and (one["expenditure"] < one["income"]).all()
    assert one["head_age"].max() == 108  # the peculiar value the recipe top-codes
    assert set(one["tenure"]) <= {"own", "rent", "other"}
    assert one["prefecture"].str.fullmatch(r"[0-9]{2}").all()
    written = write_survey_csv(tmp_path / "s.csv", 500, 3)
    text = {"prefecture": str, "head_sex": str}
    pd.testing.assert_frame_equal(pd.read_csv(written, dtype=text), one, check_dtype=False)


@pytest.mark.slow
def test_the_survey_demo_publishes_with_its_contract_and_group_check(tmp_path, monkeypatch):
    shutil.copytree(REPO / "recipes", tmp_path / "recipes")
    shutil.copytree(REPO / "data_contracts", tmp_path / "data_contracts")
    (tmp_path / "examples").mkdir()
    shutil.copy(REPO / "examples" / "survey_sample.csv", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "recipes/survey_demo.yaml")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "survey_demo"
    manifest = json.loads((out / "manifest.json").read_text())
    checks = {c["id"]: c for c in manifest["gate"]["output"]["checks"]}
    group = next(c for i, c in checks.items() if i.endswith("microaggregate.groups"))
    assert group["passed"] and group["observed"] == 0
    assert any(c["source"] == "contract" for c in checks.values())
    facts = next(s for s in manifest["steps"] if s["name"] == "microaggregate")["facts"]
    assert facts["smallest_group"] >= 3 and facts["suppressed_records"] == 0
    found = manifest["utility"]["perturbation"]
    assert found["variables"] == ["income", "expenditure", "savings"]
    assert 0 < found["record_linkage"] < 0.6  # about 1/k for groups of k
    notice = (out / "public_notice.md").read_text(encoding="utf-8")
    assert "| 年間収入 / Annual income | ミクロアグリゲーション" in notice
    assert "| 住居の所有関係 / Tenure of the dwelling | 無作為化（PRAM）" in notice
    released = pd.read_parquet(out / "data")
    assert "respondent" not in released.columns and "household_id" not in released.columns
    assert released.groupby(["income", "expenditure", "savings"]).size().min() >= 3
    if browser.browser() is not None:  # every page it publishes, in a real browser
        for page in ("risk_report.html", "public_notice.html", "codebook.html"):
            found = browser.layout(out / page)
            assert found["problems"] == [], (page, found["problems"])


def test_demo_data_writes_the_survey_kind(tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    result = invoke("demo-data", str(path), "--kind", "survey", "--rows", "50")
    assert result.exit_code == 0, result.output
    assert tuple(pd.read_csv(path).columns) == COLUMNS
    bad = invoke("demo-data", str(tmp_path / "x.csv"), "--kind", "panel")
    assert bad.exit_code == 2 and "--kind" in bad.output

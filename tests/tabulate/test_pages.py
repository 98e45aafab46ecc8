"""The tabulation's pages: tables.html for recipients, the review page for the output checker."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from tests.conftest import invoke, tables_demo
from tests.report import browser


@pytest.fixture
def tables_out(workdir):
    assert invoke("tabulate", str(tables_demo(workdir)), "-q").exit_code == 0
    return workdir / "out" / "census_tables"


@pytest.mark.slow
def test_tables_page_gives_rules_run_id_and_gate_and_no_hidden_value(tables_out) -> None:
    page = (tables_out / "tables" / "tables.html").read_text(encoding="utf-8")
    manifest = json.loads((tables_out / "manifest.json").read_text())
    assert manifest["run_id"] in page and "output checks\npassed" in page
    assert "at least 10 units" in page and "more than 70% of a cell" in page
    review = json.loads((tables_out / "review" / "check_report.json").read_text())
    hidden = sum(c["suppression"] != "none" for t in review["tables"].values() for c in t)
    assert hidden > 0 and len(re.findall(r">X</td>", page)) == hidden
    assert "Not for recipients" not in page and "units" not in page.split("<h2")[-1]
    frame = pd.read_csv(
        tables_out / "tables" / "population_by_prefecture_and_sex.csv", dtype={"municipality": str}
    )
    assert frame["status"].eq("X").sum() == len(re.findall(r">X</td>", page.split("<h2")[3]))


@pytest.mark.slow
def test_review_page_renders_the_check_report_marked_not_for_recipients(tables_out) -> None:
    page = (tables_out / "review" / "check_report.html").read_text(encoding="utf-8")
    review = json.loads((tables_out / "review" / "check_report.json").read_text())
    assert page.index("Not for recipients") < page.index("<h1>")
    assert review["run_id"] in page and "schema 1.0" in page
    cells = review["tables"]["population_by_prefecture_and_sex"]
    primary = [c for c in cells if c["suppression"] == "primary"]
    assert primary and f"({len(primary)} primary," in page
    hidden_part = page[page.index("<h3>Hidden cells</h3>") :].split("<details>")[0]
    for c in primary:  # named with the prefecture's name, as in tables.html
        assert re.search(rf">{c['row']} \S+県 / \S+ × {c['col']}<", hidden_part), c["row"]


@pytest.mark.slow
@pytest.mark.skipif(browser.browser() is None, reason="no Chromium installed")
def test_both_pages_pass_the_browser_layout_check(tables_out) -> None:
    for page in ("tables/tables.html", "review/check_report.html"):
        found = browser.layout(tables_out / page)
        assert found["tables"] >= 4 and found["problems"] == [], page

"""The report pages: templates, number formatting, charts, and a real browser's layout check."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.core.numbers import described, number, share
from pipeline.report.charts import bar_chart, nice_ticks, share_chart
from pipeline.report.html import render_html
from pipeline.report.model import Histogram, RiskReport
from tests.conftest import assert_blocked_page, copy_demo, examples, invoke
from tests.report import browser

needs_browser = pytest.mark.skipif(browser.browser() is None, reason="no Chromium installed")


def test_shares_and_facts_in_words() -> None:
    assert share(0.1534) == "15.3%"
    assert (
        described({"threshold": 17072895.0, "levels": [1, 2]})
        == "threshold: 17,072,895, levels: 1, 2"
    )


@pytest.fixture
def demo_out(published_demo: Path) -> Path:
    """The census demo's published folder (shared by the session: read only)."""
    return published_demo / "out" / "census_demo"


def _report(demo_out: Path) -> RiskReport:
    return RiskReport.model_validate_json((demo_out / "risk_report.json").read_text())


def test_page_formats_numbers_and_names_each_steps_columns(demo_out: Path) -> None:
    page = (demo_out / "risk_report.html").read_text()
    assert "threshold:\n17,072,895" in page or "threshold: 17,072,895" in page
    assert "e+0" not in page.split("<svg")[0]  # no scientific notation in the text
    report = _report(demo_out)
    recodes = [s for s in report.steps if s.name == "recode"]
    assert [s.columns for s in recodes] == [["age"], ["occupation"]]
    assert '<td class="l">age</td>' in page
    own = [s.recipe_key for s in report.steps if s.recipe_key is not None]
    assert own == [f"steps[{i}]" for i in range(len(own))]  # as the gate's check ids name them
    assert "recode<br><small>steps[0]</small>" in page


def test_the_page_says_how_missing_values_counted_and_warns_in_its_verdict(
    demo_out: Path,
) -> None:
    report = _report(demo_out)
    page = render_html(report)
    verdict = page[page.index('id="verdict"') : page.index('id="risk"')]
    assert report.utility.warnings and all(w in verdict for w in report.utility.warnings)
    assert "missing: any" in verdict and "match any value" in verdict
    other = report.after.summary.other_convention
    assert other.missing == "category" and other.k_violations > 0  # suppression counted as any
    said = f"{number(other.sample_uniques)} sample uniques and {number(other.k_violations)} records"
    assert said in verdict
    table = page[page.index('id="risk"') : page.index("<figure")]
    assert "records with fk &lt; k (a missing value as a category of its own)" in table
    other = report.model_copy(deep=True)
    other.after.summary.missing = "category"
    assert "count as a category of their own" in render_html(other)


def test_contents_link_every_section_and_no_table_is_dropped_silently(demo_out: Path) -> None:
    report = _report(demo_out)
    page = render_html(report)
    links = re.findall(r'<a href="#([\w-]+)">', page.split("</nav>")[0])
    assert len(links) >= 7 and all(f'id="{link}"' in page for link in links)
    shown = len(report.before.risky_categories)
    assert shown == 15 and "more variables and pairs" not in page  # 5 keys: all 15 tables
    many = report.model_copy(deep=True)
    items = list(report.before.risky_categories.items())
    many.before.risky_categories = {f"{k} {i}": v for i in range(2) for k, v in items}
    assert "15 more variables and pairs of variables" in render_html(many)


def test_page_is_autoescaped(demo_out: Path) -> None:
    report = _report(demo_out)
    report.recipe_name = "<script>alert(1)</script>"
    page = render_html(report)
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_gate_failures_come_first_and_passes_fold_away(demo_out: Path) -> None:
    report = _report(demo_out)
    report.gate.output.checks[0].passed = False
    page = render_html(report)
    output = page[page.index("<b>output stage</b>") :]
    assert output.index("FAIL") < output.index("<details>")
    assert "checks passed</summary>" in output


def test_charts_are_deterministic_svg_with_real_axes() -> None:
    hist = Histogram(labels=["household_size", "native-country", "age"], counts=[1398, 94, 0])
    svg = bar_chart([("before", hist), ("after", hist)], "A chart", "key variable")
    assert svg == bar_chart([("before", hist), ("after", hist)], "A chart", "key variable")
    assert svg.startswith("<svg") and "<metadata>" not in svg
    assert svg.count('id="ytick_') >= 3  # more than 0 and the maximum
    assert "1,398" in svg and "household_size" in svg and "native-country" in svg


@given(st.floats(0, 1e15), st.booleans())
@example(1e-05, False)  # was 9.999999999999999e-06 at the top
@settings(max_examples=examples(200))
def test_ticks_are_round_start_at_zero_and_cover_the_largest_value(
    top: float, integer: bool
) -> None:
    ticks = nice_ticks(top, integer)
    assert len(ticks) >= 3 and ticks[0] == 0 and ticks[-1] >= top
    step = ticks[1]
    assert all(abs(b - a - step) <= step * 1e-9 for a, b in zip(ticks, ticks[1:], strict=False))
    assert len(ticks) <= 7 or top <= 2  # a few round steps, not one per unit
    assert not integer or all(t == int(t) for t in ticks)


def test_long_labels_are_shortened_and_kept_whole_in_the_tooltip() -> None:
    long = "occupation and industry of the main job " * 3
    hist = Histogram(labels=[long, "年齢階級（5歳）と世帯人員", "sex"], counts=[3, 2, 1])
    svg = bar_chart([("published", hist)], "Records", "variable")
    assert long[:27] + "…" in svg and f"published, {long}: 3" in svg
    assert "rotate(-30)" not in svg  # three labels of 28 characters fit side by side
    crowded = Histogram(labels=[f"{long[:20]} {i}" for i in range(8)], counts=[1] * 8)
    assert "rotate(-30)" in bar_chart([("published", crowded)], "Records", "variable")


def test_loss_per_variable_is_drawn_as_percentages(demo_out: Path) -> None:
    page = (demo_out / "risk_report.html").read_text()
    assert 'aria-label="What each variable lost"' in page
    svg = share_chart(["age", "sex"], [("precision loss", [0.5118, 0.0])], "Lost", "variable")
    assert "51.2%" in svg and svg.count('id="ytick_') >= 3


@needs_browser
def test_risk_report_passes_the_browser_layout_check(demo_out: Path) -> None:
    found = browser.layout(demo_out / "risk_report.html")
    assert found["charts"] == 4 and found["tables"] > 5
    assert found["problems"] == []


@needs_browser
def test_the_notice_and_codebook_pages_pass_the_browser_layout_check(demo_out: Path) -> None:
    for name, title in (
        ("public_notice", "匿名加工情報の公表 / Public notice"),
        ("codebook", "コードブック / Codebook"),
    ):
        found = browser.layout(demo_out / f"{name}.html")
        assert found["title"] == title and found["tables"] >= 1 and found["problems"] == []
        page = (demo_out / f"{name}.html").read_text(encoding="utf-8")
        markdown = (demo_out / f"{name}.md").read_text(encoding="utf-8")
        heading = markdown.splitlines()[0].removeprefix("# ")
        assert f"<h1>{heading}</h1>" in page and '<html lang="ja">' in page


def test_the_notice_page_escapes_what_the_recipe_says() -> None:
    from pipeline.report.notice import notice_page

    page = notice_page("# N\n\n| a | b |\n|---|---|\n| <script>x</script> | 1 |\n", "r")
    assert "<script>x" not in page and "&lt;script&gt;x" in page


@pytest.mark.slow
@needs_browser
def test_a_blocked_run_s_page_passes_the_browser_layout_check(workdir: Path) -> None:
    recipe = copy_demo(workdir)
    recipe.write_text(recipe.read_text().replace("risk: {k: 3,", "risk: {k: 5,"))
    result = invoke("run", str(recipe), "-q")
    assert result.exit_code == 4, result.output
    report = json.loads((workdir / "out" / "census_demo.gate_report.json").read_text())
    page = workdir / "out" / "census_demo.gate_report.html"
    text = assert_blocked_page(page, report)
    assert "not published" in text and "Risk before and after" in text
    found = browser.layout(page)
    assert found["charts"] == 4 and found["problems"] == []


@needs_browser
def test_charts_with_long_wide_and_many_labels_pass_the_layout_check(tmp_path: Path) -> None:
    labels = ["occupation and industry of the main job " * 2, "年齢階級（5歳）と世帯人員・配偶関係"]
    many = Histogram(labels=[f"category {i}" for i in range(40)], counts=list(range(40)))
    figures = [
        bar_chart([("a", Histogram(labels=labels, counts=[10**9, 1]))], "Long", "variable"),
        bar_chart([("a", many), ("b", many)], "Many", "category"),
        share_chart(["x"], [("zero", [0.0])], "Nothing lost", "variable"),
    ]
    page = tmp_path / "charts.html"
    page.write_text(
        "<!doctype html><html><head><title>charts</title></head><body>"
        + "".join(f"<figure>{svg}</figure>" for svg in figures)
        + "</body></html>",
        encoding="utf-8",
    )
    found = browser.layout(page)
    assert found["charts"] == 3 and found["problems"] == []


@needs_browser
def test_the_layout_check_finds_clipped_labels_and_raw_floats(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><html><head><title>bad</title></head><body><p>cap 1.70729e+07</p>"
        '<svg width="100" height="50"><g id="ytick_1"></g><text x="90" y="20">usehold_size'
        "</text></svg></body></html>"
    )
    problems = browser.layout(page)["problems"]
    assert any("clipped" in p for p in problems)
    assert any("scientific" in p for p in problems)
    assert any("1 ticks" in p for p in problems)

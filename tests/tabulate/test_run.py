"""``anonymize tabulate`` end to end: the demo recipe, the check report, the fail-closed gate."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import pipeline.tabulate.linked as linked_mod
import pipeline.tabulate.phases as run_mod
import pipeline.tabulate.protect as protect_mod
from tests.conftest import REPO, assert_blocked_page, invoke, tables_demo


@pytest.mark.slow
def test_demo_tabulation_publishes_protected_tables(workdir: Path) -> None:
    recipe = tables_demo(workdir)
    result = invoke("tabulate", str(recipe))
    assert result.exit_code == 0, result.output
    out = workdir / "out" / "census_tables"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["gate"]["passed"] and len(manifest["tables"]) == 5
    report = json.loads((out / "review" / "check_report.json").read_text())
    source = pd.read_csv(workdir / "examples" / "census_sample.csv", dtype=str)
    for record in manifest["tables"]:
        frame = pd.read_csv(out / "tables" / f"{record['name']}.csv", dtype={"status": str})
        hidden = frame["status"].fillna("") == "X"
        assert hidden.sum() == record["primary"] + record["secondary"]
        assert frame.loc[hidden, "value"].isna().all()
        cells = report["tables"][record["name"]]
        for c in cells:
            assert {"units", "top1_share", "top2_share", "rules_failed", "interval"} <= set(c)
            if c["suppression"] == "primary":
                assert c["interval"][1] - c["interval"][0] >= c["required_interval"] - 1e-6
            if c["suppression"] == "none" and c["units"]:
                assert c["units"] >= 10 or c["units"] == 0
    prefecture = manifest["tables"][1]
    assert prefecture["primary"] > 0 and prefecture["secondary"] > 0
    counts = pd.read_csv(out / "tables" / "population_by_region_and_age.csv")
    total = counts.loc[(counts.municipality == "Total") & (counts.age == "Total"), "value"]
    assert float(total.iloc[0]) == len(source)
    text = (out / "tables" / "population_by_region_and_age.csv").read_text().splitlines()
    assert all(not line.split(",")[2].endswith(".0") for line in text[1:])  # counts: 158
    assert (
        pd.read_parquet(out / "tables" / "population_by_region_and_age.parquet")["value"].dtype.kind
        in "iu"
    )
    page = (out / "tables" / "tables.html").read_text()
    assert "<script" not in page and 'id="population_by_prefecture_and_sex"' in page
    # as a statistics office publishes them: titles, units, weighted or not, source, symbols
    assert "都道府県、男女別人口 / Population by prefecture and sex" in page
    assert "number of records, unweighted; 単位: 人 / unit: persons" in page
    assert "mean of income, weighted by weight; 単位: 円 / unit: yen" in page
    assert "Source: 合成国勢調査標本（デモ用） / Synthetic census sample (demo)" in page
    assert "Reference date: 2025-10-01" in page
    assert page.count("秘匿 / confidential") == 5 and "households are the units" in page
    cube = pd.read_csv(out / "tables" / "population_by_region_sex_and_age.csv", dtype=str)
    assert list(dict.fromkeys(cube["age"])) == ["0-14", "15-64", "65-74", "75+", "Total"]
    grand = cube[(cube.age == "Total") & (cube.municipality == "Total") & (cube.sex == "Total")]
    assert int(grand["value"].iloc[0]) == len(source)
    assert "<h3>age: 0-14</h3>" in page and "<h3>age: Total</h3>" in page


@pytest.mark.slow
def test_demo_tables_are_ordered_labelled_and_reviewed_as_an_artifact(workdir: Path) -> None:
    """Before: bands and regions as text ("Chubu" first), margins in any order, prefecture
    codes without names under "municipality \\ sex", a check report without schema_version."""
    jsonschema = pytest.importorskip("jsonschema")
    assert invoke("tabulate", str(tables_demo(workdir)), "-q").exit_code == 0
    out = workdir / "out" / "census_tables"
    ages = pd.read_csv(out / "tables" / "population_by_region_and_age.csv")
    regions = list(dict.fromkeys(ages["municipality"]))
    assert regions[:3] == ["Hokkaido", "Tohoku", "Kanto"] and regions[-2:] == ["Kyushu", "Total"]
    assert list(ages["age"][:5]) == ["0-14", "15-64", "65-74", "75+", "Total"]
    assert list(ages["municipality"][-5:]) == ["Total"] * 5  # the column margins last
    prefectures = pd.read_csv(
        out / "tables" / "population_by_prefecture_and_sex.csv", dtype={"municipality": str}
    )
    assert list(dict.fromkeys(prefectures["municipality"]))[:2] == ["01", "02"]
    assert set(prefectures.loc[prefectures.municipality == "13", "municipality_label"]) == {
        "東京都"
    }
    page = (out / "tables" / "tables.html").read_text(encoding="utf-8")
    assert "prefecture \\ sex" in page and "municipality \\ sex" not in page
    assert ">13 東京都 / Tokyo</th>" in page and "region \\ age" in page
    assert ">関東 / Kanto</th>" in page and ">Kanto</th>" not in page  # one language pair
    assert page.index(">北海道 / Hokkaido</th>") < page.index(">関東 / Kanto</th>")
    assert ">A 管理的職業従事者 / Managers</th>" in page  # the recipe's label file
    jobs = pd.read_csv(out / "tables" / "mean_income_by_occupation.csv")
    assert list(jobs.columns[:3]) == ["occupation", "occupation_label", "occupation_label_en"]
    assert jobs["occupation_label_en"].iloc[-1] != jobs["occupation_label_en"].iloc[-1]  # Total
    text = (out / "review" / "check_report.json").read_text(encoding="utf-8")
    report = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    schema = json.loads((REPO / "schemas" / "check_report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    manifest = json.loads((out / "manifest.json").read_text())
    assert report["schema_version"] == "1.0" and report["tool"] == "anonymize-pipeline"
    assert report["run_id"] == manifest["run_id"] and report["recipe_name"] == "census_tables"
    assert report["generated_at"] == manifest["generated_at"]
    cells = report["tables"]["population_by_region_and_age"]
    assert cells[0]["row"] == "Hokkaido" and cells[-1]["level"] == "total"
    assert len(cells) == len(ages)


@pytest.mark.slow
def test_gate_blocks_a_table_whose_hidden_value_leaks(workdir: Path, monkeypatch) -> None:
    recipe = tables_demo(workdir)
    real = run_mod.published

    def leaky(checked, spec):
        frame = real(checked, spec)
        return frame.assign(value=checked["value"].astype(float))  # hidden values written

    monkeypatch.setattr(run_mod, "published", leaky)
    result = invoke("tabulate", str(recipe))
    assert result.exit_code == 4, result.output
    assert "hidden_value_published" in result.output
    assert not (workdir / "out" / "census_tables").exists()
    report = json.loads((workdir / "out" / "census_tables.gate_report.json").read_text())
    assert_blocked_page(workdir / "out" / "census_tables.gate_report.html", report)


@pytest.mark.slow
def test_gate_blocks_primary_cells_without_secondary_suppression(
    workdir: Path, monkeypatch
) -> None:
    recipe = tables_demo(workdir)
    for module in (protect_mod, linked_mod):  # tables alone, and linked tables together
        monkeypatch.setattr(
            module, "protect", lambda table, primary, widths, **_: _only(table, primary)
        )
    result = invoke("tabulate", str(recipe))
    assert result.exit_code == 4 and "interval_too_narrow" in result.output, result.output


def _only(table, primary):
    import numpy as np

    hidden = np.zeros(len(table.values), dtype=bool)
    hidden[list(primary)] = True
    return hidden


def test_recipe_errors_name_the_line(workdir: Path) -> None:
    path = workdir / "recipes" / "bad.yaml"
    path.write_text(
        "version: 1\nkind: tabulation\nname: bad\ninput: {path: data/census.csv}\n"
        "output: {dir: out/t}\ntables:\n"
        "  - name: t1\n    rows: {column: sex}\n    statistic: max\n    variable: income\n"
        "  - name: t2\n    rows: {column: sex, recode: {bands: [3, 1]}}\n"
    )
    result = invoke("tabulate", str(path))
    assert result.exit_code == 2
    assert "bad.yaml:9 tables[0].statistic: maxima are never released" in result.output
    assert "bad.yaml:12 tables[1].rows" in result.output and "increasing" in result.output


def test_missing_column_is_an_input_error(workdir: Path) -> None:
    path = workdir / "recipes" / "t.yaml"
    path.write_text(
        "version: 1\nkind: tabulation\nname: t\ninput: {path: data/census.csv}\n"
        "output: {dir: out/t}\ntables:\n  - {name: t1, rows: {column: nope}}\n"
    )
    result = invoke("tabulate", str(path))
    assert result.exit_code == 3 and "'nope'" in result.output


def test_validate_knows_tabulation_recipes(workdir: Path) -> None:
    recipe = tables_demo(workdir)
    result = invoke("validate", str(recipe))
    assert result.exit_code == 0 and "valid tabulation (5 tables)" in result.output
    bad = recipe.read_text().replace("{n: 2, k: 85}", "{n: 3, k: 85}")
    recipe.write_text(bad)
    result = invoke("validate", str(recipe))
    assert result.exit_code == 2 and "rules.dominance" in result.output


UNMAPPED = """\
version: 1
kind: tabulation
name: unmapped
input: {path: data/census.csv, format: csv}
output: {dir: out/tables}
tables:
  - name: by_occupation
    rows: {column: sex}
    columns: {column: occupation, recode: {map: {"A11": a, "B11": b}%s}}
    statistic: count
"""


def _tabulation(workdir: Path, name: str, body: str) -> Path:
    """A tabulation recipe over the census file: the header of UNMAPPED, then ``body``."""
    recipe = workdir / "recipes" / f"{name}.yaml"
    recipe.write_text((UNMAPPED % "").split("tables:")[0] + body)
    return recipe


@pytest.mark.slow
def test_unmapped_values_stop_the_run_instead_of_dropping_records(workdir: Path) -> None:
    """Before: exit 0, and the records outside the map were silently left out of the totals."""
    recipe = workdir / "recipes" / "unmapped.yaml"
    recipe.write_text(UNMAPPED % "")
    result = invoke("tabulate", str(recipe), "-q")
    assert result.exit_code == 3, result.output
    assert "tables[0].columns.recode column 'occupation'" in result.output
    assert "outside the map" in result.output
    assert not (workdir / "out" / "tables").exists()
    source = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    outside = int((~source["occupation"].isin(["A11", "B11"])).sum())
    recipe.write_text(UNMAPPED % ", on_unknown: missing")  # missing values: still no cell
    result = invoke("tabulate", str(recipe), "-q")
    assert result.exit_code == 3 and f"{outside} record(s) have no value for sex or occupation" in (
        result.output
    )
    recipe.write_text(
        (UNMAPPED % ", on_unknown: missing").replace(
            "column: occupation,", "column: occupation, missing: category,"
        )
    )
    assert invoke("tabulate", str(recipe), "-q").exit_code == 0
    table = pd.read_csv(workdir / "out" / "tables" / "tables" / "by_occupation.csv")
    assert "not stated" in set(table["occupation"].astype(str))


def test_a_table_cannot_leave_out_records_that_another_table_counts(workdir: Path) -> None:
    """Totals of two tables would differ by exactly the records without a category."""
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    frame.loc[3, "sex"] = None
    frame.to_csv(workdir / "data" / "census.csv", index=False)
    recipe = _tabulation(
        workdir,
        "two",
        "tables:\n"
        "  - {name: by_sex, rows: {column: sex}, statistic: sum, variable: income}\n"
        "  - {name: all, rows: {column: municipality, recode: {hierarchy: jp_region, level: "
        "national}}, statistic: sum, variable: income}\n",
    )
    result = invoke("tabulate", str(recipe), "-q")
    assert result.exit_code == 3 and "1 record(s) have no value for sex" in result.output
    assert not (workdir / "out" / "tables").exists()


def test_non_finite_magnitudes_stop_the_run(workdir: Path) -> None:
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    frame.loc[[2, 5], "income"] = "inf"
    frame.to_csv(workdir / "data" / "census.csv", index=False)
    recipe = workdir / "recipes" / "sum.yaml"
    recipe.write_text(
        (UNMAPPED % "").split("tables:")[0]
        + "tables:\n  - {name: income, rows: {column: sex}, statistic: sum, variable: income}\n"
    )
    result = invoke("tabulate", str(recipe), "-q")
    assert result.exit_code == 3 and "2 value(s) are not finite" in result.output


def test_weighted_mean_ignores_records_without_a_value(workdir: Path) -> None:
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    frame["income"] = "1000"
    frame.loc[frame.index % 2 == 0, "income"] = None
    frame.to_csv(workdir / "data" / "census.csv", index=False)
    recipe = _tabulation(
        workdir,
        "mean",
        "rules: {threshold: 1, dominance: []}\ntables:\n"
        "  - {name: m, rows: {column: municipality, recode: {hierarchy: jp_region, level: "
        "national}}, statistic: mean, variable: income, weight: weight, margins: false}\n",
    )
    result = invoke("tabulate", str(recipe), "-q")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(workdir / "out" / "tables" / "tables" / "m.csv")
    assert set(table["value"].dropna()) == {1000.0}  # was 500 (weights of empty values)


def test_the_recipe_s_weight_turns_counts_and_sums_into_estimates(workdir: Path) -> None:
    source = pd.read_csv(workdir / "data" / "census.csv")
    recipe = _tabulation(
        workdir,
        "weighted",
        "weight: weight\n"
        "rules: {threshold: 1, dominance: []}\ntables:\n"
        "  - {name: estimated, rows: {column: sex}, statistic: count}\n"
        "  - {name: income, rows: {column: sex}, statistic: sum, variable: income}\n"
        "  - {name: sample, rows: {column: sex}, statistic: count, weight: null}\n",
    )
    result = invoke("tabulate", str(recipe), "-q")
    assert result.exit_code == 0, result.output
    folder = workdir / "out" / "tables" / "tables"
    totals = {
        name: pd.read_csv(folder / f"{name}.csv").set_index("sex")["value"]["Total"]
        for name in ("estimated", "income", "sample")
    }
    assert totals["estimated"] == pytest.approx(source["weight"].sum())
    assert totals["income"] == pytest.approx((source["income"] * source["weight"]).sum())
    assert totals["sample"] == len(source)
    page = (folder / "tables.html").read_text(encoding="utf-8")
    assert page.count("weighted by weight") == 2 and page.count(", unweighted") == 1
